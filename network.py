"""The dense network and what is computed from its outputs: the loss terms and the accuracy."""

from dataclasses import dataclass

import tensorflow as tf

from config import ModelConfig

tf1 = tf.compat.v1

ACTIVATION_FUNCTIONS = {"sigmoid": tf.sigmoid, "tanh": tf.tanh, "relu": tf.nn.relu}


@dataclass(frozen=True)
class LossTerms:
    """The three logged terms: loss = data_loss + l2_loss."""

    data_loss: tf.Tensor
    l2_loss: tf.Tensor
    loss: tf.Tensor


class Network:
    """Dense layers whose variables are created once and applied to any input tensor."""

    def __init__(self, config: ModelConfig, n_features: int, n_classes: int, seed: int,
                 dtype: tf.DType = tf.float32):
        widths = [n_features, *config.hidden_units, n_classes]
        self.activation = ACTIVATION_FUNCTIONS[config.activation]
        self.weights, self.biases = [], []
        for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            # Seeded per layer, so every optimiser starts from the same weights for one seed.
            init = tf1.glorot_uniform_initializer(seed=seed + layer)
            self.weights.append(tf1.get_variable(f"layer{layer}/weights", [fan_in, fan_out], dtype,
                                                 initializer=init))
            self.biases.append(tf1.get_variable(f"layer{layer}/biases", [fan_out], dtype,
                                                initializer=tf1.zeros_initializer()))

    def __call__(self, x: tf.Tensor, parameters: tuple | None = None) -> tf.Tensor:
        """Apply the layers to x, with the variables or with `parameters` from `read()`."""
        weights, biases = parameters or (self.weights, self.biases)
        for layer_weights, layer_biases in zip(weights[:-1], biases[:-1]):
            x = self.activation(tf.nn.bias_add(tf.matmul(x, layer_weights), layer_biases))
        return tf.nn.bias_add(tf.matmul(x, weights[-1]), biases[-1])

    def read(self) -> tuple[list, list]:
        """Return one read of every weight and bias, to share among their uses.

        Each use of a variable itself adds a read op that runs at every step.
        """
        return [w.value() for w in self.weights], [b.value() for b in self.biases]


def loss_terms(outputs: tf.Tensor, labels: tf.Tensor, weights: list, config: ModelConfig) -> LossTerms:
    """Build data loss, L2 term and total loss for the given outputs and one-hot labels.

    mse: the mean over rows and classes of (y-hat - y)^2. cross_entropy: the mean over rows
    of the softmax cross-entropy of the outputs. The L2 term is l2 * sum(w^2) / 2 over all
    weight matrices (tf.nn.l2_loss), biases excluded.
    """
    if config.loss == "mse":
        data_loss = tf.reduce_mean(tf.square(outputs - labels))
    else:
        data_loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=outputs))
    l2_loss = config.l2 * tf.add_n([tf.nn.l2_loss(w) for w in weights])
    return LossTerms(data_loss=data_loss, l2_loss=l2_loss, loss=data_loss + l2_loss)


def accuracy_of(outputs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return class_accuracy(outputs, tf.argmax(labels, axis=1))


def class_accuracy(outputs: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """Return the share of rows whose largest output is at the index in `classes` (int64)."""
    hits = tf.equal(tf.argmax(outputs, axis=1), classes)
    return tf.reduce_mean(tf.cast(hits, outputs.dtype))  # the dtype of the loss, so the metrics stack
