"""Load a data set, split it into stratified train and test rows, scale and one-hot encode it.

The scaler is fitted on the training rows only, so the test rows stay unseen: a test value
outside the training range scales outside [0, 1] and is kept as it is, not clipped.
A feature column with one value in the training rows is dropped with a warning.
"""

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from config import DataConfig
from csv_data import read_csv_table
from errors import InputError
from table import Table

log = logging.getLogger("descent")

# Data sets that ship with scikit-learn, so loading them needs no download.
BUNDLED_LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


@dataclass(frozen=True)
class Dataset:
    """Scaled features and one-hot labels of the train and test rows, as float32 arrays."""

    name: str
    x_train: np.ndarray  # [n_train, n_features], MinMax-scaled with the training rows' range
    y_train: np.ndarray  # [n_train, n_classes], one-hot
    x_test: np.ndarray
    y_test: np.ndarray
    x_validation: np.ndarray  # held out from the training rows; 0 rows unless data.validation_size > 0
    y_validation: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    scaler_min: np.ndarray  # scaled = raw * scaler_scale + scaler_min, per feature
    scaler_scale: np.ndarray

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return self.y_train.shape[1]

    @property
    def labels_train(self) -> np.ndarray:
        return self.y_train.argmax(axis=1)

    @property
    def labels_test(self) -> np.ndarray:
        return self.y_test.argmax(axis=1)


def load_bundled(name: str) -> Table:
    """Load one of the data sets in BUNDLED_LOADERS; the label column is scikit-learn's `target`."""
    bunch = BUNDLED_LOADERS[name]()
    return Table(
        features=bunch.data.astype(np.float64),
        labels=bunch.target.astype(np.int64),
        feature_names=tuple(bunch.feature_names),
        class_names=tuple(str(label) for label in bunch.target_names),
        source=name,
        label_column="target",
    )


def load_table(config: DataConfig) -> Table:
    """Load the raw rows of the configured data set: one bundled with scikit-learn, or a CSV file."""
    if config.name == "csv":
        return read_csv_table(config)
    return load_bundled(config.name)


def check_split(table: Table, rows: np.ndarray, share: float, key: str) -> None:
    """Raise InputError unless `rows` can be split with `share` held out, stratified by class.

    The conditions are those of scikit-learn's StratifiedShuffleSplit: ceil(share * n) rows are
    held out, every class has at least 2 rows, and each part has at least one row per class.
    """
    n_rows = len(rows)
    counts = np.bincount(table.labels[rows], minlength=len(table.class_names))
    n_classes = int(np.count_nonzero(counts))
    n_held_out = math.ceil(share * n_rows)
    where = f"{table.source}: after the test split, " if key == "data.validation_size" else f"{table.source}: "

    single = [repr(table.class_names[index]) for index in np.flatnonzero(counts == 1)]
    if single:
        subject = f"class {single[0]} has 1 row" if len(single) == 1 else f"classes {', '.join(single)} have 1 row each"
        fix = "add rows of that class or delete its rows"
        if key == "data.validation_size":
            fix += f", or set {key}=0"
        raise InputError(f"{where}{subject} in label column {table.label_column!r}, but a stratified split by "
                         f"{key} needs at least 2 rows per class; {fix}")
    if n_held_out < n_classes:
        raise InputError(f"{where}{key}={share:g} of {n_rows} rows holds out {n_held_out}, fewer than the "
                         f"{n_classes} classes; raise {key} to at least {_round_up(n_classes / n_rows)}")
    if n_rows - n_held_out < n_classes:
        raise InputError(f"{where}{key}={share:g} of {n_rows} rows keeps {n_rows - n_held_out}, fewer than the "
                         f"{n_classes} classes; lower {key} to at most {_round_down((n_rows - n_classes) / n_rows)}")


def _round_up(share: float) -> float:
    return math.ceil(share * 100) / 100


def _round_down(share: float) -> float:
    return math.floor(share * 100) / 100


def split_rows(table: Table, rows: np.ndarray, share: float, key: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into kept and held-out rows, the held-out share stratified by class."""
    check_split(table, rows, share, key)
    kept, held_out = train_test_split(rows, test_size=share, stratify=table.labels[rows], random_state=seed)
    return kept, held_out


def split_table(table: Table, config: DataConfig, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the train, validation and test row indices.

    The test rows are split off first, then the validation rows from what is left, so turning
    validation on or off never changes the test rows.
    """
    train_rows, test_rows = split_rows(table, np.arange(len(table.labels)), config.test_size,
                                       "data.test_size", seed)
    validation_rows = np.empty(0, dtype=np.int64)
    if config.validation_size > 0:
        train_rows, validation_rows = split_rows(table, train_rows, config.validation_size,
                                                 "data.validation_size", seed)
    return train_rows, validation_rows, test_rows


def drop_constant_features(table: Table, train_rows: np.ndarray) -> Table:
    """Drop, with a warning, each feature column that has a single value in the training rows."""
    values = table.features[train_rows]
    constant = np.all(values == values[0], axis=0)
    if constant.all():
        raise InputError(f"{table.source}: every feature column has a single value in the {len(train_rows)} "
                         f"training rows, so there is nothing to learn from; add rows or feature columns")
    for index in np.flatnonzero(constant):
        log.warning(f"warning: feature {table.feature_names[index]!r} has the single value {values[0, index]:g} "
                    f"in the {len(train_rows)} training rows and is dropped, because it carries no information")
    names = tuple(name for index, name in enumerate(table.feature_names) if not constant[index])
    return dataclasses.replace(table, features=table.features[:, ~constant], feature_names=names)


def fit_scaler(features: np.ndarray) -> MinMaxScaler:
    return MinMaxScaler().fit(features)


def fit_encoder(n_classes: int) -> OneHotEncoder:
    """Fit one encoder on every class, so each split is encoded to the same width."""
    classes = np.arange(n_classes).reshape(-1, 1)
    return OneHotEncoder(categories=[list(range(n_classes))], sparse_output=False).fit(classes)


def one_hot(encoder: OneHotEncoder, labels: np.ndarray) -> np.ndarray:
    if len(labels) == 0:
        return np.zeros((0, len(encoder.categories_[0])), dtype=np.float32)
    return encoder.transform(labels.reshape(-1, 1)).astype(np.float32)


def prepare(table: Table, config: DataConfig, seed: int) -> Dataset:
    """Split, scale and encode a table into a Dataset; see split_table for the order of the splits."""
    train_rows, validation_rows, test_rows = split_table(table, config, seed)
    table = drop_constant_features(table, train_rows)
    scaler = fit_scaler(table.features[train_rows])
    encoder = fit_encoder(len(table.class_names))

    def scaled(rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, table.features.shape[1]), dtype=np.float32)
        return scaler.transform(table.features[rows]).astype(np.float32)

    def encoded(rows: np.ndarray) -> np.ndarray:
        return one_hot(encoder, table.labels[rows])

    return Dataset(
        name=config.name,
        x_train=scaled(train_rows),
        y_train=encoded(train_rows),
        x_test=scaled(test_rows),
        y_test=encoded(test_rows),
        x_validation=scaled(validation_rows),
        y_validation=encoded(validation_rows),
        feature_names=table.feature_names,
        class_names=table.class_names,
        scaler_min=scaler.min_.astype(np.float64),
        scaler_scale=scaler.scale_.astype(np.float64),
    )


def load_dataset(config: DataConfig, seed: int) -> Dataset:
    """Load, split, scale and encode the configured data set."""
    return prepare(load_table(config), config, seed)
