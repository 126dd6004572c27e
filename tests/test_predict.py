"""predict.py: restored networks score raw rows as the training session did; bad input is rejected."""

import csv
import json
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
