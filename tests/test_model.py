"""Graph building: shapes, the three loss terms against NumPy, independent graphs."""

import numpy as np
import pytest
import tensorflow as tf

from config import resolve_config
from model import build_model

tf1 = tf.compat.v1


def build(*overrides: str, n_train: int = 12):
    config = resolve_config(None, overrides)
    return config, build_model(config.model, config.train, 4, 3, n_train, config.seed)


def batch(rows: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((rows, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, rows)]
    return x, y


def numpy_forward(weights, biases, x, activation):
    for w, b in zip(weights[:-1], biases[:-1]):
        x = activation(x @ w + b)
    return x @ weights[-1] + biases[-1]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_output_shapes_follow_hidden_units():
    _, model = build("model.hidden_units=[5, 7]")
    assert [tuple(w.shape) for w in model.weights] == [(4, 5), (5, 7), (7, 3)]
    assert [tuple(b.shape) for b in model.biases] == [(5,), (7,), (3,)]
    assert model.outputs.shape.as_list() == [None, 3]
    assert model.features.shape.as_list() == [None, 4]


def test_no_hidden_units_is_a_linear_model():
    _, model = build("model.hidden_units=[]")
    assert [tuple(w.shape) for w in model.weights] == [(4, 3)]


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_loss_terms_match_numpy(loss):
    config, model = build("model.hidden_units=[5]", f"model.loss={loss}", "model.l2=0.01")
    x, y = batch()
    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        weights, biases = session.run([list(model.weights), list(model.biases)])
        data_loss, l2_loss, total = session.run(
            [model.terms.data_loss, model.terms.l2_loss, model.terms.loss], {model.features: x, model.labels: y})

    outputs = numpy_forward(weights, biases, x, sigmoid)
    if loss == "mse":
        expected_data = np.mean((outputs - y) ** 2)
    else:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        expected_data = -np.mean(np.sum(y * log_softmax, axis=1))
    expected_l2 = 0.01 * sum(np.sum(w ** 2) / 2 for w in weights)
    assert data_loss == pytest.approx(expected_data, rel=1e-5)
    assert l2_loss == pytest.approx(expected_l2, rel=1e-5)
    assert total == pytest.approx(expected_data + expected_l2, rel=1e-5)


def test_l2_term_leaves_biases_out():
    _, model = build("model.l2=1.0")
    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        before = session.run(model.terms.l2_loss, {model.features: batch()[0], model.labels: batch()[1]})
        for bias in model.biases:
            bias.load(np.full(bias.shape, 5.0, dtype=np.float32), session)
        after = session.run(model.terms.l2_loss, {model.features: batch()[0], model.labels: batch()[1]})
    assert before == pytest.approx(after)


def test_same_seed_same_initial_weights_across_optimizers():
    _, adam = build("train.optimizer=adam")
    _, plain = build("train.optimizer=gradient_descent")
    values = []
    for model in (adam, plain):
        with tf1.Session(graph=model.graph) as session:
            session.run(model.init_op)
            values.append(session.run(list(model.weights)))
    for first, second in zip(*values):
        np.testing.assert_array_equal(first, second)


def test_two_builds_in_one_process_are_independent():
    _, first = build("model.hidden_units=[3]")
    _, second = build("model.hidden_units=[8, 8]")
    assert first.graph is not second.graph
    assert first.graph is not tf1.get_default_graph()
    assert len(first.weights) == 2
    assert len(second.weights) == 3
    assert first.weights[0].name == second.weights[0].name


def test_optimizer_slot_variables_are_initialized():
    _, model = build("train.optimizer=adam")
    with model.graph.as_default():
        report = tf1.report_uninitialized_variables()
    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        uninitialized = session.run(report)
    assert any("Adam" in variable.name for variable in model.graph.get_collection("variables"))
    assert len(uninitialized) == 0
