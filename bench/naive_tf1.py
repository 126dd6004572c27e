"""The naive TF1 training loop, kept as the benchmark's yardstick and not used by the product.

It trains the way graph-mode code of the article's era does: a default Session, the batch
sliced in Python and fed to one `sess.run(train_op, feed_dict)` per update, and the epoch's
metrics from two more fed `sess.run` calls. It builds the same network with the same seeded
initialisers as model.py, so from the same seed it starts from the same weights.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bench.numpy_reference import epoch_batches
from config import Config
from data import Dataset

tf1 = tf.compat.v1


@dataclass(frozen=True)
class NaiveGraph:
    graph: tf.Graph
    features: tf.Tensor
    labels: tf.Tensor
    metrics: list  # loss, data_loss, l2_loss, accuracy on the fed rows
    train_op: tf.Operation
    init_op: tf.Operation
    weights: list
    biases: list


def check_supported(config: Config) -> None:
    model, train = config.model, config.train
    if (model.activation, model.loss, train.optimizer) != ("sigmoid", "mse", "gradient_descent"):
        raise ValueError("the naive loop implements sigmoid layers, mse and gradient_descent only")


def build_naive_graph(config: Config, n_features: int, n_classes: int) -> NaiveGraph:
    """Build a dense sigmoid network, its mse + L2 loss and a gradient descent train_op."""
    check_supported(config)
    graph = tf.Graph()
    graph.seed = config.seed
    with graph.as_default():
        features = tf1.placeholder(tf.float32, [None, n_features])
        labels = tf1.placeholder(tf.float32, [None, n_classes])
        widths = [n_features, *config.model.hidden_units, n_classes]
        weights, biases, layer_output = [], [], features
        for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            init = tf1.glorot_uniform_initializer(seed=config.seed + layer)
            weights.append(tf1.get_variable(f"layer{layer}/weights", [fan_in, fan_out], initializer=init))
            biases.append(tf1.get_variable(f"layer{layer}/biases", [fan_out], initializer=tf1.zeros_initializer()))
            layer_output = tf.matmul(layer_output, weights[-1]) + biases[-1]
            if layer < len(widths) - 1:
                layer_output = tf.sigmoid(layer_output)

        data_loss = tf.reduce_mean(tf.square(layer_output - labels))
        l2_loss = config.model.l2 * tf.add_n([tf.nn.l2_loss(w) for w in weights])
        loss = data_loss + l2_loss
        hits = tf.equal(tf.argmax(layer_output, axis=1), tf.argmax(labels, axis=1))
        accuracy = tf.reduce_mean(tf.cast(hits, tf.float32))
        train_op = tf1.train.GradientDescentOptimizer(config.train.learning_rate).minimize(loss)
        init_op = tf1.global_variables_initializer()
    return NaiveGraph(graph=graph, features=features, labels=labels, metrics=[loss, data_loss, l2_loss, accuracy],
                      train_op=train_op, init_op=init_op, weights=weights, biases=biases)


def train_naive(session: tf1.Session, naive: NaiveGraph, dataset: Dataset, config: Config,
                batch_size: int) -> list[dict]:
    """Train `config.train.epochs` epochs from the session's current weights; return the history."""
    x, y = dataset.x_train, dataset.y_train
    history = []
    for epoch in range(1, config.train.epochs + 1):
        for rows in epoch_batches(len(x), batch_size, config.seed, epoch):
            session.run(naive.train_op, {naive.features: x[rows], naive.labels: y[rows]})
        loss, data_loss, l2_loss, train_accuracy = session.run(naive.metrics, {naive.features: x, naive.labels: y})
        test_accuracy = session.run(naive.metrics[3], {naive.features: dataset.x_test, naive.labels: dataset.y_test})
        history.append({"epoch": epoch, "loss": float(loss), "data_loss": float(data_loss),
                        "l2_loss": float(l2_loss), "train_accuracy": float(train_accuracy),
                        "test_accuracy": float(test_accuracy)})
    return history


def initial_parameters(session: tf1.Session, naive: NaiveGraph) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return session.run(naive.weights), session.run(naive.biases)
