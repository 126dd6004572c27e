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


def split_rows(table: Table, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the row indices of the train and test sets, stratified by class."""
    rows = np.arange(len(table.labels))
    train_rows, test_rows = train_test_split(
        rows, test_size=test_size, stratify=table.labels, random_state=seed)
    return train_rows, test_rows


def fit_scaler(features: np.ndarray) -> MinMaxScaler:
    return MinMaxScaler().fit(features)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Encode labels with an encoder that knows every class, so every split has the same width."""
    encoder = OneHotEncoder(categories=[list(range(n_classes))], sparse_output=False)
    return encoder.fit_transform(labels.reshape(-1, 1)).astype(np.float32)


def prepare(table: Table, test_size: float, seed: int, name: str = "") -> Dataset:
    """Split, scale and encode a table into a Dataset."""
    train_rows, test_rows = split_rows(table, test_size, seed)
    scaler = fit_scaler(table.features[train_rows])
    n_classes = len(table.class_names)
    return Dataset(
        name=name,
        x_train=scaler.transform(table.features[train_rows]).astype(np.float32),
        y_train=one_hot(table.labels[train_rows], n_classes),
        x_test=scaler.transform(table.features[test_rows]).astype(np.float32),
        y_test=one_hot(table.labels[test_rows], n_classes),
        feature_names=table.feature_names,
        class_names=table.class_names,
        scaler_min=scaler.min_.astype(np.float64),
        scaler_scale=scaler.scale_.astype(np.float64),
    )


def load_dataset(config: DataConfig, seed: int) -> Dataset:
    """Load, split, scale and encode the configured data set."""
    return prepare(load_table(config), config.test_size, seed, name=config.name)
