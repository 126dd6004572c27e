"""What a finished run folder holds: curves, TensorBoard events, checkpoints and model.json."""

import json
from collections import defaultdict
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

import runs
from config import resolve_config
from data import load_dataset
from plots import spans_decades
from run_helpers import read_csv, train

EPOCHS = 7
LOG_EVERY = 3  # from SMALL_RUN: histograms at epochs 1, 3, 6 and 7
SCALAR_TAGS = {"loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy", "validation_loss",
               "validation_accuracy", "learning_rate"}
HISTOGRAM_TAGS = {"histogram/layer1/weights", "histogram/layer1/biases", "histogram/layer2/weights",
                  "histogram/layer2/biases"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    status, folder = train(tmp_path_factory.mktemp("runs"), "full", f"train.epochs={EPOCHS}",
                           "train.checkpoint_every=2", "train.keep_checkpoints=2",
                           "data.validation_size=0.2", "train.early_stopping.patience=100")
    assert status == 0
    return folder


def read_events(run_dir: Path) -> tuple[dict, dict]:
    """Return {epoch: {tag: value}} of the scalars and {epoch: set of tags} of the histograms."""
    scalars, histograms = defaultdict(dict), defaultdict(set)
    files = list(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1
    for event in tf.compat.v1.train.summary_iterator(str(files[0])):
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                scalars[event.step][value.tag] = value.simple_value
            elif value.WhichOneof("value") == "histo":
                histograms[event.step].add(value.tag)
    return scalars, histograms


def test_curves_png_is_valid_image(run_dir):
    path = run_dir / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape == (450, 1000, 4)


def test_event_file_holds_scalars_every_epoch(run_dir):
    scalars, _ = read_events(run_dir)
    assert sorted(scalars) == list(range(1, EPOCHS + 1))
    history = runs.read_history(run_dir)
    for record in history:
        values = scalars[record["epoch"]]
        assert set(values) == SCALAR_TAGS
        assert values["learning_rate"] == pytest.approx(0.02)
        for tag in SCALAR_TAGS - {"learning_rate"}:
            assert values[tag] == pytest.approx(record[tag], rel=1e-6), tag


def test_event_file_holds_histograms_on_log_epochs(run_dir):
    _, histograms = read_events(run_dir)
    assert sorted(histograms) == [1, 3, 6, 7]
    for tags in histograms.values():
        assert tags == HISTOGRAM_TAGS


def test_history_has_validation_columns(run_dir):
    rows = read_csv(run_dir / "history.csv")
    assert list(rows[0]) == ["epoch", "loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy",
                             "validation_loss", "validation_accuracy", "seconds"]
    assert [int(row["epoch"]) for row in rows] == list(range(1, EPOCHS + 1))


def test_checkpoints_keep_latest_and_best(run_dir):
    history = runs.read_history(run_dir)
    losses = [record["validation_loss"] for record in history]
    best_epoch = int(np.argmin(losses)) + 1
    names = sorted(path.name for path in (run_dir / "checkpoints").glob("*.index"))
    assert names == sorted(["epoch-6.index", "epoch-7.index", f"best-{best_epoch}.index"])
    assert runs.latest_checkpoint(run_dir).epoch == EPOCHS


def test_model_json_holds_what_prediction_needs(run_dir):
    info = json.loads((run_dir / "model.json").read_text())
    config = resolve_config(run_dir / "config.yaml")
    dataset = load_dataset(config.data, config.seed)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert info["checkpoint"] == f"checkpoints/best-{metrics['epochs']}"
    assert info["feature_names"] == list(dataset.feature_names)
    assert info["class_names"] == list(dataset.class_names)
    assert info["scaler_min"] == dataset.scaler_min.tolist()
    assert info["scaler_scale"] == dataset.scaler_scale.tolist()
    assert info["n_train"] == len(dataset.x_train)
    assert metrics["epochs_trained"] == EPOCHS
    assert metrics["stop_reason"] == "epochs"


@pytest.mark.parametrize("values, expected", [
    ([1.0, 0.5, 0.011], False),
    ([1.0, 0.5, 0.01], True),
    ([1.0, 0.0, 0.001], False),  # zero has no logarithm
    ([float("nan"), 2.0, 0.01], True),
])
def test_spans_decades(values, expected):
    assert spans_decades(values) is expected
