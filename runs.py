"""The run folder: the one place that creates runs/<name>/ and writes its files.

Every file is written to a temporary name in the same folder and renamed into place, so a crash
never leaves a half-written file, and a new run never reuses or overwrites an earlier folder.
TensorFlow writes the checkpoints (the Saver renames its files into place too) and appends to
the TensorBoard event files itself. Only `--resume` writes into an existing run folder.

A run folder contains config.yaml, history.csv, metrics.json, curves.png, model.json (what
prediction needs besides the weights), checkpoints/ and TensorBoard event files.
"""

import csv
import io
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from config import Config, dump_config
from data import Dataset
from errors import InputError
from training import HISTORY_COLUMNS, VALIDATION_COLUMNS, Trainer, history_columns

tf1 = tf.compat.v1

DEFAULT_RUNS_DIR = Path("runs")
CHECKPOINT_DIR = "checkpoints"  # epoch-<N>: the latest few training states; best-<N>: the best state
MODEL_INFO = "model.json"
CURVES = "curves.png"


def create_run_dir(runs_dir: Path, name: str | None, label: str) -> Path:
    """Create and return a new run folder; a chosen name that exists is an error, never reused.

    Without `name` the folder is `<date>-<time>-<label>`, with a counter added if that exists.
    """
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create runs folder {runs_dir}: {error.strerror}; choose another --runs-dir") from None
    if name is not None:
        if not name or "/" in name or name in (".", ".."):
            raise InputError(f"invalid run name {name!r}: use a plain folder name such as adam-lr0.01")
        path = runs_dir / name
        try:
            path.mkdir()
        except FileExistsError:
            raise InputError(f"run folder {path} already exists; choose another --name") from None
        return path

    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}"
    for attempt in range(1, 1000):
        path = runs_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise InputError(f"too many runs named {stem}* in {runs_dir}; pass --name")


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a temporary path in the same folder, then rename it to `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual file mode
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` through a temporary file and a rename."""
    replace_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8", newline=""))


def save_figure(path: Path, figure) -> None:
    """Save a matplotlib figure to `path` (format from the suffix) through a temporary file."""
    replace_atomically(path, lambda temporary: figure.savefig(temporary, format=path.suffix.lstrip(".")))


def write_config(run_dir: Path, config: Config) -> None:
    write_atomic(run_dir / "config.yaml", dump_config(config))


def write_history(run_dir: Path, history: list[dict]) -> None:
    columns = history_columns(history)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({key: _format_number(record[key]) for key in columns})
    write_atomic(run_dir / "history.csv", buffer.getvalue())


def _format_number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.9g}"


def write_metrics(run_dir: Path, metrics: dict) -> None:
    write_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")


def write_curves(run_dir: Path, figure) -> None:
    save_figure(run_dir / CURVES, figure)


def open_event_writer(run_dir: Path, graph: tf.Graph) -> tf1.summary.FileWriter:
    """Open a TensorBoard writer that adds a new event file to the run folder."""
    return tf1.summary.FileWriter(str(run_dir), graph=graph, flush_secs=10)


# Reading a run folder back, for predict.py and train.py --resume.

def require_run_files(run_dir: Path, names: Sequence[str]) -> None:
    """Raise InputError unless `run_dir` is a folder that contains every file in `names`."""
    if not run_dir.is_dir():
        raise InputError(f"run folder not found: {run_dir}; pass a folder under runs/")
    for name in names:
        if not (run_dir / name).is_file():
            raise InputError(f"incomplete run folder {run_dir}: {name} is missing; "
                             f"the run probably stopped before its first checkpoint, so train it again")


def read_history(run_dir: Path) -> list[dict]:
    """Read history.csv back into rows of numbers, checking that epochs run 1, 2, 3 ..."""
    path = run_dir / "history.csv"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    history = []
    for number, row in enumerate(rows, start=1):
        columns = HISTORY_COLUMNS + tuple(name for name in VALIDATION_COLUMNS if name in row)
        try:
            record = {name: float(row[name]) for name in columns}
        except (KeyError, TypeError, ValueError):
            raise InputError(f"invalid {path}: row {number} lacks a number in one of {', '.join(columns)}") from None
        record["epoch"] = int(record["epoch"])
        if record["epoch"] != number:
            raise InputError(f"invalid {path}: row {number} is epoch {record['epoch']}, expected {number}")
        history.append(record)
    return history


# Checkpoints: TensorFlow Saver files under checkpoints/, named by epoch.

def _checkpoint_prefix(run_dir: Path, kind: str, epoch: int) -> Path:
    directory = run_dir / CHECKPOINT_DIR
    directory.mkdir(exist_ok=True)
    return directory / f"{kind}-{epoch}"


def save_checkpoint(run_dir: Path, trainer: Trainer, epoch: int) -> Path:
    """Save the training state as checkpoints/epoch-<epoch>, rotating out the oldest."""
    return Path(trainer.save_checkpoint(str(_checkpoint_prefix(run_dir, "epoch", epoch))))


def save_best_checkpoint(run_dir: Path, trainer: Trainer, epoch: int) -> Path:
    """Save the best copy of the training state as checkpoints/best-<epoch>."""
    return Path(trainer.save_best(str(_checkpoint_prefix(run_dir, "best", epoch))))


def best_checkpoint(run_dir: Path, epoch: int) -> Path:
    return run_dir / CHECKPOINT_DIR / f"best-{epoch}"


def remove_best_checkpoints(run_dir: Path, keep_epoch: int) -> None:
    """Delete the files of every best-<N> checkpoint except best-<keep_epoch>."""
    for index in (run_dir / CHECKPOINT_DIR).glob("best-*.index"):
        prefix = index.with_suffix("")
        if prefix.name != f"best-{keep_epoch}":
            for path in prefix.parent.glob(prefix.name + ".*"):
                path.unlink(missing_ok=True)


def checkpoint_exists(prefix: Path) -> bool:
    return prefix.with_name(prefix.name + ".index").is_file()


@dataclass(frozen=True)
class CheckpointState:
    """The latest checkpoint of a run and every one still kept, oldest first."""

    latest: Path
    epoch: int
    kept: tuple[Path, ...]


def latest_checkpoint(run_dir: Path) -> CheckpointState:
    """Read the Saver's state file in checkpoints/; raise InputError if there is no checkpoint."""
    directory = run_dir / CHECKPOINT_DIR
    state = tf1.train.get_checkpoint_state(str(directory)) if directory.is_dir() else None
    if state is None or not state.model_checkpoint_path:
        raise InputError(f"no checkpoint in {directory}; the run stopped before saving one, so train it again")
    latest = Path(state.model_checkpoint_path)
    match = re.fullmatch(r"epoch-(\d+)", latest.name)
    if match is None or not checkpoint_exists(latest):
        raise InputError(f"invalid checkpoint state in {directory}: {latest.name} is not a saved epoch-<N> checkpoint")
    kept = tuple(Path(path) for path in state.all_model_checkpoint_paths if checkpoint_exists(Path(path)))
    return CheckpointState(latest=latest, epoch=int(match.group(1)), kept=kept)


# model.json: what prediction needs besides the weights, in plain JSON.

@dataclass(frozen=True)
class ModelInfo:
    checkpoint: Path  # prefix of the Saver files that prediction restores
    epoch: int  # the epoch whose weights the checkpoint contains
    n_train: int  # training rows, which size the training ops of the rebuilt graph
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    scaler_min: np.ndarray  # scaled = raw * scaler_scale + scaler_min, per feature, float64
    scaler_scale: np.ndarray


def write_model_info(run_dir: Path, dataset: Dataset, checkpoint: Path, epoch: int) -> None:
    info = {
        "checkpoint": checkpoint.relative_to(run_dir).as_posix(),
        "epoch": epoch,
        "n_train": len(dataset.x_train),
        "feature_names": list(dataset.feature_names),
        "class_names": list(dataset.class_names),
        "scaler_min": dataset.scaler_min.tolist(),
        "scaler_scale": dataset.scaler_scale.tolist(),
    }
    write_atomic(run_dir / MODEL_INFO, json.dumps(info, indent=2) + "\n")


def read_model_info(run_dir: Path, require_checkpoint: bool = True) -> ModelInfo:
    """Read and check model.json; raise InputError naming what is missing or wrong."""
    path = run_dir / MODEL_INFO
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        info = ModelInfo(
            checkpoint=run_dir / str(raw["checkpoint"]),
            epoch=int(raw["epoch"]),
            n_train=int(raw["n_train"]),
            feature_names=tuple(str(name) for name in raw["feature_names"]),
            class_names=tuple(str(name) for name in raw["class_names"]),
            scaler_min=np.asarray(raw["scaler_min"], dtype=np.float64),
            scaler_scale=np.asarray(raw["scaler_scale"], dtype=np.float64),
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"invalid {path}: {type(error).__name__} {error}; train the run again") from None
    n_features = len(info.feature_names)
    if info.scaler_min.shape != (n_features,) or info.scaler_scale.shape != (n_features,):
        raise InputError(f"invalid {path}: the scaler has {info.scaler_min.size} values for {n_features} features")
    if require_checkpoint and not checkpoint_exists(info.checkpoint):
        raise InputError(f"incomplete run folder {run_dir}: checkpoint {info.checkpoint.name} named in {MODEL_INFO} "
                         f"is missing from {CHECKPOINT_DIR}/")
    return info
