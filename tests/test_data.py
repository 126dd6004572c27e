"""Iris preparation: stratified seeded split, train-only scaling, one-hot labels."""

import numpy as np
from sklearn.datasets import load_iris

from config import resolve_config
from data import load_dataset


def iris(*overrides: str):
    config = resolve_config(None, overrides)
    return load_dataset(config.data, config.seed)


def test_split_sizes_and_dtypes():
    dataset = iris()
    assert dataset.x_train.shape == (120, 4)
    assert dataset.x_test.shape == (30, 4)
    assert dataset.y_train.shape == (120, 3)
    assert dataset.x_validation.shape == (0, 4)
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        assert array.dtype == np.float32


def test_split_is_stratified():
    dataset = iris("data.test_size=0.2")
    assert dataset.y_train.sum(axis=0).tolist() == [40, 40, 40]
    assert dataset.y_test.sum(axis=0).tolist() == [10, 10, 10]


def test_validation_rows_come_from_training_rows_only():
    plain = iris()
    with_validation = iris("data.validation_size=0.25")
    def raw(dataset, x):
        return (x - dataset.scaler_min) / dataset.scaler_scale

    np.testing.assert_allclose(raw(plain, plain.x_test), raw(with_validation, with_validation.x_test), atol=1e-5)
    assert with_validation.x_validation.shape == (30, 4)
    assert with_validation.y_validation.sum(axis=0).tolist() == [10, 10, 10]
    assert len(with_validation.x_train) == 90


def test_same_seed_same_split_other_seed_other_split():
    first, again, other = iris("seed=1"), iris("seed=1"), iris("seed=2")
    np.testing.assert_array_equal(first.x_test, again.x_test)
    assert not np.array_equal(first.x_test, other.x_test)


def test_scaler_is_fitted_on_training_rows_only():
    dataset = iris()
    np.testing.assert_allclose(dataset.x_train.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(dataset.x_train.max(axis=0), 1.0, atol=1e-6)
    raw = load_iris().data
    train_raw = (dataset.x_train - dataset.scaler_min) / dataset.scaler_scale
    expected_scale = 1.0 / (train_raw.max(axis=0) - train_raw.min(axis=0))
    np.testing.assert_allclose(dataset.scaler_scale, expected_scale, rtol=1e-5)
    # Test rows are scaled with the training range and are not clipped.
    test_raw = (dataset.x_test - dataset.scaler_min) / dataset.scaler_scale
    assert np.all(np.isin(np.round(test_raw, 3), np.round(raw, 3)))


def test_test_value_outside_training_range_is_not_clipped():
    outside = [iris(f"seed={seed}") for seed in range(10)]
    assert any(d.x_test.min() < 0.0 or d.x_test.max() > 1.0 for d in outside)


def test_one_hot_rows_have_a_single_one():
    dataset = iris()
    for labels in (dataset.y_train, dataset.y_test):
        assert set(np.unique(labels)) == {0.0, 1.0}
        np.testing.assert_array_equal(labels.sum(axis=1), 1.0)
    assert dataset.class_names == ("setosa", "versicolor", "virginica")
    assert len(dataset.feature_names) == 4
