"""Keras `Model.fit` on the benchmark network, with Keras' default compile settings.

It needs eager execution, so it runs in a process of its own (see bench/worker.py). The model
has the same layers, loss, L2 term and learning rate as the project and starts from the same
initial weights; Keras draws its own shuffles.
"""

import keras
import numpy as np

from config import Config
from data import Dataset


def build_keras_model(config: Config, n_features: int, n_classes: int) -> keras.Model:
    """Build and compile the dense network; Keras' L2(c) adds c * sum(w^2), so c = l2 / 2."""
    regularizer = keras.regularizers.L2(config.model.l2 / 2)
    layers = [keras.Input((n_features,))]
    for units in config.model.hidden_units:
        layers.append(keras.layers.Dense(units, activation=config.model.activation, kernel_regularizer=regularizer))
    layers.append(keras.layers.Dense(n_classes, kernel_regularizer=regularizer))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=config.train.learning_rate), loss="mse")
    return model


def set_parameters(model: keras.Model, weights: list, biases: list) -> None:
    model.set_weights([array for pair in zip(weights, biases) for array in pair])


def fit_model(model: keras.Model, dataset: Dataset, config: Config, batch_size: int) -> None:
    model.fit(dataset.x_train, dataset.y_train, batch_size=batch_size, epochs=config.train.epochs,
              shuffle=True, verbose=0)


def test_accuracy(model: keras.Model, dataset: Dataset) -> float:
    outputs = model.predict(dataset.x_test, batch_size=len(dataset.x_test), verbose=0)
    return float(np.mean(outputs.argmax(axis=1) == dataset.labels_test))
