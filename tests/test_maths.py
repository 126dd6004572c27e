"""Tests that the TensorFlow graph computes the loss, gradient and updates its formulas define.

All tests run the project's own graph (model.build_model, training.Trainer). Oracle tests compare
TensorFlow's loss and gradient with NumPy, by hand for the linear model and by central finite
differences for the network. Rule tests recompute optimiser steps from their update formulas.
Behaviour tests check convergence to the ridge solution, divergence above the 2/L learning rate
bound, and the effect of model.l2. docs/gradient-descent.md derives the formulas used here.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from config import OPTIMIZER_OPTIONS, resolve_config
from data import load_dataset
from model import build_model
from training import DivergedError, Trainer, fit

tf1 = tf.compat.v1

PROJECT_DIR = Path(__file__).resolve().parent.parent
OPTIMIZERS = tuple(OPTIMIZER_OPTIONS)
RIDGE_L2 = 0.01  # makes the linear loss's Hessian well conditioned on Iris (condition number about 114)


@pytest.fixture(scope="module")
def iris():
    """The default Iris split: 120 training rows, 4 features scaled to [0, 1], 3 classes."""
    config = resolve_config()
    return load_dataset(config.data, config.seed)


# NumPy references.

def linear_loss_and_gradient(x, y, weights, biases, l2):
    """Return the loss of the linear model and its gradient with respect to weights and biases.

    loss = sum((x W + b - y)^2) / (m K) + l2 * sum(W^2) / 2, with m rows and K classes.
    """
    m, k = y.shape
    residual = x @ weights + biases - y
    loss = np.sum(residual ** 2) / (m * k) + l2 * np.sum(weights ** 2) / 2
    grad_weights = 2 / (m * k) * x.T @ residual + l2 * weights
    grad_biases = 2 / (m * k) * residual.sum(axis=0)
    return loss, grad_weights, grad_biases


def ridge_hessian(x, n_classes, l2):
    """Return the Hessian of the linear loss for one class's column [w_k; b_k].

    The loss is a sum of one such quadratic per class, so the full Hessian is this matrix
    repeated K times on the diagonal and has the same eigenvalues.
    """
    m, n = x.shape
    augmented = np.hstack([x, np.ones((m, 1))])
    penalty = np.diag([1.0] * n + [0.0])  # biases are not penalised
    return 2 / (m * n_classes) * augmented.T @ augmented + l2 * penalty


def ridge_solution(x, y, l2):
    """Solve the normal equations H theta = 2/(m K) [x 1]^T y for the weights and biases."""
    m, n = x.shape
    k = y.shape[1]
    augmented = np.hstack([x, np.ones((m, 1))])
    theta = np.linalg.solve(ridge_hessian(x, k, l2), 2 / (m * k) * augmented.T @ y)
    return theta[:n], theta[n]


def largest_curvature(x, n_classes, l2):
    """Return L, the largest eigenvalue of the linear loss's Hessian."""
    return float(np.linalg.eigvalsh(ridge_hessian(x, n_classes, l2))[-1])


# Helpers that run the project's graph.

def build(config, dataset, dtype=tf.float32):
    return build_model(config.model, config.train, dataset.n_features, dataset.n_classes,
                       len(dataset.x_train), config.seed, dtype)


def load_parameters(session, model, weights, biases):
    for variable, value in zip(model.weights + model.biases, list(weights) + list(biases)):
        variable.load(value, session)


def random_parameters(model, seed):
    """Draw weights and nonzero biases in [-1, 1] matching the model's variable shapes."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, w.shape.as_list()) for w in model.weights]
    biases = [rng.uniform(-1, 1, b.shape.as_list()) for b in model.biases]
    return weights, biases


def linear_parameters(trainer):
    weights, biases = trainer.session.run([trainer.model.weights[0], trainer.model.biases[0]])
    return weights.astype(np.float64), biases.astype(np.float64)


# Oracle tests: the gradient.

@pytest.mark.parametrize("dtype, rtol, atol", [
    pytest.param(tf.float32, 2e-5, 1e-6, id="float32"),
    pytest.param(tf.float64, 1e-12, 1e-14, id="float64"),
])
def test_linear_gradient_matches_hand_formula(iris, dtype, rtol, atol):
    l2 = 0.05
    config = resolve_config(None, ["model.hidden_units=[]", "model.loss=mse", f"model.l2={l2}"])
    model = build(config, iris, dtype)
    with model.graph.as_default():
        gradients = tf.gradients(model.terms.loss, [model.weights[0], model.biases[0]])
    weights, biases = random_parameters(model, seed=1)
    x, y = iris.x_train.astype(np.float64), iris.y_train.astype(np.float64)

    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        load_parameters(session, model, weights, biases)
        feed = {model.features: x, model.labels: y}
        loss, l2_loss, (grad_weights, grad_biases) = session.run(
            [model.terms.loss, model.terms.l2_loss, gradients], feed)

    expected_loss, expected_weights, expected_biases = linear_loss_and_gradient(x, y, weights[0], biases[0], l2)
    np.testing.assert_allclose(l2_loss, l2 * np.sum(weights[0] ** 2) / 2, rtol=rtol)
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)
    np.testing.assert_allclose(grad_weights, expected_weights, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad_biases, expected_biases, rtol=rtol, atol=atol)


def finite_difference_gradient(loss_at, values, step=1e-6):
    """Return the central differences (J(v + h e_i) - J(v - h e_i)) / 2h for every entry of every array."""
    gradient = []
    for array in values:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + step
            above = loss_at(values)
            array[index] = saved - step
            below = loss_at(values)
            array[index] = saved
            grad[index] = (above - below) / (2 * step)
        gradient.append(grad)
    return gradient


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_network_gradient_matches_finite_differences(iris, activation, loss):
    config = resolve_config(None, ["model.hidden_units=[5, 4]", f"model.activation={activation}",
                                   f"model.loss={loss}", "model.l2=0.05"])
    model = build(config, iris, tf.float64)
    variables = list(model.weights + model.biases)
    with model.graph.as_default():
        gradients = tf.gradients(model.terms.loss, variables)
    weights, biases = random_parameters(model, seed=2)
    values = weights + biases
    feed = {model.features: iris.x_train[:30].astype(np.float64),
            model.labels: iris.y_train[:30].astype(np.float64)}

    with tf1.Session(graph=model.graph) as session:
        session.run(model.init_op)
        load_parameters(session, model, weights, biases)
        tf_gradient = session.run(gradients, feed)

        def loss_at(current):
            load_parameters(session, model, current[:len(weights)], current[len(weights):])
            return session.run(model.terms.loss, feed)

        numeric_gradient = finite_difference_gradient(loss_at, values)

    # Central differences with h = 1e-6 in float64 err by about h^2 (truncation) plus 1e-16 / h
    # (rounding). The error measured here stays below 5e-10, so a wrong term of the gradient fails.
    for variable, computed, numeric in zip(variables, tf_gradient, numeric_gradient):
        np.testing.assert_allclose(computed, numeric, rtol=1e-6, atol=1e-8, err_msg=variable.name)
    assert max(np.abs(g).max() for g in tf_gradient) > 1e-3  # the check compares real slopes, not zeros


# Rule tests: one update at a time, recomputed from the optimiser's formula.

def gradient_descent_update(w, g, slots, t, lr):
    return w - lr * g


def momentum_update(w, g, slots, t, lr, momentum, use_nesterov):
    assert not use_nesterov, "the formula below is plain (heavy-ball) momentum"
    slots["accumulation"] = momentum * slots.get("accumulation", 0.0) + g
    return w - lr * slots["accumulation"]


def adagrad_update(w, g, slots, t, lr, initial_accumulator_value):
    slots["accumulator"] = slots.get("accumulator", initial_accumulator_value) + g ** 2
    return w - lr * g / np.sqrt(slots["accumulator"])


def rmsprop_update(w, g, slots, t, lr, decay, momentum, epsilon, centered):
    assert not centered, "the formula below is uncentred RMSProp"
    # tf.compat.v1.train.RMSPropOptimizer (TensorFlow 2.21) starts the mean square at 1, not 0,
    # and puts epsilon inside the root.
    slots["mean_square"] = decay * slots.get("mean_square", 1.0) + (1 - decay) * g ** 2
    slots["momentum"] = momentum * slots.get("momentum", 0.0) + lr * g / np.sqrt(slots["mean_square"] + epsilon)
    return w - slots["momentum"]


def adam_update(w, g, slots, t, lr, beta1, beta2, epsilon):
    # tf.compat.v1.train.AdamOptimizer folds the bias corrections into the step size and adds
    # epsilon after the root.
    slots["m"] = beta1 * slots.get("m", 0.0) + (1 - beta1) * g
    slots["v"] = beta2 * slots.get("v", 0.0) + (1 - beta2) * g ** 2
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    return w - lr_t * slots["m"] / (np.sqrt(slots["v"]) + epsilon)


UPDATE_RULES = {
    "gradient_descent": gradient_descent_update,
    "momentum": momentum_update,
    "adagrad": adagrad_update,
    "rmsprop": rmsprop_update,
    "adam": adam_update,
}


def test_every_optimizer_has_an_update_rule():
    assert set(UPDATE_RULES) == set(OPTIMIZERS)


# TensorFlow steps in float32. Adam divides by sqrt(v), which enlarges the gradient's rounding
# error where an entry is near zero (measured up to 1e-6 after three steps). Each wrong variant
# tried (epsilon moved, state started at 0, no bias correction) moves some weight by 0.02 or more.
STEP_ATOL = 1e-5


def optimizer_case(name, **changed):
    label = ",".join(f"{key}={value}" for key, value in changed.items()) or "defaults"
    return pytest.param(name, changed, id=f"{name}-{label}")


# The project's defaults for every optimiser, then options large enough to change the step. With
# the default epsilons, RMSProp with epsilon outside the root and Adam with the bias-corrected
# textbook step differ from TensorFlow's by about 1e-11 and 1e-6, within STEP_ATOL.
OPTIMIZER_CASES = [optimizer_case(name) for name in OPTIMIZERS] + [
    optimizer_case("momentum", momentum=0.5),
    optimizer_case("adagrad", initial_accumulator_value=1.0),
    optimizer_case("rmsprop", epsilon=0.5, momentum=0.5),
    optimizer_case("adam", epsilon=0.1, beta1=0.5),
]


@pytest.mark.parametrize("optimizer, changed", OPTIMIZER_CASES)
def test_optimizer_steps_match_update_formula(iris, optimizer, changed):
    lr, l2 = 0.1, 0.01
    config = resolve_config(None, ["model.hidden_units=[]", "model.loss=mse", f"model.l2={l2}",
                                   f"train.optimizer={optimizer}", f"train.learning_rate={lr}",
                                   "train.batch_size=full"]
                            + [f"train.optimizer_options.{key}={value}" for key, value in changed.items()])
    options = dict(config.train.optimizer_options)
    assert options == {**OPTIMIZER_OPTIONS[optimizer], **changed}
    update = UPDATE_RULES[optimizer]
    x, y = iris.x_train.astype(np.float64), iris.y_train.astype(np.float64)

    # Three steps, so the optimiser's state (momentum, accumulators, moments) takes part.
    with Trainer(config, iris) as trainer:
        weights, biases = linear_parameters(trainer)
        weight_slots, bias_slots = {}, {}
        for t in (1, 2, 3):
            _, grad_weights, grad_biases = linear_loss_and_gradient(x, y, weights, biases, l2)
            weights = update(weights, grad_weights, weight_slots, t, lr, **options)
            biases = update(biases, grad_biases, bias_slots, t, lr, **options)
            trainer.run_epoch(t)  # one batch of all rows, so one step per epoch
            tf_weights, tf_biases = linear_parameters(trainer)
            np.testing.assert_allclose(tf_weights, weights, rtol=1e-5, atol=STEP_ATOL, err_msg=f"weights, step {t}")
            np.testing.assert_allclose(tf_biases, biases, rtol=1e-5, atol=STEP_ATOL, err_msg=f"biases, step {t}")
        assert trainer.global_step() == 3


@pytest.mark.parametrize("batch_size", [1, 50, "full"])
def test_batch_size_sets_rows_per_step(iris, batch_size):
    lr, l2 = 0.1, 0.01
    config = resolve_config(None, ["model.hidden_units=[]", "model.loss=mse", f"model.l2={l2}",
                                   f"train.learning_rate={lr}", f"train.batch_size={batch_size}"])
    x, y = iris.x_train.astype(np.float64), iris.y_train.astype(np.float64)
    size = len(x) if batch_size == "full" else batch_size

    with Trainer(config, iris) as trainer:
        weights, biases = linear_parameters(trainer)
        # With 120 rows, a batch size of 50 gives steps of 50, 50 and 20 rows.
        order = trainer.epoch_order(1) if size < len(x) else np.arange(len(x))
        for start in range(0, len(x), size):
            rows = order[start:start + size]
            _, grad_weights, grad_biases = linear_loss_and_gradient(x[rows], y[rows], weights, biases, l2)
            weights, biases = weights - lr * grad_weights, biases - lr * grad_biases
        trainer.run_epoch(1)
        tf_weights, tf_biases = linear_parameters(trainer)
        assert trainer.global_step() == -(-len(x) // size)

    np.testing.assert_allclose(tf_weights, weights, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(tf_biases, biases, rtol=1e-5, atol=2e-6)


# Behaviour tests: where batch gradient descent ends up, and when it blows up.

def ridge_config(learning_rate, epochs=1):
    return resolve_config(None, ["model.hidden_units=[]", "model.loss=mse", f"model.l2={RIDGE_L2}",
                                 "train.optimizer=gradient_descent", "train.batch_size=full",
                                 f"train.learning_rate={learning_rate!r}", f"train.epochs={epochs}"])


def test_batch_descent_reaches_ridge_solution(iris):
    x, y = iris.x_train.astype(np.float64), iris.y_train.astype(np.float64)
    curvature = largest_curvature(x, iris.n_classes, RIDGE_L2)
    learning_rate = 1.9 / curvature  # just below the 2/L bound
    expected_weights, expected_biases = ridge_solution(x, y, RIDGE_L2)
    expected_loss, _, _ = linear_loss_and_gradient(x, y, expected_weights, expected_biases, RIDGE_L2)

    # The slowest direction shrinks by 1 - 1.9 * sigma_min / L per step (sigma_min is the Hessian's
    # smallest eigenvalue), about 0.983, so 1500 steps leave 1e-11 of the start. What remains is
    # float32 rounding, measured at 1.5e-6.
    with Trainer(ridge_config(learning_rate), iris) as trainer:
        history = fit(trainer, 1500)
        weights, biases = linear_parameters(trainer)

    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(biases, expected_biases, atol=1e-5)
    np.testing.assert_allclose(history[-1]["loss"], expected_loss, rtol=1e-5)
    losses = np.array([row["loss"] for row in history])
    assert np.all(np.diff(losses) <= 1e-7)  # below 2/L the loss of a quadratic never rises


def test_learning_rate_above_bound_diverges(iris):
    x = iris.x_train.astype(np.float64)
    curvature = largest_curvature(x, iris.n_classes, RIDGE_L2)
    learning_rate = 2.1 / curvature

    with Trainer(ridge_config(learning_rate), iris) as trainer:
        with pytest.raises(DivergedError) as raised:
            fit(trainer, 3000)

    error = raised.value
    assert error.learning_rate == learning_rate
    assert error.epoch == len(error.history) < 3000
    assert not np.isfinite(error.history[-1]["loss"])
    # Along the top eigenvector the error is multiplied by 1 - eta L = -1.1 per step, so the
    # loss grows by (eta L - 1)^2 = 1.21 per epoch once that direction dominates.
    losses = np.array([row["loss"] for row in error.history[-60:-10]])
    np.testing.assert_allclose(losses[1:] / losses[:-1], (2.1 - 1) ** 2, rtol=1e-4)


def test_train_script_reports_divergence(iris, tmp_path):
    x = iris.x_train.astype(np.float64)
    learning_rate = 4 / largest_curvature(x, iris.n_classes, RIDGE_L2)  # loss grows 9-fold per epoch
    config_file = tmp_path / "diverge.yaml"
    config_file.write_text(
        "model: {hidden_units: [], loss: mse, l2: %r}\n"
        "train: {optimizer: gradient_descent, batch_size: full, learning_rate: %r, epochs: 500, log_every: 500}\n"
        % (RIDGE_L2, learning_rate))
    with Trainer(resolve_config(config_file), iris) as trainer:
        with pytest.raises(DivergedError) as raised:
            fit(trainer, 500)

    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "train.py"), "--config", str(config_file),
         "--runs-dir", str(tmp_path / "runs"), "--name", "diverged"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"epoch {raised.value.epoch} " in lines[0]
    assert f"learning_rate {learning_rate:g}" in lines[0]
    assert (tmp_path / "runs" / "diverged" / "history.csv").is_file()


def test_larger_l2_gives_smaller_weights(iris):
    squared_norms = []
    for l2 in (0.0, 0.003, 0.03):
        config = resolve_config(None, ["model.hidden_units=[10]", "model.activation=sigmoid",
                                       "model.loss=mse", f"model.l2={l2}", "train.learning_rate=0.5"])
        with Trainer(config, iris) as trainer:
            for epoch in range(1, 301):
                trainer.run_epoch(epoch)
            weights = trainer.session.run(trainer.model.weights)
        squared_norms.append(sum(float(np.sum(w ** 2)) for w in weights))

    # The seed is the same, so the runs start from the same weights and differ only in the L2 term.
    assert squared_norms[0] > squared_norms[1] > squared_norms[2]
    assert squared_norms[2] < 0.8 * squared_norms[0]
