"""predict.py: restored networks score raw rows as the training session did; bad input is rejected."""

import csv
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import predict
import runs
from checkpoints import RunSaver
from config import resolve_config
from data import load_dataset, load_table
from errors import InputError
from inference import Predictor, scale_features
from run_helpers import SMALL_RUN, read_csv, train
from training import Trainer, fit

PROJECT_DIR = Path(__file__).resolve().parents[1]
IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")


def raw_test_rows(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Find the raw rows and labels of a run's test split by scaling every raw row as the run did."""
    config = resolve_config(run_dir / "config.yaml")
    dataset = load_dataset(config.data, config.seed)
    table = load_table(config.data)
    scaled = scale_features(table.features, runs.read_model_info(run_dir))
    indices = []
    for row in dataset.x_test:
        matches = np.flatnonzero((scaled == row).all(axis=1))
        assert len(matches) > 0, "a test row matches no raw row after scaling"
        indices.append(matches[0])
    return table.features[indices], table.labels[indices]


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    status, folder = train(tmp_path_factory.mktemp("runs"), "iris", "train.epochs=30")
    assert status == 0
    return folder


def test_restored_predictions_equal_in_session(tmp_path):
    config = resolve_config(None, SMALL_RUN + ("train.epochs=20",))
    dataset = load_dataset(config.data, config.seed)
    runs.write_config(tmp_path, config)
    with Trainer(config, dataset) as trainer:
        history = fit(trainer, config.train.epochs)
        RunSaver(tmp_path, dataset, early_stopping=None).save(trainer, history)
        in_session = trainer.predict_probabilities(dataset.x_test)

    raw, _ = raw_test_rows(tmp_path)
    with Predictor(config, runs.read_model_info(tmp_path)) as predictor:
        restored = predictor.probabilities(raw)

    np.testing.assert_allclose(restored, in_session, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(restored.argmax(axis=1), in_session.argmax(axis=1))


def test_predict_accuracy_equals_metrics(run_dir, tmp_path):
    raw, labels = raw_test_rows(run_dir)
    rows = [[repr(float(value)) for value in row] + [IRIS_CLASSES[label]] for row, label in zip(raw, labels)]
    source = write_rows(tmp_path / "test.csv", list(IRIS_FEATURES) + ["species"], rows)
    output = tmp_path / "predictions.csv"

    result = subprocess.run([sys.executable, "predict.py", str(run_dir), "--input", str(source),
                             "--output", str(output)], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    predictions = read_csv(output)
    assert len(predictions) == len(raw)
    accuracy = np.mean([row["predicted"] == row["label"] for row in predictions])
    assert accuracy == metrics["test_accuracy"]
    assert f"accuracy {metrics['test_accuracy']:.6f}" in result.stdout
    for row in predictions:
        scores = [float(row[f"score_{name}"]) for name in IRIS_CLASSES]
        assert sum(scores) == pytest.approx(1.0, abs=1e-6)
        assert row["predicted"] == IRIS_CLASSES[int(np.argmax(scores))]


def test_predict_rejects_bad_csv_with_exit_2(run_dir, tmp_path):
    source = write_rows(tmp_path / "bad.csv", list(IRIS_FEATURES), [["5.1", "abc", "1.4", "0.2"]])
    result = subprocess.run([sys.executable, "predict.py", str(run_dir), "--input", str(source)],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: invalid value 'abc' in column 'sepal width (cm)' on line 2")
    assert result.stdout == ""


BAD_CSV = [
    ("sepal length (cm),sepal width (cm),petal length (cm)\n5,3,1\n", "no column 'petal width (cm)'"),
    (",".join(IRIS_FEATURES) + ",species,colour\n5,3,1,0.2,setosa,red\n", "2 unknown columns 'species', 'colour'"),
    (",".join(IRIS_FEATURES) + ",sepal width (cm)\n5,3,1,0.2,3\n", "column 'sepal width (cm)' appears twice"),
    (",".join(IRIS_FEATURES) + "\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4\n", "has 3 cells, expected 4 as in the header"),
    (",".join(IRIS_FEATURES) + "\n5.1,3.5,,0.2\n", "invalid value '' in column 'petal length (cm)' on line 2"),
    (",".join(IRIS_FEATURES) + "\n5.1,3.5,nan,0.2\n", "expected a finite number"),
    (",".join(IRIS_FEATURES) + ",species\n5.1,3.5,1.4,0.2,daisy\n", "unknown class 'daisy' in column 'species'"),
    (",".join(IRIS_FEATURES) + "\n", "has a header but no data rows"),
    ("", "is empty"),
]


@pytest.mark.parametrize("text, message", BAD_CSV)
def test_read_input_rejects_bad_csv(tmp_path, text, message):
    path = tmp_path / "input.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        predict.read_input_csv(path, IRIS_FEATURES, IRIS_CLASSES)


def test_read_input_takes_any_column_order_and_labels(tmp_path):
    header = ["species", "petal width (cm)", "sepal length (cm)", "petal length (cm)", "sepal width (cm)"]
    path = write_rows(tmp_path / "input.csv", header, [["virginica", "2.5", "6.3", "6.0", "3.3"]])
    rows = predict.read_input_csv(path, IRIS_FEATURES, IRIS_CLASSES)
    np.testing.assert_array_equal(rows.features, [[6.3, 3.3, 6.0, 2.5]])
    np.testing.assert_array_equal(rows.labels, [2])
    assert rows.label_column == "species"


def test_read_input_rejects_missing_file(tmp_path):
    with pytest.raises(InputError, match="input file not found"):
        predict.read_input_csv(tmp_path / "absent.csv", IRIS_FEATURES, IRIS_CLASSES)


@pytest.mark.parametrize("sample, message", [
    ("5.1,3.5,1.4", "--sample has 3 values, but the run's network takes 4 features"),
    ("5.1,3.5,1.4,0.2,1", "--sample has 5 values"),
    ("5.1,x,1.4,0.2", "invalid value 'x' for sepal width \\(cm\\) in --sample"),
])
def test_parse_sample_rejects_bad_values(sample, message):
    with pytest.raises(InputError, match=message):
        predict.parse_sample(sample, IRIS_FEATURES)


def test_parse_sample_keeps_feature_order():
    rows = predict.parse_sample("5.1, 3.5,1.4 ,0.2", IRIS_FEATURES)
    np.testing.assert_array_equal(rows.features, [[5.1, 3.5, 1.4, 0.2]])
    assert rows.labels is None


def test_check_output_never_overwrites_by_default(tmp_path):
    existing = tmp_path / "out.csv"
    existing.write_text("kept\n")
    with pytest.raises(InputError, match="already exists; .*--overwrite"):
        predict.check_output(existing, overwrite=False)
    predict.check_output(existing, overwrite=True)
    with pytest.raises(InputError, match="output folder .* does not exist"):
        predict.check_output(tmp_path / "absent" / "out.csv", overwrite=False)
    assert existing.read_text() == "kept\n"


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    return copy


def test_incomplete_run_folder_is_rejected(run_dir, tmp_path):
    with pytest.raises(InputError, match="run folder not found"):
        runs.require_run_files(tmp_path / "absent", ["config.yaml", "model.json"])

    copy = copy_run(run_dir, tmp_path)
    (copy / "model.json").unlink()
    with pytest.raises(InputError, match="incomplete run folder .*model.json is missing"):
        runs.require_run_files(copy, ["config.yaml", "model.json"])


def test_missing_checkpoint_is_rejected(run_dir, tmp_path):
    copy = copy_run(run_dir, tmp_path)
    for path in (copy / "checkpoints").glob("*.index"):
        path.unlink()
    with pytest.raises(InputError, match="checkpoint epoch-30 named in model.json is missing"):
        runs.read_model_info(copy)


@pytest.mark.parametrize("hidden_units, message", [
    ("[5]", "variable layer1/weights of shape [4, 5] is of shape [4, 10] in the checkpoint"),
    ("[10, 10]", "variable layer2/weights of shape [10, 10] is of shape [10, 3] in the checkpoint"),
    ("[10, 3]", "variable layer3/weights of shape [3, 3] is missing in the checkpoint"),
])
def test_config_that_does_not_match_checkpoint_is_rejected(run_dir, hidden_units, message):
    config = resolve_config(run_dir / "config.yaml", [f"model.hidden_units={hidden_units}"])
    with pytest.raises(InputError, match=re.escape(message)):
        Predictor(config, runs.read_model_info(run_dir))


# The output path, the command line and the input columns as a new user meets them.

def test_check_output_rejects_folder_and_file_parent(tmp_path):
    for overwrite in (False, True):
        with pytest.raises(InputError, match=re.escape(f"--output {tmp_path} is a folder; give a file path such as "
                                                       f"{tmp_path / 'predictions.csv'}")):
            predict.check_output(tmp_path, overwrite)
    with pytest.raises(InputError, match=re.escape(f"output folder {tmp_path / 'a' / 'b'} does not exist")):
        predict.check_output(tmp_path / "a" / "b" / "out.csv", overwrite=False)
    plain_file = tmp_path / "plain.csv"
    plain_file.write_text("kept\n")
    with pytest.raises(InputError, match="plain.csv in --output .* is a file, not a folder"):
        predict.check_output(plain_file / "out.csv", overwrite=True)


def test_script_output_folder_exits_2(run_dir, tmp_path):
    (tmp_path / "kept.txt").write_text("kept\n")
    result = subprocess.run([sys.executable, "predict.py", str(run_dir), "--sample", "5.1,3.5,1.4,0.2",
                             "--output", str(tmp_path), "--overwrite"],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == f"error: --output {tmp_path} is a folder; give a file path such as " \
                            f"{tmp_path / 'predictions.csv'}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.txt"]


@pytest.mark.parametrize("argv", [
    ["run", "--sample", "-1,3.5,1.4,0.2"],
    ["run", "--sample=-1,3.5,1.4,0.2"],
    ["--sample", "-1,3.5,1.4,0.2", "run"],
])
def test_parse_args_takes_negative_sample(argv):
    args = predict.parse_args(argv)
    assert args.sample == "-1,3.5,1.4,0.2"
    assert args.run_dir == Path("run")


def test_parse_args_keeps_sample_with_bad_value():
    # The value reaches parse_sample, which names the bad item, instead of argparse's "expected one argument".
    assert predict.parse_args(["run", "--sample", "-1,x,1.4,0.2"]).sample == "-1,x,1.4,0.2"
    assert predict.join_sample_value(["run", "--sample", "--input", "a.csv"]) == ["run", "--sample", "--input",
                                                                                   "a.csv"]
    assert predict.join_sample_value(["--", "--sample", "-1"]) == ["--", "--sample", "-1"]


@pytest.mark.parametrize("argv, message", [
    (["run", "--sampel", "5.1,3.5,1.4,0.2"], "error: unrecognized arguments: --sampel 5.1,3.5,1.4,0.2; "),
    (["run"], "error: one of --input or --sample is required; "),
    (["run", "--input", "a.csv", "--sample", "-1,3.5,1.4,0.2"], "argument --sample: not allowed with argument --input"),
])
def test_parse_args_names_the_problem(capsys, argv, message):
    with pytest.raises(SystemExit) as caught:
        predict.parse_args(argv)
    assert caught.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert stderr.count("\n") == 1


def test_main_predicts_negative_sample(run_dir, capsys, tmp_path):
    raw = np.array([[-1.0, 3.5, 1.4, 0.2]])
    with Predictor(resolve_config(run_dir / "config.yaml"), runs.read_model_info(run_dir)) as predictor:
        expected = predictor.probabilities(raw)[0]

    assert predict.main([str(run_dir), "--sample", "-1,3.5,1.4,0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # the header and one row
    cells = lines[1].split()
    assert cells[:2] == ["1", IRIS_CLASSES[int(np.argmax(expected))]]
    assert cells[2:] == [f"{score:.4f}" for score in expected]

    output = tmp_path / "one.csv"
    assert predict.main([str(run_dir), "--sample=-1,3.5,1.4,0.2", "--output", str(output)]) == 0
    assert capsys.readouterr().out == f"wrote 1 prediction to {output}\n"
    [row] = read_csv(output)
    assert [float(row[f"score_{name}"]) for name in IRIS_CLASSES] == pytest.approx(expected, abs=1e-8)


# A run trained on a CSV file: its label column is read, other extra columns are ignored.

PET_FEATURES = ("a", "b", "c", "d")
PET_CLASSES = ("cat", "dog", "fish")


@pytest.fixture(scope="module")
def pets_csv(tmp_path_factory) -> Path:
    """Write Iris as a CSV file with a row-id column and the label column 'pet'."""
    table = load_table(resolve_config(None).data)
    rows = [[index + 1, *map(repr, map(float, features)), PET_CLASSES[label]]
            for index, (features, label) in enumerate(zip(table.features, table.labels))]
    return write_rows(tmp_path_factory.mktemp("data") / "pets.csv", ["id", *PET_FEATURES, "pet"], rows)


@pytest.fixture(scope="module")
def pets_run(tmp_path_factory, pets_csv) -> Path:
    status, folder = train(tmp_path_factory.mktemp("runs"), "pets", "train.epochs=30", "data.name=csv",
                           f"data.path={pets_csv}", "data.label_column=pet")
    assert status == 0
    assert runs.read_model_info(folder).feature_names == PET_FEATURES  # the id column is no feature
    return folder


def test_csv_run_predicts_its_training_file(pets_run, pets_csv, tmp_path, capsys, caplog):
    output = tmp_path / "predictions.csv"
    with caplog.at_level(logging.INFO, logger="descent"):
        assert predict.main([str(pets_run), "--input", str(pets_csv), "--output", str(output)]) == 0
    assert f"{pets_csv}: column 'id' is not a feature of the run and is ignored" in caplog.messages

    # Every row of the file is a train or test row, so the hits add up from metrics.json.
    metrics = json.loads((pets_run / "metrics.json").read_text())
    n_train = runs.read_model_info(pets_run).n_train
    n_test = 150 - n_train
    hits = round(metrics["train_accuracy"] * n_train) + round(metrics["test_accuracy"] * n_test)
    stdout = capsys.readouterr().out
    assert stdout.startswith(f"wrote 150 predictions to {output}\n")
    assert f"({hits} of 150 rows, labels from column 'pet')" in stdout
    predictions = read_csv(output)
    assert sum(row["predicted"] == row["label"] for row in predictions) == hits
    assert [row["label"] for row in predictions[::50]] == list(PET_CLASSES)


def test_read_input_with_label_column_ignores_extras(tmp_path, caplog):
    header = ["colour", "d", "c", "pet", "b", "a", "id"]
    path = write_rows(tmp_path / "input.csv", header, [["red", "0.2", "1.4", "dog", "3.5", "5.1", "7"]])
    with caplog.at_level(logging.INFO, logger="descent"):
        rows = predict.read_input_csv(path, PET_FEATURES, PET_CLASSES, label_column="pet")
    np.testing.assert_array_equal(rows.features, [[5.1, 3.5, 1.4, 0.2]])
    np.testing.assert_array_equal(rows.labels, [1])
    assert rows.label_column == "pet"
    assert caplog.messages == [f"{path}: columns 'colour', 'id' are not features of the run and are ignored"]


def test_read_input_without_label_column_has_no_labels(tmp_path):
    path = write_rows(tmp_path / "input.csv", ["id", *PET_FEATURES], [["1", "5.1", "3.5", "1.4", "0.2"]])
    rows = predict.read_input_csv(path, PET_FEATURES, PET_CLASSES, label_column="pet")
    assert rows.labels is None
    assert rows.label_column is None


@pytest.mark.parametrize("label_column, extra", [
    ("pet", "plus the optional label column 'pet'"),
    (None, "plus an optional column of class names"),
])
def test_missing_feature_lists_every_feature(tmp_path, label_column, extra):
    path = write_rows(tmp_path / "input.csv", ["id", "c", "a", "pet"], [["1", "1.4", "5.1", "dog"]])
    with pytest.raises(InputError) as caught:
        predict.read_input_csv(path, PET_FEATURES, PET_CLASSES, label_column)
    assert str(caught.value) == (f"invalid header in {path}: no columns 'b', 'd'; the run needs the feature columns "
                                 f"'a', 'b', 'c', 'd' (listed in model.json, any order), {extra}")


def test_numeric_label_matches_class_by_value(tmp_path):
    path = write_rows(tmp_path / "input.csv", [*PET_FEATURES, "label"],
                      [["5.1", "3.5", "1.4", "0.2", "1.0"], ["5.1", "3.5", "1.4", "0.2", "2"]])
    rows = predict.read_input_csv(path, PET_FEATURES, ("0", "1", "2"), label_column="label")
    np.testing.assert_array_equal(rows.labels, [1, 2])
    with pytest.raises(InputError, match="unknown class '3' in column 'label' on line 2"):
        predict.parse_label("3", ("0", "1", "2"), "in column 'label' on line 2")
    with pytest.raises(InputError, match="unknown class '1.0'"):
        predict.parse_label("1.0", PET_CLASSES, "in column 'pet'")
