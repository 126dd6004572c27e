"""A dense sigmoid network trained by gradient descent with backpropagation written by hand in NumPy.

It computes what the project's graph computes for `model.activation=sigmoid`, `model.loss=mse`
and `train.optimizer=gradient_descent`: the same loss terms, batches and epoch shuffles, in
float32, so that from the same initial weights it follows the same path up to rounding.
"""

import numpy as np

HISTORY_KEYS = ("loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def forward(weights: list, biases: list, x: np.ndarray) -> list[np.ndarray]:
    """Return the activations of every layer, input first; the last one is the linear output."""
    activations = [x]
    for w, b in zip(weights[:-1], biases[:-1]):
        activations.append(sigmoid(activations[-1] @ w + b))
    activations.append(activations[-1] @ weights[-1] + biases[-1])
    return activations


def loss_terms(weights: list, outputs: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, float, float]:
    """Return (loss, data_loss, l2_loss): mean squared error plus l2 * sum(w^2) / 2."""
    data_loss = float(np.mean(np.square(outputs - y)))
    l2_loss = float(l2 * sum(np.sum(np.square(w)) for w in weights) / 2)
    return data_loss + l2_loss, data_loss, l2_loss


def gradients(weights: list, biases: list, x: np.ndarray, y: np.ndarray, l2: float) -> tuple[list, list]:
    """Return the gradients of the total loss with respect to every weight matrix and bias."""
    activations = forward(weights, biases, x)
    delta = 2.0 * (activations[-1] - y) / y.size  # d(mean squared error) / d(outputs)
    weight_gradients, bias_gradients = [], []
    for layer in range(len(weights) - 1, -1, -1):
        weight_gradients.append(activations[layer].T @ delta + l2 * weights[layer])
        bias_gradients.append(delta.sum(axis=0))
        if layer > 0:
            hidden = activations[layer]
            delta = (delta @ weights[layer].T) * hidden * (1.0 - hidden)  # sigmoid' = s (1 - s)
    return weight_gradients[::-1], bias_gradients[::-1]


def accuracy(outputs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(outputs.argmax(axis=1) == y.argmax(axis=1)))


def epoch_metrics(weights: list, biases: list, train: tuple, test: tuple, l2: float) -> dict:
    """Return the history metrics of the project's epoch row on the train and test rows."""
    outputs = forward(weights, biases, train[0])[-1]
    loss, data_loss, l2_loss = loss_terms(weights, outputs, train[1], l2)
    test_outputs = forward(weights, biases, test[0])[-1]
    return {"loss": loss, "data_loss": data_loss, "l2_loss": l2_loss,
            "train_accuracy": accuracy(outputs, train[1]), "test_accuracy": accuracy(test_outputs, test[1])}


def epoch_batches(n_rows: int, batch_size: int, seed: int, epoch: int):
    """Yield the row indices of each batch; the order is the project's epoch shuffle."""
    if batch_size >= n_rows:
        yield slice(None)  # one batch of every row: the order cannot change the update
        return
    order = np.random.default_rng([seed, epoch]).permutation(n_rows)
    for start in range(0, n_rows, batch_size):
        yield order[start:start + batch_size]


def train(weights: list, biases: list, train_rows: tuple, test_rows: tuple, epochs: int, batch_size: int,
          learning_rate: float, l2: float, seed: int) -> list[dict]:
    """Train copies of the given parameters and return one history row per epoch."""
    weights = [np.array(w, dtype=np.float32) for w in weights]
    biases = [np.array(b, dtype=np.float32) for b in biases]
    x, y = train_rows
    history = []
    for epoch in range(1, epochs + 1):
        for rows in epoch_batches(len(x), batch_size, seed, epoch):
            weight_gradients, bias_gradients = gradients(weights, biases, x[rows], y[rows], l2)
            for parameter, gradient in zip(weights + biases, weight_gradients + bias_gradients):
                parameter -= learning_rate * gradient
        history.append({"epoch": epoch, **epoch_metrics(weights, biases, train_rows, test_rows, l2)})
    return history
