"""Settings of `train.py --resume`: which ones a continued run may change.

A resumed run must end where an uninterrupted run with the same settings would. So only the
settings that affect neither the weights nor the history may change: the number of epochs,
logging, checkpointing and the early-stopping patience. A new patience is checked against the
history when the checkpoint is loaded.
"""

from pathlib import Path
from typing import Any, Mapping, Sequence

from config import Config, config_to_dict, resolve_config
from errors import InputError

RESUMABLE_SETTINGS = ("train.epochs", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
                      "train.early_stopping.patience")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested settings into dotted keys, such as {'train.epochs': 2000}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resumable_changes(saved: Config, requested: Config) -> None:
    """Raise InputError if `requested` changes a setting that a resumed run must keep."""
    old, new = flatten(config_to_dict(saved)), flatten(config_to_dict(requested))
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key) or key in RESUMABLE_SETTINGS:
            continue
        raise InputError(f"cannot change {key} from {old.get(key)!r} to {new.get(key)!r} when resuming, because "
                         f"the run would no longer match an uninterrupted one; only {', '.join(RESUMABLE_SETTINGS)} "
                         f"may change, so start a new run to change {key}")
    was_on = saved.train.early_stopping.patience > 0
    if was_on != (requested.train.early_stopping.patience > 0):
        raise InputError(f"cannot turn early stopping {'off' if was_on else 'on'} when resuming, because the best "
                         f"epoch's state is kept only while it is on; keep train.early_stopping.patience "
                         f"{'above 0' if was_on else 'at 0'} or start a new run")


def resolve_resume_config(run_dir: Path, overrides: Sequence[str]) -> Config:
    """Resolve the run's saved config.yaml plus `overrides`, allowing only resumable changes."""
    path = run_dir / "config.yaml"
    if not run_dir.is_dir():
        raise InputError(f"run folder not found: {run_dir}; pass a folder under runs/ to --resume")
    if not path.is_file():
        raise InputError(f"incomplete run folder {run_dir}: config.yaml is missing, so it cannot be resumed")
    saved = resolve_config(path)
    requested = resolve_config(path, overrides)
    check_resumable_changes(saved, requested)
    return requested
