"""scikit-learn's MLPClassifier set up as close to the benchmark network as it allows.

Same layers, logistic (sigmoid) activation, plain SGD with the same learning rate, batch size
and number of epochs. Its output layer is softmax with log-loss (MLPClassifier offers no
squared error), and it draws its own initial weights and shuffles from `random_state`.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from config import Config
from data import Dataset


def make_classifier(config: Config, batch_size: int) -> MLPClassifier:
    """Return an unfitted classifier that trains exactly `config.train.epochs` epochs."""
    epochs = config.train.epochs
    return MLPClassifier(
        hidden_layer_sizes=config.model.hidden_units, activation="logistic", solver="sgd",
        learning_rate="constant", learning_rate_init=config.train.learning_rate,
        momentum=0.0, nesterovs_momentum=False,
        # MLPClassifier divides alpha by the batch size, so this gives the same L2 gradient, l2 * w.
        alpha=config.model.l2 * batch_size,
        batch_size=batch_size, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,  # tol=0: no early end
        shuffle=True, random_state=config.seed, early_stopping=False,
    )


def fit_classifier(classifier: MLPClassifier, dataset: Dataset) -> MLPClassifier:
    with warnings.catch_warnings():
        # max_iter is reached on purpose, which MLPClassifier reports as a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return classifier.fit(dataset.x_train, dataset.labels_train)


def test_accuracy(classifier: MLPClassifier, dataset: Dataset) -> float:
    return float(np.mean(classifier.predict(dataset.x_test) == dataset.labels_test))
