"""Load a data set, split it into stratified train and test rows, scale and one-hot encode it.

The scaler is fitted on the training rows only, so the test rows stay unseen: a test value
outside the training range scales outside [0, 1] and is kept as it is, not clipped.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from config import DataConfig


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


@dataclass(frozen=True)
class Table:
    """Raw features with integer class labels 0..K-1, before any split."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]


def load_table(config: DataConfig) -> Table:
    """Load the raw rows of the configured data set (Iris ships with scikit-learn)."""
    bunch = load_iris()
    return Table(
        features=bunch.data.astype(np.float64),
        labels=bunch.target.astype(np.int64),
        feature_names=tuple(bunch.feature_names),
        class_names=tuple(str(name) for name in bunch.target_names),
    )


def split_rows(labels: np.ndarray, rows: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into kept and held-out rows, the held-out share stratified by class."""
    kept, held_out = train_test_split(rows, test_size=share, stratify=labels[rows], random_state=seed)
    return kept, held_out


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
    """Split, scale and encode a table into a Dataset.

    The test rows are split off first, then the validation rows from what is left, so turning
    validation on or off never changes the test rows.
    """
    train_rows, test_rows = split_rows(table.labels, np.arange(len(table.labels)), config.test_size, seed)
    validation_rows = np.empty(0, dtype=np.int64)
    if config.validation_size > 0:
        train_rows, validation_rows = split_rows(table.labels, train_rows, config.validation_size, seed)
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
