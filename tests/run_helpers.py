"""Helpers for tests that train small runs and read their folders back."""

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf

import runner
from config import resolve_config
from data import load_dataset
from resume import resolve_resume_config

# Adam on mini-batches, so that a checkpoint must carry the moments, beta powers and global_step.
SMALL_RUN = ("train.optimizer=adam", "train.learning_rate=0.02", "train.batch_size=16", "train.log_every=3")


def train(runs_dir: Path, name: str, *overrides: str) -> tuple[int, Path]:
    """Train a new run named `name` with SMALL_RUN plus `overrides`; return its status and folder."""
    config = resolve_config(None, SMALL_RUN + overrides)
    return runner.train_new_run(config, load_dataset(config.data, config.seed), runs_dir, name)


def resume(run_dir: Path, *overrides: str) -> int:
    config = resolve_resume_config(run_dir, overrides)
    return runner.resume_run(run_dir, config, load_dataset(config.data, config.seed))


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def history_without_seconds(run_dir: Path) -> list[dict]:
    rows = read_csv(run_dir / "history.csv")
    for row in rows:
        del row["seconds"]
    return rows


def checkpoint_tensors(prefix: Path) -> dict[str, np.ndarray]:
    """Read every tensor of a Saver checkpoint by its variable name."""
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def latest_prefix(run_dir: Path) -> Path:
    return Path(tf.compat.v1.train.latest_checkpoint(str(run_dir / "checkpoints")))
