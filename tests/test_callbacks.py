"""Early stopping, the progress bar and the signal handler, each on its own."""

import io
import json
import os
import re
import signal

import numpy as np
import pytest

import runs
from config import EarlyStoppingConfig, resolve_config
from early_stopping import EarlyStopping
from errors import InputError
from inference import Predictor
from interrupt import StopOnSignal
from progress import ProgressBar, wants_progress_bar
from run_helpers import checkpoint_tensors, history_without_seconds, latest_prefix, resume, train

VALIDATION = ("data.validation_size=0.2",)
# No epoch after the first can improve the validation loss (about 0.5) by more than 10.
STOP_AT_EPOCH_2 = VALIDATION + ("train.early_stopping.patience=1", "train.early_stopping.min_delta=10")


def history_of(losses: list[float]) -> list[dict]:
    return [{"epoch": epoch, "validation_loss": loss} for epoch, loss in enumerate(losses, start=1)]


@pytest.mark.parametrize("min_delta, stopped_epoch, best_epoch", [
    (0.0, 6, 4),  # improvements at epochs 1, 2 and 4; epochs 5 and 6 use up the patience of 2
    (0.15, 4, 2),  # epoch 4 improves by 0.1 only, which is not more than min_delta
])
def test_early_stopping_replays_history(min_delta, stopped_epoch, best_epoch):
    history = history_of([1.0, 0.5, 0.6, 0.4, 0.45, 0.46])
    replay = EarlyStopping(EarlyStoppingConfig(patience=2, min_delta=min_delta), history)
    assert replay.stopped_epoch == stopped_epoch
    assert replay.best_epoch == best_epoch


def test_early_stopping_tracks_longest_wait():
    replay = EarlyStopping(EarlyStoppingConfig(patience=5), history_of([1.0, 1.1, 1.2, 1.3, 0.9, 1.0]))
    assert replay.stopped_epoch is None
    assert replay.longest_wait == 3
    assert replay.epochs_without_improvement == 1


def test_early_stopping_needs_validation_rows():
    with pytest.raises(InputError, match="needs validation rows, but data.validation_size is 0; "
                                         "set data.validation_size"):
        resolve_config(None, ["train.early_stopping.patience=5"])


def test_early_stopping_saves_best_epoch(tmp_path, caplog):
    caplog.set_level("INFO", logger="descent")
    status, stopped = train(tmp_path, "stopped", "train.epochs=5", *STOP_AT_EPOCH_2)
    assert status == 0
    assert "early stopping at epoch 2: validation_loss has not improved by more than min_delta=10 for 1 epochs; " \
           "the best epoch is 1" in caplog.text
    assert len(runs.read_history(stopped)) == 2
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert (metrics["epochs"], metrics["epochs_trained"], metrics["stop_reason"]) == (1, 2, "early_stopping")
    info = runs.read_model_info(stopped)
    assert info.checkpoint.name == "best-1"
    assert latest_prefix(stopped).name == "epoch-2"

    status, one_epoch = train(tmp_path, "one", "train.epochs=1", *VALIDATION)
    assert status == 0
    best, after_one = checkpoint_tensors(info.checkpoint), checkpoint_tensors(latest_prefix(one_epoch))
    assert best.keys() == after_one.keys()
    for name in best:
        np.testing.assert_array_equal(best[name], after_one[name], err_msg=name)

    config = resolve_config(stopped / "config.yaml")
    with Predictor(config, info) as predictor:
        scores = predictor.probabilities(np.array([[5.1, 3.5, 1.4, 0.2]]))
    assert scores.shape == (1, 3)


def test_resume_after_early_stop_needs_more_patience(tmp_path):
    status, stopped = train(tmp_path, "stopped", "train.epochs=4", *STOP_AT_EPOCH_2)
    assert status == 0
    with pytest.raises(InputError, match=re.escape("the run stops at epoch 2; to continue, set the patience above 1")):
        resume(stopped, "train.epochs=5")

    assert resume(stopped, "train.early_stopping.patience=3") == 0
    status, whole = train(tmp_path, "whole", "train.epochs=4", *VALIDATION,
                          "train.early_stopping.patience=3", "train.early_stopping.min_delta=10")
    assert status == 0
    assert history_without_seconds(stopped) == history_without_seconds(whole)
    assert len(history_without_seconds(stopped)) == 4
    assert runs.read_model_info(stopped).checkpoint.name == "best-1"


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_terminal():
    assert wants_progress_bar(TerminalStream())
    assert not wants_progress_bar(io.StringIO())


def test_progress_bar_shows_epochs_and_loss():
    stream = TerminalStream()
    bar = ProgressBar(epochs=5, first_epoch=3, stream=stream)
    record = {"epoch": 3, "loss": 0.25, "train_accuracy": 0.9, "test_accuracy": 0.8, "validation_loss": 0.3}
    bar.on_epoch_end(None, record)
    bar.close()
    text = stream.getvalue()
    assert "3/5" in text
    assert "loss=0.2500 train_accuracy=0.900 test_accuracy=0.800 validation_loss=0.3000" in text


def test_stop_on_signal_sets_flag_then_aborts():
    previous = signal.getsignal(signal.SIGINT)
    with StopOnSignal() as stop:
        assert not stop.needs_session(1)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signal_name == "SIGTERM"
        assert stop.needs_session(1)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous
