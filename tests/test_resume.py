"""Resuming and stopping: a run stopped and continued must equal one trained without a stop."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import runs
from config import resolve_config
from errors import InputError
from report import EpochLogger
from resume import resolve_resume_config
from run_helpers import checkpoint_tensors, history_without_seconds, latest_prefix, resume, train

PROJECT_DIR = Path(__file__).resolve().parents[1]
WITH_BEST_COPY = ("data.validation_size=0.2", "train.early_stopping.patience=50")


def assert_same_state(prefix_a: Path, prefix_b: Path) -> None:
    state_a, state_b = checkpoint_tensors(prefix_a), checkpoint_tensors(prefix_b)
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        np.testing.assert_allclose(state_a[name], state_b[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_resume_equals_uninterrupted_run(tmp_path):
    settings = ("train.checkpoint_every=2", "train.keep_checkpoints=2") + WITH_BEST_COPY
    status, whole = train(tmp_path, "whole", "train.epochs=8", *settings)
    assert status == 0
    status, part = train(tmp_path, "part", "train.epochs=5", *settings)
    assert status == 0

    assert resume(part, "train.epochs=8") == 0

    assert history_without_seconds(part) == history_without_seconds(whole)
    assert len(history_without_seconds(part)) == 8
    assert_same_state(latest_prefix(part), latest_prefix(whole))
    state = checkpoint_tensors(latest_prefix(part))
    assert int(state["global_step"]) == 8 * 6  # 96 training rows in batches of 16
    assert {"layer1/weights/Adam", "layer1/weights/Adam_1", "beta1_power"} <= state.keys()
    assert (part / "model.json").read_text() == (whole / "model.json").read_text()
    metrics_part = json.loads((part / "metrics.json").read_text())
    metrics_whole = json.loads((whole / "metrics.json").read_text())
    del metrics_part["seconds"], metrics_whole["seconds"]
    assert metrics_part == metrics_whole


def test_resume_rotates_old_checkpoints(tmp_path):
    status, run_dir = train(tmp_path, "rotate", "train.epochs=5", "train.checkpoint_every=2", "train.keep_checkpoints=2")
    assert status == 0
    assert resume(run_dir, "train.epochs=8") == 0
    names = sorted(path.name for path in (run_dir / "checkpoints").glob("*.index"))
    assert names == ["epoch-6.index", "epoch-8.index"]


def test_signal_stops_after_epoch_then_resumes(tmp_path, monkeypatch):
    log_epoch = EpochLogger.on_epoch_end

    def send_sigint_after_epoch_3(self, trainer, record):
        if record["epoch"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return log_epoch(self, trainer, record)

    monkeypatch.setattr(EpochLogger, "on_epoch_end", send_sigint_after_epoch_3)
    status, stopped = train(tmp_path, "stopped", "train.epochs=6", *WITH_BEST_COPY)
    monkeypatch.undo()

    assert status == 130
    assert len(runs.read_history(stopped)) == 3
    assert latest_prefix(stopped).name == "epoch-3"
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert metrics["stop_reason"] == "SIGINT"
    assert metrics["epochs_trained"] == 3
    assert resume(stopped) == 0  # config.yaml still sets 6 epochs

    status, whole = train(tmp_path, "whole", "train.epochs=6", *WITH_BEST_COPY)
    assert status == 0
    assert history_without_seconds(stopped) == history_without_seconds(whole)
    assert_same_state(latest_prefix(stopped), latest_prefix(whole))


def test_sigint_subprocess_saves_and_resumes(tmp_path):
    command = [sys.executable, "train.py", "--runs-dir", str(tmp_path), "--name", "interrupted",
               "--set", "train.epochs=1000000", "--set", "train.log_every=1"]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.startswith("epoch ") and int(line.split()[1].split("/")[0]) >= 3:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    run_dir = tmp_path / "interrupted"
    assert process.returncode == 130, stderr
    assert f"python train.py --resume {run_dir}" in stdout
    history = runs.read_history(run_dir)
    assert len(history) >= 3
    assert runs.latest_checkpoint(run_dir).epoch == len(history)
    assert resume(run_dir, f"train.epochs={len(history) + 2}") == 0
    assert len(runs.read_history(run_dir)) == len(history) + 2


def test_resume_needs_more_epochs(tmp_path):
    status, run_dir = train(tmp_path, "done", "train.epochs=2")
    assert status == 0
    with pytest.raises(InputError, match="already trained 2 epochs; .*train.epochs=N with N > 2"):
        resume(run_dir)


@pytest.fixture
def saved_config(tmp_path) -> Path:
    """A run folder holding only the config.yaml of an early-stopping run."""
    runs.write_config(tmp_path, resolve_config(None, WITH_BEST_COPY))
    return tmp_path


@pytest.mark.parametrize("override, key", [
    ("model.l2=0.01", "model.l2"),
    ("train.learning_rate=0.1", "train.learning_rate"),
    ("train.batch_size=8", "train.batch_size"),
    ("seed=7", "seed"),
    ("data.validation_size=0.3", "data.validation_size"),
    ("train.early_stopping.min_delta=0.01", "train.early_stopping.min_delta"),
])
def test_resume_rejects_changed_setting(saved_config, override, key):
    with pytest.raises(InputError, match=f"cannot change {key} from"):
        resolve_resume_config(saved_config, [override])


def test_resume_accepts_safe_settings(saved_config):
    overrides = ["train.epochs=9000", "train.log_every=7", "train.checkpoint_every=5", "train.keep_checkpoints=1",
                 "train.early_stopping.patience=80"]
    config = resolve_resume_config(saved_config, overrides)
    assert config.train.epochs == 9000
    assert config.train.early_stopping.patience == 80


def test_resume_rejects_turning_early_stopping_off(saved_config):
    with pytest.raises(InputError, match="cannot turn early stopping off"):
        resolve_resume_config(saved_config, ["train.early_stopping.patience=0"])


def test_resume_rejects_missing_folder(tmp_path):
    with pytest.raises(InputError, match="run folder not found"):
        resolve_resume_config(tmp_path / "absent", [])
    with pytest.raises(InputError, match="config.yaml is missing"):
        resolve_resume_config(tmp_path, [])
