"""Save a run's resumable state, periodically and at the end, and find it again to resume.

A saved state is four files written in this order: history.csv, the best checkpoint (with
early stopping), the epoch checkpoint and model.json. The order keeps a folder resumable after
a crash between two of them. The history may then run ahead of the latest checkpoint, and
resuming drops the extra rows. An older best checkpoint is deleted only after a newer epoch
checkpoint exists.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import runs
from config import Config
from data import Dataset
from early_stopping import EarlyStopping
from errors import InputError
from training import Callback, Trainer


class RunSaver:
    """Write the state of one run folder: history, checkpoints and model.json."""

    def __init__(self, run_dir: Path, dataset: Dataset, early_stopping: EarlyStopping | None):
        self.run_dir = run_dir
        self.dataset = dataset
        self.early_stopping = early_stopping

    def save(self, trainer: Trainer, history: list[dict]) -> Path:
        """Save the state after the last epoch of `history`; return the checkpoint prediction uses."""
        epoch = history[-1]["epoch"]
        runs.write_history(self.run_dir, history)
        best_epoch = self.early_stopping.best_epoch if self.early_stopping else None
        if best_epoch is not None:
            best = runs.save_best_checkpoint(self.run_dir, trainer, best_epoch)
        latest = runs.save_checkpoint(self.run_dir, trainer, epoch)
        if best_epoch is None:
            runs.write_model_info(self.run_dir, self.dataset, latest, epoch)
            return latest
        runs.remove_best_checkpoints(self.run_dir, keep_epoch=best_epoch)
        runs.write_model_info(self.run_dir, self.dataset, best, best_epoch)
        return best


class PeriodicCheckpoint(Callback):
    """Save the run's state every `every` epochs; 0 turns it off."""

    def __init__(self, every: int, saver: RunSaver, history: Sequence[dict] = ()):
        self.every = every
        self.saver = saver
        self.history = list(history)  # the rows so far, because `fit` passes a callback one row at a time

    def needs_session(self, epoch: int) -> bool:
        return self.every > 0 and epoch % self.every == 0

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        self.history.append(record)
        if self.needs_session(record["epoch"]):
            self.saver.save(trainer, self.history)
        return False


@dataclass(frozen=True)
class ResumePoint:
    """The state a run continues from: latest checkpoint, history up to it and best checkpoint."""

    state: runs.CheckpointState
    history: list[dict]
    best_checkpoint: Path | None  # with early stopping, the saved state of the best epoch


def find_resume_point(run_dir: Path, config: Config, dataset: Dataset) -> ResumePoint:
    """Check that the run can continue with `config` and return where it continues from."""
    state = runs.latest_checkpoint(run_dir)
    history = runs.read_history(run_dir)
    if len(history) < state.epoch:
        raise InputError(f"cannot resume {run_dir}: history.csv ends at epoch {len(history)} but the latest "
                         f"checkpoint is at epoch {state.epoch}; the run folder was changed by hand")
    history = history[:state.epoch]
    if config.train.epochs <= state.epoch:
        raise InputError(f"run {run_dir} has already trained {state.epoch} epochs; to continue, pass "
                         f"--set train.epochs=N with N > {state.epoch}")
    check_same_data(run_dir, dataset)
    return ResumePoint(state=state, history=history, best_checkpoint=_best_checkpoint(run_dir, config, history))


def _best_checkpoint(run_dir: Path, config: Config, history: list[dict]) -> Path | None:
    settings = config.train.early_stopping
    if settings.patience == 0:
        return None
    replay = EarlyStopping(settings, history)
    if replay.stopped_epoch is not None:
        raise InputError(f"cannot resume {run_dir}: with train.early_stopping.patience={settings.patience} "
                         f"the run stops at epoch {replay.stopped_epoch}; to continue, set the patience above "
                         f"{replay.longest_wait}, the longest run of epochs without an improvement so far")
    best = runs.best_checkpoint(run_dir, replay.best_epoch)
    if not runs.checkpoint_exists(best):
        raise InputError(f"cannot resume {run_dir}: the checkpoint of the best epoch {replay.best_epoch} "
                         f"({best.name}) is missing, so early stopping cannot continue; start a new run")
    return best


def check_same_data(run_dir: Path, dataset: Dataset) -> None:
    """Raise InputError if the data set no longer matches the one the run was trained on."""
    if not (run_dir / runs.MODEL_INFO).is_file():
        return  # written with the first checkpoint; nothing to compare against before that
    info = runs.read_model_info(run_dir, require_checkpoint=False)
    saved = (info.feature_names, info.class_names, info.n_train)
    current = (dataset.feature_names, dataset.class_names, len(dataset.x_train))
    if saved != current:
        raise InputError(f"cannot resume {run_dir}: the data set has changed since the run started "
                         f"(features, classes, training rows: {saved} then, {current} now)")


def restore(trainer: Trainer, point: ResumePoint) -> None:
    """Load the resume point into a new trainer's session and check its global_step."""
    trainer.restore_checkpoint(str(point.state.latest))
    trainer.recover_checkpoints([str(path) for path in point.state.kept])
    if point.best_checkpoint is not None:
        trainer.restore_best_copy(str(point.best_checkpoint))
    expected = point.state.epoch * trainer.steps_per_epoch
    if trainer.global_step() != expected:
        raise InputError(f"invalid checkpoint {point.state.latest}: global_step is {trainer.global_step()}, "
                         f"expected {expected} for epoch {point.state.epoch}, so it does not belong to this run's "
                         f"config.yaml; start a new run")
