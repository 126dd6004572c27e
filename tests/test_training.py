"""The training loop: every optimiser learns, batching is exact, runs are reproducible."""

from pathlib import Path

import numpy as np
import pytest

from config import resolve_config
from data import load_dataset
from errors import InputError
from training import Callback, DivergedError, Trainer, fit

PROJECT = Path(__file__).resolve().parents[1]


def train(*overrides: str, path=None, callbacks=()):
    config = resolve_config(path, overrides)
    dataset = load_dataset(config.data, config.seed)
    with Trainer(config, dataset) as trainer:
        history = fit(trainer, config.train.epochs, callbacks=callbacks)
        return history, trainer.global_step()


def without_seconds(history):
    return [{key: value for key, value in row.items() if key != "seconds"} for row in history]


@pytest.mark.parametrize("optimizer, learning_rate", [
    ("gradient_descent", 0.5), ("momentum", 0.1), ("adagrad", 0.3), ("rmsprop", 0.01), ("adam", 0.02)])
@pytest.mark.parametrize("batch_size", ["full", "1", "16"])
def test_every_optimizer_lowers_the_loss(optimizer, learning_rate, batch_size):
    rate = learning_rate / 5 if batch_size == "1" else learning_rate
    history, _ = train(f"train.optimizer={optimizer}", f"train.learning_rate={rate}",
                       f"train.batch_size={batch_size}", "train.epochs=15")
    assert len(history) == 15
    assert history[-1]["loss"] < history[0]["loss"]
    assert all(np.isfinite(row["loss"]) for row in history)


@pytest.mark.parametrize("batch_size, steps", [("full", 1), ("1", 120), ("16", 8), ("50", 3), ("120", 1)])
def test_steps_per_epoch_follow_batch_size(batch_size, steps):
    _, global_step = train(f"train.batch_size={batch_size}", "train.epochs=2")
    assert global_step == 2 * steps


def test_short_last_batch_mean():
    config = resolve_config(None, ["train.batch_size=50", "model.l2=0"])
    dataset = load_dataset(config.data, config.seed)
    with Trainer(config, dataset) as trainer:
        model, session = trainer.model, trainer.session
        order = trainer.epoch_order(1)
        session.run(model.start_epoch, {model.epoch_order: order})
        trainer._train_step()
        trainer._train_step()
        # The third batch of the epoch contains rows 100..119 of the order: 20 rows, not 50.
        in_graph = session.run(model.batch_terms.data_loss)
        fed = trainer.evaluate(dataset.x_train[order[100:]], dataset.y_train[order[100:]])["data_loss"]
    assert in_graph == pytest.approx(fed, rel=1e-6)


def test_epoch_order_is_a_fresh_permutation_each_epoch():
    config = resolve_config(None, ["train.batch_size=16"])
    dataset = load_dataset(config.data, config.seed)
    with Trainer(config, dataset) as trainer:
        first, second = trainer.epoch_order(1), trainer.epoch_order(2)
    assert sorted(first) == list(range(120))
    assert sorted(second) == list(range(120))
    assert not np.array_equal(first, second)


def test_same_seed_same_history_other_seed_other_history():
    args = ("train.batch_size=16", "train.epochs=5", "train.optimizer=adam", "train.learning_rate=0.01")
    first, _ = train(*args, "seed=3")
    again, _ = train(*args, "seed=3")
    other, _ = train(*args, "seed=4")
    assert without_seconds(first) == without_seconds(again)
    assert without_seconds(first) != without_seconds(other)


def test_history_rows_have_every_column():
    history, _ = train("train.epochs=3")
    assert [row["epoch"] for row in history] == [1, 2, 3]
    for row in history:
        assert row["loss"] == pytest.approx(row["data_loss"] + row["l2_loss"], rel=1e-5)
        assert 0.0 <= row["train_accuracy"] <= 1.0
        assert 0.0 <= row["test_accuracy"] <= 1.0
    assert history[0]["seconds"] <= history[-1]["seconds"]


def test_too_high_learning_rate_raises_diverged_with_history():
    with pytest.raises(DivergedError) as raised:
        train("train.learning_rate=1e6", "train.epochs=50", "model.hidden_units=[]")
    error = raised.value
    assert 1 <= error.epoch <= 50
    assert len(error.history) == error.epoch
    assert not np.isfinite(error.history[-1]["loss"])
    assert "learning_rate 1e+06" in str(error)


def test_batch_size_above_rows_rejected():
    with pytest.raises(InputError, match="invalid value 121 for train.batch_size: larger than the 120 training rows"):
        train("train.batch_size=121", "train.epochs=1")


def test_callback_can_stop_training():
    class StopAtThree(Callback):
        def on_epoch_end(self, trainer, record):
            return record["epoch"] == 3

    history, global_step = train("train.epochs=10", callbacks=[StopAtThree()])
    assert len(history) == 3
    assert global_step == 3


def test_default_config_reaches_target_accuracy():
    history, _ = train(path=PROJECT / "config.yaml")
    assert history[-1]["test_accuracy"] >= 0.93


@pytest.mark.parametrize("path", sorted((PROJECT / "configs").glob("*.yaml")), ids=lambda path: path.stem)
def test_shipped_method_configs_reach_090(path):
    history, _ = train(path=path)
    assert history[-1]["test_accuracy"] >= 0.9


def test_rising_loss_warns(caplog):
    from runner import warn_if_loss_rose

    history, _ = train("model.hidden_units=[]", "model.l2=0.01", "train.learning_rate=1.7", "train.epochs=40")
    assert all(np.isfinite(row["loss"]) for row in history)
    with caplog.at_level("WARNING", logger="descent"):
        warn_if_loss_rose(history, 1.7)
    assert len(caplog.records) == 1
    assert "learning_rate 1.7 is probably too high" in caplog.records[0].getMessage()


def test_falling_loss_does_not_warn(caplog):
    from runner import warn_if_loss_rose

    history, _ = train("train.epochs=20")
    with caplog.at_level("WARNING", logger="descent"):
        warn_if_loss_rose(history, 0.5)
    assert caplog.records == []
