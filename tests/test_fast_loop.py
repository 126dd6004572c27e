"""`fit`, which trains many epochs per Session call, against a plain loop of one epoch per call.

The plain loop runs `Trainer.run_epoch` (one Session call per update) and `Trainer.epoch_record`;
`fit` must give the same history, bit for bit, and leave the same training state.
"""

import numpy as np
import pytest

import training
from data import load_dataset
from training import Callback, DivergedError, Trainer, fit

tf1 = training.tf1
OPTIMIZERS = ("gradient_descent", "momentum", "adagrad", "rmsprop", "adam")


def make_trainer(make_config, *overrides: str) -> Trainer:
    config = make_config("model.hidden_units=[10, 10]", "train.learning_rate=0.05", *overrides)
    return Trainer(config, load_dataset(config.data, config.seed))


def without_seconds(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if key != "seconds"} for record in history]


def plain_history(trainer: Trainer, epochs: int) -> list[dict]:
    history = []
    for epoch in range(1, epochs + 1):
        trainer.run_epoch(epoch)
        history.append(trainer.epoch_record(epoch, 0.0))
    return without_seconds(history)


def training_state(trainer: Trainer) -> list[np.ndarray]:
    """Return every global variable: weights, biases, optimiser slots and global_step."""
    return trainer.session.run(trainer.model.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES))


def assert_same_state(first: Trainer, second: Trainer) -> None:
    for one, other in zip(training_state(first), training_state(second), strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("batch_size", ["full", 60, 16, 7, 1])
def test_fit_equals_plain_loop_per_batch_size(make_config, batch_size):
    # full: one update per epoch; 60: two unrolled batches; 16: seven and a short one of 8;
    # 7: an inner while_loop of 17 batches and one of 1 row; 1: a while_loop of 120.
    with make_trainer(make_config, f"train.batch_size={batch_size}") as fast, \
            make_trainer(make_config, f"train.batch_size={batch_size}") as plain:
        assert without_seconds(fit(fast, 4)) == plain_history(plain, 4)
        assert_same_state(fast, plain)
        assert fast.global_step() == 4 * fast.steps_per_epoch


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_fit_equals_plain_loop_per_optimizer(make_config, optimizer):
    with make_trainer(make_config, f"train.optimizer={optimizer}", "train.batch_size=16") as fast, \
            make_trainer(make_config, f"train.optimizer={optimizer}", "train.batch_size=16") as plain:
        assert without_seconds(fit(fast, 4)) == plain_history(plain, 4)
        assert_same_state(fast, plain)


@pytest.mark.parametrize("batch_size", ["full", 16])
def test_epochs_per_call_does_not_change_history(make_config, monkeypatch, batch_size):
    histories = []
    for seconds_per_call in (1e-9, 1e9):  # one epoch per call, then MAX_EPOCHS_PER_CALL per call
        monkeypatch.setattr(training, "SECONDS_PER_CALL", seconds_per_call)
        with make_trainer(make_config, f"train.batch_size={batch_size}") as trainer:
            histories.append(without_seconds(fit(trainer, 7)))
    assert histories[0] == histories[1]
    assert [record["epoch"] for record in histories[0]] == list(range(1, 8))


def test_resumed_fit_equals_one_fit(make_config):
    with make_trainer(make_config, "train.batch_size=16") as whole, \
            make_trainer(make_config, "train.batch_size=16") as resumed:
        expected = without_seconds(fit(whole, 6))
        history = fit(resumed, 3)
        history = fit(resumed, 6, first_epoch=4, history=history)
        assert without_seconds(history) == expected
        assert_same_state(whole, resumed)


class SessionProbe(Callback):
    """Need the session at some epochs, record the session's state there, and maybe stop."""

    def __init__(self, needs: set[int], stop_at: int | None = None):
        self.needs, self.stop_at = needs, stop_at
        self.epochs, self.live = [], {}

    def needs_session(self, epoch: int) -> bool:
        return epoch in self.needs

    def on_epoch_end(self, trainer, record) -> bool:
        self.epochs.append(record["epoch"])
        if record["epoch"] in self.needs:
            self.live[record["epoch"]] = (trainer.global_step(), trainer.epoch_record(record["epoch"], 0.0))
        return record["epoch"] == self.stop_at


@pytest.mark.parametrize("batch_size", ["full", 16])
def test_needs_session_sees_live_state(make_config, monkeypatch, batch_size):
    monkeypatch.setattr(training, "SECONDS_PER_CALL", 1e9)  # calls as long as the callbacks allow
    probe = SessionProbe(needs={2, 5})
    with make_trainer(make_config, f"train.batch_size={batch_size}") as trainer:
        history = fit(trainer, 8, callbacks=[probe])
        steps = trainer.steps_per_epoch
    assert probe.epochs == list(range(1, 9))
    for epoch in (2, 5):
        global_step, record = probe.live[epoch]
        assert global_step == epoch * steps
        assert without_seconds([record]) == without_seconds([history[epoch - 1]])


@pytest.mark.parametrize("batch_size", ["full", 16])
def test_stop_inside_call_rewinds_state(make_config, monkeypatch, batch_size):
    monkeypatch.setattr(training, "SECONDS_PER_CALL", 1e9)
    probe = SessionProbe(needs=set(), stop_at=4)
    with make_trainer(make_config, f"train.batch_size={batch_size}") as stopped, \
            make_trainer(make_config, f"train.batch_size={batch_size}") as plain:
        stopped.epochs_per_call = 10  # epochs 1..10 in one call, then a stop at epoch 4
        history = fit(stopped, 10, callbacks=[probe])
        expected = plain_history(plain, 4)
        assert without_seconds(history) == expected
        assert stopped.global_step() == 4 * stopped.steps_per_epoch
        assert without_seconds([stopped.epoch_record(4, 0.0)]) == expected[-1:]
        assert_same_state(stopped, plain)


@pytest.mark.parametrize(("batch_size", "learning_rate", "diverged_epoch"), [("full", 100, 10), (16, 5, 6)])
def test_divergence_stops_at_first_bad_epoch(make_config, monkeypatch, batch_size, learning_rate, diverged_epoch):
    monkeypatch.setattr(training, "SECONDS_PER_CALL", 1e9)
    overrides = (f"train.batch_size={batch_size}", f"train.learning_rate={learning_rate}", "model.hidden_units=[10]")
    with make_trainer(make_config, *overrides) as trainer, make_trainer(make_config, *overrides) as plain:
        trainer.epochs_per_call = 20
        with pytest.raises(DivergedError) as caught:
            fit(trainer, 20)
        expected = plain_history(plain, diverged_epoch)
        assert caught.value.epoch == diverged_epoch
        assert not np.isfinite(expected[-1]["loss"])
        assert np.isfinite(expected[-2]["loss"])
        assert str(without_seconds(caught.value.history)) == str(expected)  # str: NaN != NaN
        assert trainer.global_step() == diverged_epoch * trainer.steps_per_epoch


def test_epoch_record_equals_fed_evaluation(make_config):
    with make_trainer(make_config, "train.batch_size=16") as trainer:
        fit(trainer, 2)
        record = trainer.epoch_record(2, 0.0)
        train = trainer.evaluate(trainer.dataset.x_train, trainer.dataset.y_train)
        test = trainer.evaluate(trainer.dataset.x_test, trainer.dataset.y_test)
    assert record["loss"] == train["loss"]
    assert record["data_loss"] == train["data_loss"]
    assert record["l2_loss"] == train["l2_loss"]
    assert record["train_accuracy"] == train["accuracy"]
    assert record["test_accuracy"] == test["accuracy"]


def test_rewind_outside_last_call_raises(make_config):
    with make_trainer(make_config) as trainer:
        trainer.train_epochs(1, 3)
        with pytest.raises(ValueError, match="outside"):
            trainer.rewind_to(4)
