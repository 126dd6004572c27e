"""train.py as a user runs it: output, run folder, exit codes, quick --help."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]


def run_train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT / "train.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_default_config_smoke_run(tmp_path):
    result = run_train("--set", "train.epochs=30", "--set", "train.log_every=10", "--name", "smoke", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "data       iris: 120 train rows, 30 test rows, 4 features, 3 classes" in out
    assert "optimizer  GradientDescentOptimizer(learning_rate=0.5)" in out
    assert "batch      120 rows (batch gradient descent), 1 step per epoch" in out
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/30", "10/30", "20/30", "30/30"]
    assert "confusion matrix on the test rows" in out
    assert "precision" in out

    run_dir = tmp_path / "runs" / "smoke"
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 30
    with open(run_dir / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 30
    assert list(rows[0]) == ["epoch", "loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy", "seconds"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 30
    assert metrics["steps"] == 30
    assert sum(map(sum, metrics["confusion_matrix"])) == 30
    assert metrics["test_accuracy"] == pytest.approx(float(rows[-1]["test_accuracy"]), abs=1e-6)
    assert not list(run_dir.glob(".*"))


def test_runs_never_reuse_a_folder(tmp_path):
    first = run_train("--set", "train.epochs=2", cwd=tmp_path)
    second = run_train("--set", "train.epochs=2", cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_existing_run_name_is_rejected_and_kept(tmp_path):
    assert run_train("--set", "train.epochs=2", "--name", "keep", cwd=tmp_path).returncode == 0
    before = (tmp_path / "runs" / "keep" / "history.csv").read_text()
    result = run_train("--set", "train.epochs=3", "--name", "keep", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: run folder runs/keep already exists; choose another --name"
    assert (tmp_path / "runs" / "keep" / "history.csv").read_text() == before


@pytest.mark.parametrize("args, message", [
    (["--set", "train.learnig_rate=0.1"], "error: unknown setting train.learnig_rate; did you mean train.learning_rate?"),
    (["--set", "train.epochs=-5"], "error: invalid value -5 for train.epochs: expected a whole number >= 1"),
    (["--set", "train.batch_size=500"], "error: invalid value 500 for train.batch_size: larger than the 120"),
    (["--config", "missing.yaml"], "error: config file not found: missing.yaml"),
    (["--bogus"], "error: unrecognized arguments: --bogus"),
])
def test_bad_input_exits_2(tmp_path, args, message):
    result = run_train(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_diverging_run_exits_1_naming_epoch_and_rate(tmp_path):
    result = run_train("--set", "train.learning_rate=1e6", "--set", "model.hidden_units=[]",
                       "--set", "train.epochs=50", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "loss is not finite at epoch" in lines[0]
    assert "learning_rate 1e+06" in lines[0]


def test_help_lists_settings_without_importing_tensorflow(tmp_path):
    script = str(PROJECT / "train.py")
    code = (f"import runpy, sys\nsys.argv = [{script!r}, '--help']\n"
            f"try:\n    runpy.run_path({script!r}, run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "train.learning_rate" in result.stdout
    assert "--set KEY=VALUE" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False"
