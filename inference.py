"""Restore a trained run's network, in a Session of its own, to score raw feature rows."""

import numpy as np
import tensorflow as tf

from config import Config
from model import build_model
from runs import ModelInfo
from training import check_checkpoint_matches, session_config

tf1 = tf.compat.v1


def scale_features(raw: np.ndarray, info: ModelInfo) -> np.ndarray:
    """Scale raw rows as the run's MinMaxScaler did: multiply by scale, add min, in float64.

    The order of operations and the float64 arithmetic match scikit-learn's transform, so the
    scaled rows are the float32 values the network saw during training.
    """
    return (raw * info.scaler_scale + info.scaler_min).astype(np.float32)


class Predictor:
    """Rebuild the graph from a run's config, restore its checkpoint and score rows."""

    def __init__(self, config: Config, info: ModelInfo):
        self.info = info
        self.model = build_model(config.model, config.train, len(info.feature_names), len(info.class_names),
                                 info.n_train, config.seed)
        self.model.graph.finalize()
        check_checkpoint_matches(str(info.checkpoint), self.model)
        self.session = tf1.Session(graph=self.model.graph, config=session_config())
        self.model.checkpoint.saver.restore(self.session, str(info.checkpoint))

    def __enter__(self) -> "Predictor":
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.close()

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Return the softmax of the network's outputs for raw (unscaled) rows, [n_rows, n_classes]."""
        return self.session.run(self.model.probabilities, {self.model.features: scale_features(raw, self.info)})
