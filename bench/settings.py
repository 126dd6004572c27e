"""Settings of the benchmark: one network, one set of hyper-parameters, three batch sizes.

Every implementation reads its settings from the project's own `Config`, so they cannot drift
apart. This module imports neither TensorFlow nor Keras.
"""

from config import Config, resolve_config

BATCH_SIZES = ("full", 16, 1)

# Epochs per timed run. Each full run makes about 2,000 updates at every batch size, which is
# enough for the network to pass 0.9 test accuracy. Quick runs make about a quarter of that.
EPOCHS = {"full": 2000, 16: 250, 1: 20}
QUICK_EPOCHS = {"full": 500, 16: 60, 1: 5}
REPEATS = 5
QUICK_REPEATS = 3

# Keras spends about 30 ms per epoch outside its updates (TensorFlow 2.21, 2 cores), so 2,000
# full-batch epochs would take a minute per run. It trains fewer epochs, which leaves its time
# per update unchanged but its test accuracy lower; the table shows each run's epochs.
KERAS_EPOCHS = {"full": 60, 16: 30, 1: 5}
QUICK_KERAS_EPOCHS = {"full": 20, 16: 10, 1: 2}


def epochs_of(group: str, quick: bool) -> dict:
    """Return the epochs per batch size that the implementation `group` trains in one run."""
    if group == "keras":
        return QUICK_KERAS_EPOCHS if quick else KERAS_EPOCHS
    return QUICK_EPOCHS if quick else EPOCHS

# The benchmark network of the article: 4 inputs, two sigmoid layers of 10 units, 3 outputs,
# mean squared error and plain gradient descent; the rest are the project's defaults.
NETWORK_SETTINGS = ("model.hidden_units=[10, 10]", "model.activation=sigmoid", "model.loss=mse",
                    "train.optimizer=gradient_descent")


def bench_config(batch_size: int | str, epochs: int) -> Config:
    """Return the project's config for one benchmark run."""
    return resolve_config(None, [*NETWORK_SETTINGS, f"train.batch_size={batch_size}", f"train.epochs={epochs}"])


def rows_per_batch(config: Config, n_train: int) -> int:
    return n_train if config.train.batch_size == "full" else int(config.train.batch_size)


def updates_of(config: Config, n_train: int) -> int:
    """Return the number of updates in one run: epochs times batches per epoch."""
    return config.train.epochs * -(-n_train // rows_per_batch(config, n_train))
