"""The benchmark's reference implementations compute what the project computes.

Oracle tests: the NumPy backpropagation against TensorFlow's gradients and against `fit`, the
naive TF1 loop against `fit`, and the settings of scikit-learn and Keras against the config.
Nothing here measures time.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bench.__main__ as bench_main
from bench import numpy_reference, report
from bench.naive_tf1 import build_naive_graph, initial_parameters, train_naive
from bench.settings import bench_config, rows_per_batch, updates_of
from bench.sklearn_mlp import fit_classifier, make_classifier
from data import load_dataset
from model import build_model
from training import Trainer, fit, tf1

EPOCHS = 3
PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset():
    config = bench_config(16, EPOCHS)
    return load_dataset(config.data, config.seed)


def project_run(batch_size, dataset) -> tuple[list, list, list[dict]]:
    """Return the initial weights and biases of the project's model and its `fit` history."""
    with Trainer(bench_config(batch_size, EPOCHS), dataset) as trainer:
        weights = trainer.session.run(list(trainer.model.weights))
        biases = trainer.session.run(list(trainer.model.biases))
        return weights, biases, fit(trainer, EPOCHS)


def assert_histories_close(history: list[dict], expected: list[dict], tolerance: float) -> None:
    assert [row["epoch"] for row in history] == [row["epoch"] for row in expected]
    for row, expected_row in zip(history, expected):
        for key in numpy_reference.HISTORY_KEYS:
            assert row[key] == pytest.approx(expected_row[key], abs=tolerance), (row["epoch"], key)


def test_numpy_gradients_equal_tensorflow(dataset):
    config = bench_config(16, EPOCHS)
    x, y = dataset.x_train[:16], dataset.y_train[:16]
    model = build_model(config.model, config.train, dataset.n_features, dataset.n_classes,
                        len(dataset.x_train), config.seed)
    variables = list(model.weights) + list(model.biases)
    with model.graph.as_default():
        gradients = tf1.gradients(model.terms.loss, variables)
    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        weights, biases = session.run(list(model.weights)), session.run(list(model.biases))
        expected = session.run(gradients, {model.features: x, model.labels: y})

    weight_gradients, bias_gradients = numpy_reference.gradients(weights, biases, x, y, config.model.l2)
    for computed, reference in zip(weight_gradients + bias_gradients, expected, strict=True):
        assert computed.shape == reference.shape
        np.testing.assert_allclose(computed, reference, rtol=1e-5, atol=1e-7)
    assert np.abs(expected[0]).max() > 1e-4  # a zero gradient would prove nothing


@pytest.mark.parametrize("batch_size", ["full", 16, 1])
def test_numpy_training_follows_fit(dataset, batch_size):
    weights, biases, expected = project_run(batch_size, dataset)
    config = bench_config(batch_size, EPOCHS)
    history = numpy_reference.train(weights, biases, (dataset.x_train, dataset.y_train),
                                    (dataset.x_test, dataset.y_test), EPOCHS,
                                    rows_per_batch(config, len(dataset.x_train)), config.train.learning_rate,
                                    config.model.l2, config.seed)
    assert_histories_close(history, expected, tolerance=1e-5)


@pytest.mark.parametrize("batch_size", ["full", 16])
def test_naive_loop_follows_fit(dataset, batch_size):
    weights, biases, expected = project_run(batch_size, dataset)
    config = bench_config(batch_size, EPOCHS)
    naive = build_naive_graph(config, dataset.n_features, dataset.n_classes)
    with tf1.Session(graph=naive.graph) as session:
        session.run(naive.init_op)
        naive_weights, naive_biases = initial_parameters(session, naive)
        history = train_naive(session, naive, dataset, config, rows_per_batch(config, len(dataset.x_train)))
    for naive_array, array in zip(naive_weights + naive_biases, weights + biases, strict=True):
        np.testing.assert_array_equal(naive_array, array)
    assert_histories_close(history, expected, tolerance=1e-6)


def test_naive_loop_rejects_other_networks():
    config = bench_config(16, EPOCHS)
    relu = type(config.model)(hidden_units=(10,), activation="relu")
    with pytest.raises(ValueError, match="sigmoid"):
        build_naive_graph(type(config)(model=relu), 4, 3)


def test_sklearn_trains_the_configured_epochs(dataset):
    config = bench_config(16, EPOCHS)
    classifier = make_classifier(config, 16)
    assert classifier.hidden_layer_sizes == (10, 10)
    assert classifier.activation == "logistic"
    assert classifier.learning_rate_init == config.train.learning_rate
    assert classifier.alpha == pytest.approx(config.model.l2 * 16)
    fit_classifier(classifier, dataset)
    assert classifier.n_iter_ == EPOCHS
    assert classifier.t_ == EPOCHS * len(dataset.x_train)  # samples seen: every row, every epoch
    assert [w.shape for w in classifier.coefs_] == [(4, 10), (10, 10), (10, 3)]


KERAS_CHECK = """
import json, sys
import numpy as np
from bench.keras_fit import build_keras_model, set_parameters
from bench.settings import bench_config
from data import load_dataset
arrays = json.loads(sys.stdin.read())
config = bench_config(16, 1)
dataset = load_dataset(config.data, config.seed)
model = build_keras_model(config, dataset.n_features, dataset.n_classes)
set_parameters(model, [np.array(w, np.float32) for w in arrays["weights"]],
               [np.array(b, np.float32) for b in arrays["biases"]])
loss = model.evaluate(dataset.x_train, dataset.y_train, batch_size=len(dataset.x_train), verbose=0)
print(json.dumps({"loss": float(loss), "widths": [layer.units for layer in model.layers]}))
"""


def test_keras_model_has_the_project_loss(dataset):
    # Keras needs eager execution, which this test process has turned off, so it runs apart.
    weights, biases, _ = project_run(16, dataset)
    with Trainer(bench_config(16, EPOCHS), dataset) as trainer:
        expected = trainer.epoch_record(0, 0.0)["loss"]  # loss of the initial weights
    arrays = json.dumps({"weights": [w.tolist() for w in weights], "biases": [b.tolist() for b in biases]})
    completed = subprocess.run([sys.executable, "-c", KERAS_CHECK], input=arrays, capture_output=True, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=PROJECT_DIR)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["widths"] == [10, 10, 3]
    assert result["loss"] == pytest.approx(expected, rel=1e-5)


def test_updates_count_short_last_batch():
    assert updates_of(bench_config("full", 10), 120) == 10
    assert updates_of(bench_config(16, 10), 120) == 80  # 7 batches of 16 and one of 8
    assert updates_of(bench_config(1, 2), 120) == 240


def payload(name: str, own: list[float], numpy: list[float], accuracy: float = 0.9) -> dict:
    results = [{"batch_size": size, "epochs": 10, "updates": 10, "setup_seconds": 0.1,
                "seconds_per_update": own, "numpy_seconds_per_update": numpy,
                "test_accuracy": accuracy, "numpy_test_accuracy": 0.9, "accuracy_spread": 0.0}
               for size in ("full", 16, 1)]
    return {"implementation": name, "results": results}


def test_report_ratios_go_through_numpy():
    # The naive process ran while the machine was twice as slow: NumPy took 2 there, 1 elsewhere.
    payloads = {"project": payload("project", [0.5, 0.5, 0.6], [1.0, 1.0, 1.0]),
                "naive": payload("naive", [10.0, 10.0, 10.0], [2.0, 2.0, 2.0]),
                "sklearn": payload("sklearn", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]),
                "keras": payload("keras", [50.0, 50.0, 50.0], [1.0, 1.0, 1.0])}
    rows = {row["group"]: row for row in report.table_rows(payloads) if row["batch_size"] == 16}
    assert rows["project"]["vs_numpy"] == pytest.approx(0.5)
    assert rows["naive"]["vs_numpy"] == pytest.approx(5.0)
    assert rows["project"]["vs_naive"] == pytest.approx(0.1)
    assert rows["numpy"]["vs_naive"] == pytest.approx(0.2)
    assert rows["project"]["micros"] == pytest.approx(0.5e6)
    goals = [line for line in report.goal_lines(report.table_rows(payloads)) if line.startswith("batch   16")]
    assert goals[0].endswith("met")  # 0.1 of naive
    assert "0.250" in goals[2]  # 0.5 / 2.0 of sklearn, at the limit
    assert goals[2].endswith("met")
    assert goals[4].endswith("same")


def test_quick_run_writes_no_results_file(tmp_path, monkeypatch, capsys):
    # The workers are replaced by fixed timings: this checks only which file each mode writes.
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(bench_main, "DEFAULT_OUTPUT", results)
    monkeypatch.setattr(bench_main, "run_worker", lambda group, folder, quick: payload(group, [1.0], [1.0]) | {
        "versions": {"numpy": "test"}, "load_average": (0.0, 0.0, 0.0)})

    assert bench_main.parse_args(["--quick"]).output is None
    assert bench_main.main(["--quick", "--skip-startup"]) == 0
    assert not results.exists()
    assert "RESULTS.md is unchanged, because --quick only prints" in capsys.readouterr().out

    chosen = tmp_path / "quick.md"
    assert bench_main.main(["--quick", "--skip-startup", "--output", str(chosen)]) == 0
    assert "Written by `python -m bench --quick`" in chosen.read_text()
    assert not results.exists()

    assert bench_main.parse_args([]).output == results
    assert bench_main.main(["--skip-startup"]) == 0
    assert "Written by `python -m bench` on" in results.read_text()
