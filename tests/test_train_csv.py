"""`python train.py` on CSV files, as a user runs it: a good file trains, a bad one exits 2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train.py"
PETS = ("dog", "ant", "cat")  # file order; the classes sort to ant, cat, dog


def write_pets(path: Path, rows: int = 60) -> None:
    """Write separable rows: an id column, two informative columns, a constant column and a text label."""
    rng = np.random.default_rng(5)
    lines = ["id,weight,legs,planet,pet"]
    for index in range(rows):
        kind = index % 3
        weight = (0.2, 2.0, 1.0)[kind] + rng.normal(0, 0.05)
        legs = (4, 6, 4)[kind] + rng.normal(0, 0.1)
        lines.append(f"{index + 1},{weight:.3f},{legs:.3f},3,{PETS[kind]}")
    path.write_text("\n".join(lines) + "\n")


def run_train(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    settings = [item for override in overrides for item in ("--set", override)]
    return subprocess.run([sys.executable, str(TRAIN_SCRIPT), "--runs-dir", "runs", *settings],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_train_on_csv_writes_run(tmp_path):
    write_pets(tmp_path / "pets.csv")
    result = run_train(tmp_path, "data.name=csv", "data.path=pets.csv", "data.label_column=pet",
                       "train.epochs=300", "model.loss=cross_entropy", "train.log_every=100")

    assert result.returncode == 0, result.stderr
    assert "column 'id' looks like a row id" in result.stdout
    assert "feature 'planet' has the single value 3" in result.stdout
    header = "data       pets.csv (label column 'pet'): 48 train rows, 12 test rows, 2 features, 3 classes"
    assert header in result.stdout
    assert "classes    0='ant', 1='cat', 2='dog'" in result.stdout

    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["data"] == {"name": "csv", "test_size": 0.2, "validation_size": 0.0, "path": "pets.csv",
                             "label_column": "pet", "features": None, "delimiter": ","}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert list(metrics["per_class"]) == ["ant", "cat", "dog"]
    assert metrics["test_accuracy"] >= 0.9
    assert (run_dir / "history.csv").read_text().count("\n") == 301


def test_train_on_bad_csv_exits_2(tmp_path):
    (tmp_path / "pets.csv").write_text("weight,legs,pet\n0.2,4,ant\n2.0,n/a,cat\n1.0,4,dog\n")
    result = run_train(tmp_path, "data.name=csv", "data.path=pets.csv", "data.label_column=pet")

    assert result.returncode == 2
    assert result.stderr.endswith("\n")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: pets.csv: 1 invalid feature cell: row 3 column 'legs' is 'n/a'")
    assert not (tmp_path / "runs").exists()


def test_train_csv_without_path_exits_2(tmp_path):
    result = run_train(tmp_path, "data.name=csv", "data.label_column=pet")

    assert result.returncode == 2
    assert result.stderr == ("error: missing setting data.path: data.name=csv needs it, such as "
                             "--set data.path=flowers.csv --set data.label_column=species\n")
    assert not (tmp_path / "runs").exists()
