"""Bundled data sets, stratified split checks and constant features, from table to Dataset."""

import logging

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from data import check_split, load_dataset, load_table, prepare
from errors import InputError
from report import header_lines
from table import Table
from training import Trainer, fit


def make_table(labels, features=None, class_names=None) -> Table:
    labels = np.asarray(labels, dtype=np.int64)
    if features is None:
        features = np.random.default_rng(0).normal(size=(len(labels), 3))
    if class_names is None:
        class_names = tuple(f"c{index}" for index in range(labels.max() + 1))
    return Table(features=np.asarray(features, dtype=np.float64), labels=labels,
                 feature_names=tuple(f"f{index}" for index in range(np.shape(features)[1])),
                 class_names=class_names, source="table.csv", label_column="kind")


def split_error(make_config, table: Table, *overrides: str) -> str:
    config = make_config(*overrides)
    with pytest.raises(InputError) as raised:
        prepare(table, config.data, config.seed)
    return str(raised.value)


@pytest.mark.parametrize("name, rows, features, classes", [
    ("iris", 150, 4, ("setosa", "versicolor", "virginica")),
    ("wine", 178, 13, ("class_0", "class_1", "class_2")),
    ("breast_cancer", 569, 30, ("malignant", "benign")),
])
def test_bundled_tables(make_config, name, rows, features, classes):
    table = load_table(make_config(f"data.name={name}").data)

    assert table.features.shape == (rows, features)
    assert len(table.feature_names) == features
    assert table.class_names == classes
    assert sorted(np.unique(table.labels)) == list(range(len(classes)))
    assert table.source == name


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_bundled_set_trains(make_config, name):
    # The default model and optimiser, with fewer epochs to keep the test fast.
    config = make_config(f"data.name={name}", "train.epochs=300")
    dataset = load_dataset(config.data, config.seed)
    with Trainer(config, dataset) as trainer:
        history = fit(trainer, config.train.epochs)

    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert history[-1]["test_accuracy"] >= 0.9
    assert history[-1]["train_accuracy"] >= 0.9


def test_header_prints_class_mapping(make_config, tmp_path):
    path = tmp_path / "pets.csv"
    rows = [f"{i % 5}.5,{(i * 7) % 11}.25,{('cat', 'dog', 'ant')[i % 3]}" for i in range(30)]
    path.write_text("a,b,pet\n" + "\n".join(rows) + "\n")
    config = make_config("data.name=csv", f"data.path={path}", "data.label_column=pet")
    dataset = load_dataset(config.data, config.seed)
    lines = header_lines(config, dataset)

    assert dataset.class_names == ("ant", "cat", "dog")
    assert lines[0].startswith(f"data       {path} (label column 'pet'): 24 train rows, 6 test rows, 2 features")
    assert lines[1] == "features   a, b"
    assert lines[2] == "classes    0='ant', 1='cat', 2='dog'"


def test_header_bundled_set(make_config):
    config = make_config()
    lines = header_lines(config, load_dataset(config.data, config.seed))

    assert lines[0].startswith("data       iris: 120 train rows")
    assert lines[1] == "features   sepal length (cm), sepal width (cm), petal length (cm), petal width (cm)"
    assert lines[2] == "classes    0='setosa', 1='versicolor', 2='virginica'"


# Constant feature columns.

def test_constant_feature_dropped(make_config, caplog):
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 10)
    features = np.column_stack([rng.normal(size=20), np.full(20, 7.0), rng.uniform(2, 4, size=20)])
    config = make_config()
    with caplog.at_level(logging.WARNING, logger="descent"):
        dataset = prepare(make_table(labels, features), config.data, config.seed)

    assert dataset.feature_names == ("f0", "f2")
    assert dataset.n_features == 2
    assert "feature 'f1' has the single value 7 in the 16 training rows and is dropped" in caplog.text
    assert np.all(np.isfinite(dataset.scaler_scale))
    assert dataset.scaler_min.shape == dataset.scaler_scale.shape == (2,)
    assert dataset.x_train.min(axis=0) == pytest.approx([0, 0], abs=1e-6)
    assert dataset.x_train.max(axis=0) == pytest.approx([1, 1], abs=1e-6)
    # Inverting scaled = raw * scale + min gives back rows of the kept raw columns, in every split.
    recovered = (np.vstack([dataset.x_train, dataset.x_test]) - dataset.scaler_min) / dataset.scaler_scale
    distances = np.abs(recovered[:, None, :] - features[None, :, [0, 2]]).max(axis=2).min(axis=1)
    assert distances.max() < 1e-5


def test_constant_in_training_rows_only(make_config, caplog):
    labels = np.repeat([0, 1], 10)
    config = make_config()
    table = make_table(labels, np.column_stack([np.arange(20.0), np.zeros(20)]))
    train_rows, _ = train_test_split(np.arange(20), test_size=0.2, stratify=labels, random_state=config.seed)
    table.features[np.setdiff1d(np.arange(20), train_rows), 1] = 5.0  # varies only in the test rows
    with caplog.at_level(logging.WARNING, logger="descent"):
        dataset = prepare(table, config.data, config.seed)

    assert dataset.feature_names == ("f0",)
    assert "feature 'f1' has the single value 0" in caplog.text


def test_every_feature_constant(make_config):
    message = split_error(make_config, make_table(np.repeat([0, 1], 5), np.ones((10, 2))))

    assert "table.csv: every feature column has a single value in the 8 training rows" in message


# Stratified split checks.

def test_class_with_one_row(make_config):
    message = split_error(make_config, make_table([0, 0, 0, 1, 1, 1, 2]))

    assert message.startswith("table.csv: class 'c2' has 1 row in label column 'kind'")
    assert "needs at least 2 rows per class" in message


def test_classes_with_one_row_each(make_config):
    message = split_error(make_config, make_table([0, 0, 0, 0, 1, 2]))

    assert "classes 'c1', 'c2' have 1 row each" in message


def test_class_too_small_for_validation(make_config):
    labels = [0] * 10 + [1] * 10 + [2] * 2
    message = split_error(make_config, make_table(labels), "data.validation_size=0.25")

    assert message.startswith("table.csv: after the test split, class 'c2' has 1 row")
    assert "data.validation_size=0" in message


def test_test_share_holds_out_too_few(make_config):
    message = split_error(make_config, make_table([0, 0, 1, 1, 2, 2]), "data.test_size=0.2")

    assert "table.csv: data.test_size=0.2 of 6 rows holds out 2, fewer than the 3 classes" in message
    assert "raise data.test_size to at least 0.5" in message


def test_test_share_keeps_too_few(make_config):
    message = split_error(make_config, make_table([0, 0, 0, 1, 1, 1]), "data.test_size=0.9")

    assert "data.test_size=0.9 of 6 rows keeps 0, fewer than the 2 classes" in message
    assert "lower data.test_size to at most 0.66" in message


def test_validation_share_holds_out_too_few(make_config):
    message = split_error(make_config, make_table(np.repeat([0, 1, 2], 10)), "data.validation_size=0.05")

    assert message.startswith("table.csv: after the test split, data.validation_size=0.05 of 24 rows holds out 2")
    assert "raise data.validation_size to at least 0.13" in message


def test_suggested_shares_split(make_config):
    # The shares the messages suggest must work when applied.
    config = make_config("data.test_size=0.5")
    dataset = prepare(make_table([0, 0, 1, 1, 2, 2]), config.data, config.seed)
    assert len(dataset.x_test) == 3
    config = make_config("data.test_size=0.66")
    dataset = prepare(make_table([0, 0, 0, 1, 1, 1]), config.data, config.seed)
    assert len(dataset.x_train) == 2
    config = make_config("data.validation_size=0.13")
    dataset = prepare(make_table(np.repeat([0, 1, 2], 10)), config.data, config.seed)
    assert len(dataset.x_validation) == 4


def test_split_check_agrees_with_sklearn():
    # Whenever check_split accepts, scikit-learn's stratified split must work, and the reverse.
    rng = np.random.default_rng(11)
    outcomes = set()
    for trial in range(400):
        n_classes = int(rng.integers(2, 5))
        labels = rng.integers(0, n_classes, size=int(rng.integers(n_classes, 16)))
        labels = np.unique(labels, return_inverse=True)[1]
        share = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9]))
        table = make_table(labels)
        try:
            check_split(table, np.arange(len(labels)), share, "data.test_size")
            accepted = True
        except InputError:
            accepted = False
        try:
            train_test_split(np.arange(len(labels)), test_size=share, stratify=labels, random_state=trial)
            splits = True
        except ValueError:
            splits = False
        assert accepted == splits, (labels.tolist(), share)
        outcomes.add(accepted)
    assert outcomes == {True, False}
