"""The raw table every data source produces before the split: a bundled data set or a CSV file."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Table:
    """Raw features with integer class labels 0..K-1, before any split."""

    features: np.ndarray  # [n_rows, n_features], float64, every value finite
    labels: np.ndarray  # [n_rows], int64 class index into class_names
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]  # original label values as text, in class index order
    source: str  # data set name or CSV path, used in messages
    label_column: str  # column the labels came from ("target" for the bundled sets)
