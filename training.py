"""The training loop: one Session, one model, epochs of shuffled batches, a history row per epoch.

Every entry point trains through `Trainer` and `fit`. Batch, stochastic and mini-batch gradient
descent differ only in `train.batch_size`; the optimiser only in how a step uses the gradient.
`fit` trains many epochs per Session call, because for a network this small the overhead of a
call is as large as an update. bench/ measures the loop against other implementations.
"""

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tensorflow as tf

from config import Config
from data import Dataset
from errors import InputError
from model import Model, build_model, steps_per_epoch

tf1 = tf.compat.v1

# Bounds of one Session call of `fit`. Python handles Ctrl-C only between calls, so a call should
# last about SECONDS_PER_CALL at most; the number of epochs follows the measured time per epoch.
MAX_EPOCHS_PER_CALL = 100
SECONDS_PER_CALL = 0.1

HISTORY_COLUMNS = ("epoch", "loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy", "seconds")
VALIDATION_COLUMNS = ("validation_loss", "validation_accuracy")  # recorded when there are validation rows


def history_columns(history: Sequence[dict]) -> tuple[str, ...]:
    """Return the columns of a history: HISTORY_COLUMNS, plus the validation ones before seconds."""
    if not history or VALIDATION_COLUMNS[0] not in history[0]:
        return HISTORY_COLUMNS
    return HISTORY_COLUMNS[:-1] + VALIDATION_COLUMNS + HISTORY_COLUMNS[-1:]


class DivergedError(Exception):
    """The loss became NaN or infinite. `history` contains the rows up to and including that epoch."""

    def __init__(self, epoch: int, learning_rate: float, history: list[dict]):
        super().__init__(f"loss is not finite at epoch {epoch} with learning_rate {learning_rate:g}; "
                         f"the learning rate is probably too high, so lower it with --set train.learning_rate=...")
        self.epoch = epoch
        self.learning_rate = learning_rate
        self.history = history


def check_config_fits_data(config: Config, dataset: Dataset) -> None:
    """Raise InputError for settings that only the data can rule out."""
    n_train = len(dataset.x_train)
    size = config.train.batch_size
    if size != "full" and size > n_train:
        raise InputError(f"invalid value {size} for train.batch_size: larger than the {n_train} training rows; "
                         f"use full or a value <= {n_train}")


def session_config() -> tf1.ConfigProto:
    """Run each step in the calling thread with one intra-op thread, and turn grappler off.

    For a network this small, handing work to thread pools costs more than the arithmetic.
    Grappler's graph rewrites made the training loop about 1.3 times slower (TensorFlow 2.21,
    2 CPU cores, measured at batch sizes 120, 16 and 1).
    """
    config = tf1.ConfigProto(inter_op_parallelism_threads=-1, intra_op_parallelism_threads=1)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


class Trainer:
    """Own the Session of one built model: initialise, run epochs, evaluate and predict."""

    def __init__(self, config: Config, dataset: Dataset):
        check_config_fits_data(config, dataset)
        self.config = config
        self.dataset = dataset
        self.n_train = len(dataset.x_train)
        self.steps_per_epoch = steps_per_epoch(config.train, self.n_train)
        has_validation = len(dataset.x_validation) > 0
        self.model: Model = build_model(config.model, config.train, dataset.n_features, dataset.n_classes,
                                        self.n_train, config.seed, with_validation=has_validation)
        self.model.graph.finalize()
        self.session = tf1.Session(graph=self.model.graph, config=session_config())
        self.session.run(self.model.init_op)
        self.session.run(self.model.load_train_rows,
                         {self.model.features: dataset.x_train, self.model.labels: dataset.y_train})
        self.session.run(self.model.load_test_rows,
                         {self.model.features: dataset.x_test, self.model.labels: dataset.y_test})
        if has_validation:
            self.session.run(self.model.load_validation_rows,
                             {self.model.features: dataset.x_validation, self.model.labels: dataset.y_validation})
        self._train_step = self.session.make_callable(self.model.train_step)
        self._epoch_metrics = self.session.make_callable(self.model.epoch_metrics)
        self._shuffles = self.steps_per_epoch > 1
        # With one batch of every row the order cannot change the step, so it stays 0..n-1.
        self.epochs_per_call = 1  # of train_epochs in fit; grows once an epoch has been timed
        self._last_call = (0, 0)  # first and last epoch trained by the last train_epochs call

        # The first run of a fetch builds its executors (10 to 60 ms measured for the loop), so that
        # cost goes to setup here, with no epoch to train, rather than to the first epoch's seconds.
        self.session.run(self.model.train_epochs, {self.model.epoch_orders: np.zeros((0, self.n_train), np.int32)})

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def _set_order(self, order: np.ndarray) -> None:
        self.session.run(self.model.start_epoch, {self.model.epoch_order: order})

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Return the row order of an epoch, a function of seed and epoch alone."""
        return np.random.default_rng([self.config.seed, epoch]).permutation(self.n_train)

    def epoch_orders(self, first_epoch: int, last_epoch: int) -> np.ndarray:
        """Return the row orders of epochs `first_epoch`..`last_epoch`, one row each, as int32."""
        count = last_epoch - first_epoch + 1
        if not self._shuffles:
            return np.tile(np.arange(self.n_train, dtype=np.int32), (count, 1))
        return np.stack([self.epoch_order(epoch) for epoch in range(first_epoch, last_epoch + 1)]).astype(np.int32)

    def train_epochs(self, first_epoch: int, last_epoch: int) -> list[dict]:
        """Train epochs `first_epoch`..`last_epoch` in one Session call and return their metrics.

        Each row contains the epoch and the model's metric_names after it. Training stops at most one epoch
        after an epoch whose loss is not finite, so the list may end early; `rewind_to` goes back.
        """
        orders = self.epoch_orders(first_epoch, last_epoch)
        started = time.perf_counter()
        values = self.session.run(self.model.train_epochs, {self.model.epoch_orders: orders})
        seconds_per_epoch = max(time.perf_counter() - started, 1e-9) / max(len(values), 1)
        self.epochs_per_call = max(1, min(MAX_EPOCHS_PER_CALL, int(SECONDS_PER_CALL / seconds_per_epoch)))
        self._last_call = (first_epoch, first_epoch + len(values) - 1)
        return [{"epoch": first_epoch + index, **dict(zip(self.model.metric_names, map(float, row)))}
                for index, row in enumerate(values)]

    def rewind_to(self, epoch: int) -> None:
        """Reset the training state to its value after `epoch`, an epoch of the last train_epochs call.

        The state at the start of that call is restored, then its epochs up to `epoch` run again.
        The result is the same because every update depends only on that state and the epoch's order.
        """
        first, last = self._last_call
        if not first <= epoch <= last:
            raise ValueError(f"epoch {epoch} is outside the last call's epochs {first}..{last}")
        if epoch < last:
            self.session.run(self.model.restore_snapshot)
            self.train_epochs(first, epoch)

    def run_epoch(self, epoch: int) -> None:
        """Run one pass over the training rows: `steps_per_epoch` updates."""
        if self._shuffles:
            self._set_order(self.epoch_order(epoch))
        for _ in range(self.steps_per_epoch):
            self._train_step()

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Return loss, data_loss, l2_loss and accuracy on the given rows."""
        model = self.model
        fetches = [model.terms.loss, model.terms.data_loss, model.terms.l2_loss, model.accuracy]
        values = self.session.run(fetches, {model.features: x, model.labels: y})
        return dict(zip(("loss", "data_loss", "l2_loss", "accuracy"), map(float, values)))

    def predict_probabilities(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.model.probabilities, {self.model.features: x})

    def global_step(self) -> int:
        return int(self.session.run(self.model.global_step))

    def epoch_record(self, epoch: int, seconds: float) -> dict:
        """Evaluate the train and test rows after an epoch into one history row."""
        values = self._epoch_metrics()
        return {"epoch": epoch, **dict(zip(self.model.metric_names, map(float, values))), "seconds": seconds}

    # Checkpoints: the savers write every global variable (weights, biases, optimiser slots,
    # global_step); the training rows and the epoch order are set again by each session.

    def save_checkpoint(self, prefix: str) -> str:
        """Save the training state to `prefix` and rotate out checkpoints beyond train.keep_checkpoints."""
        return self.model.checkpoint.saver.save(self.session, prefix, write_meta_graph=False)

    def restore_checkpoint(self, prefix: str) -> None:
        check_checkpoint_matches(prefix, self.model)
        self.model.checkpoint.saver.restore(self.session, prefix)

    def recover_checkpoints(self, prefixes: Sequence[str]) -> None:
        """Resume rotating the checkpoints a previous session saved, oldest first."""
        self.model.checkpoint.saver.recover_last_checkpoints(list(prefixes))

    def keep_best(self) -> None:
        """Copy the training state into the in-graph best copy."""
        self.session.run(self.model.checkpoint.keep_best)

    def restore_best(self) -> None:
        """Make the best copy the training state, as if training had ended at that epoch."""
        self.session.run(self.model.checkpoint.restore_best)

    def save_best(self, prefix: str) -> str:
        """Save the best copy to `prefix`, in the format that `restore_checkpoint` reads."""
        return self.model.checkpoint.best_saver.save(self.session, prefix, write_meta_graph=False,
                                                     write_state=False)

    def restore_best_copy(self, prefix: str) -> None:
        """Load a checkpoint saved by `save_best` into the best copy, leaving the training state."""
        self.model.checkpoint.best_saver.restore(self.session, prefix)

    def weight_summary(self) -> bytes:
        """Return a serialized Summary with a histogram of every weight and bias."""
        return self.session.run(self.model.weight_summary)


def check_checkpoint_matches(prefix: str, model: Model) -> None:
    """Raise InputError unless the checkpoint contains every saved variable of `model`, shaped alike.

    The Saver does not compare shapes, because a resource variable takes the shape stored in the
    file. A checkpoint of other layer widths would otherwise load without an error.
    """
    try:
        saved = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as error:
        reason = str(error).strip().splitlines()[0]
        raise InputError(f"cannot read checkpoint {prefix}: {reason}") from None
    for variable in model.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES):
        name, shape = variable.op.name, variable.shape.as_list()
        if saved.get(name) != shape:
            found = "missing" if name not in saved else f"of shape {saved[name]}"
            raise InputError(f"checkpoint {prefix} does not match the network of config.yaml: variable {name} "
                             f"of shape {shape} is {found} in the checkpoint; was config.yaml edited?")


class Callback:
    """A hook into `fit`; subclasses override what they need.

    `fit` may run several epochs in one Session call, and it hands every epoch's row to
    `on_epoch_end` in order. A callback that must see the live weights at an epoch (to save a
    checkpoint, say) returns True from `needs_session(epoch)`, and `fit` then stops a call at
    that epoch before calling `on_epoch_end`. When `fit` returns or raises, the session contains
    the state after the last epoch of the history, even if a callback stopped training in the
    middle of a call.
    """

    def needs_session(self, epoch: int) -> bool:
        return False

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        """Handle one epoch's history row; return True to stop training after this epoch."""
        return False


def fit(trainer: Trainer, epochs: int, callbacks: Sequence[Callback] = (),
        first_epoch: int = 1, history: list[dict] | None = None) -> list[dict]:
    """Train epochs `first_epoch`..`epochs` and return the history, one row per epoch.

    Raises DivergedError as soon as the loss is not finite, with the rows so far. A callback
    may stop training early; the history then ends at that epoch. Each Session call trains
    up to `trainer.epochs_per_call` epochs and ends early at an epoch where a callback's
    `needs_session` is True, so the epochs trained and recorded do not depend on the calls.
    """
    history = list(history or [])
    started = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    epoch = first_epoch
    while epoch <= epochs:
        last = _last_epoch_of_call(epoch, min(epochs, epoch + trainer.epochs_per_call - 1), callbacks)
        call_started = time.perf_counter() - started
        rows = trainer.train_epochs(epoch, last)
        # One call trains all these epochs, so each gets an equal share of the call's time.
        share = (time.perf_counter() - started - call_started) / len(rows)
        for index, row in enumerate(rows):
            record = {**row, "seconds": call_started + share * (index + 1)}
            history.append(record)
            if not math.isfinite(record["loss"]):
                trainer.rewind_to(record["epoch"])
                raise DivergedError(record["epoch"], trainer.config.train.learning_rate, history)
            stops = [callback.on_epoch_end(trainer, record) for callback in callbacks]
            if any(stops):
                trainer.rewind_to(record["epoch"])
                return history
        epoch = last + 1
    return history


def _last_epoch_of_call(first_epoch: int, last_epoch: int, callbacks: Sequence[Callback]) -> int:
    """Return the first epoch in `first_epoch`..`last_epoch` at which a callback needs the session."""
    for epoch in range(first_epoch, last_epoch):
        if any(callback.needs_session(epoch) for callback in callbacks):
            return epoch
    return last_epoch
