"""Tests of compare.py: planning, the divergence rule, the written tables and figures, repeatability."""

import csv
import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest

from cli import PROJECT_DIR
from comparison import classify, create_compare_dir, find_divergence, run_comparison
from comparison_config import (DEFAULT_METHOD_TABLE, plan_learning_rates, plan_optimizers, plan_seeds,
                               read_method_table)
from comparison_plots import title_of
from comparison_tables import counted
from errors import InputError

SHIPPED_METHODS = ["batch GD", "stochastic GD", "mini-batch GD", "momentum", "AdaGrad", "RMSProp", "Adam"]
SECONDS_COLUMNS = {"seconds", "seconds_to_target"}
# Full-batch gradient descent on cross-entropy: learning rate 1 passes 0.95 train accuracy
# within 200 epochs, 0.001 is far too small for that, and 1000 blows the loss up at once.
FAST_CONVERGING = ["model.loss=cross_entropy", "train.batch_size=full", "train.optimizer=gradient_descent"]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "methods.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def history(*losses: float, accuracy: float = 1.0) -> list[dict]:
    return [{"epoch": epoch, "loss": loss, "train_accuracy": accuracy} for epoch, loss in enumerate(losses)]


# Planning: the method table, the overrides and the swept values.

def test_shipped_table_has_every_method():
    table = read_method_table(DEFAULT_METHOD_TABLE)
    assert list(table.methods) == SHIPPED_METHODS
    assert table.epochs == 1000


def test_optimizers_plan_shares_seed_and_network():
    plan = plan_optimizers(None, ["model.hidden_units=[6]"], 7, DEFAULT_METHOD_TABLE, 0.95)
    configs = {run.label: run.config for run in plan.runs}
    assert [run.label for run in plan.runs] == SHIPPED_METHODS
    assert {config.seed for config in configs.values()} == {42}
    assert {config.model.hidden_units for config in configs.values()} == {(6,)}
    assert {config.train.epochs for config in configs.values()} == {7}
    assert configs["stochastic GD"].train.batch_size == 1
    assert configs["batch GD"].train.batch_size == "full"
    assert configs["Adam"].train.optimizer == "adam"
    assert dict(configs["momentum"].train.optimizer_options) == {"momentum": 0.9, "use_nesterov": False}


def test_method_options_replace_config_file_options(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("train:\n  optimizer: momentum\n  optimizer_options: {momentum: 0.5}\n", encoding="utf-8")
    table = write_table(tmp_path, "methods:\n  Adam: {optimizer: adam, learning_rate: 0.01}\n")
    plan = plan_optimizers(config_file, [], None, table, 0.95)
    assert plan.runs[0].config.train.optimizer == "adam"
    assert "momentum" not in plan.runs[0].config.train.optimizer_options


def test_set_override_wins_over_method_table(caplog):
    with caplog.at_level(logging.WARNING, logger="descent"):
        plan = plan_optimizers(None, ["train.learning_rate=0.2"], None, DEFAULT_METHOD_TABLE, 0.95)
    assert {run.config.train.learning_rate for run in plan.runs} == {0.2}
    assert "replaces train.learning_rate of every method" in caplog.text


@pytest.mark.parametrize("text, message", [
    ("methods:\n  bad: {learning_rate: -1}\n", "method 'bad': invalid value -1 for train.learning_rate"),
    ("methods:\n  bad: {optimizer: sgd}\n", "method 'bad': invalid value 'sgd' for train.optimizer"),
    ("methods:\n  bad: {epochs: 5}\n", "method 'bad': unknown key 'epochs'"),
    ("methods:\n  bad: {optimizer: adam, optimizer_options: {momentum: 0.9}}\n",
     "unknown option train.optimizer_options.momentum for optimizer adam"),
    ("methods:\n  bad: 0.1\n", "method 'bad': expected a mapping"),
    ("methods: {}\n", "missing methods"),
    ("epochs: 0\nmethods:\n  a: {}\n", "invalid value 0 for epochs"),
    ("method:\n  a: {}\n", "unknown key 'method'"),
])
def test_bad_method_table_names_the_problem(tmp_path, text, message):
    with pytest.raises(InputError, match="methods.yaml") as caught:
        plan_optimizers(None, [], None, write_table(tmp_path, text), 0.95)
    assert message in str(caught.value)
    assert str(caught.value).count("methods.yaml") == 1
    assert "\n" not in str(caught.value)


def test_unknown_method_key_names_method_once(tmp_path):
    path = write_table(tmp_path, "methods:\n  mine: {optimizer: adam, seed: 3}\n")
    with pytest.raises(InputError) as caught:
        plan_optimizers(None, [], None, path, 0.95)
    assert str(caught.value) == (f"{path}: method 'mine': unknown key 'seed'; a method sets only optimizer, "
                                 f"learning_rate, batch_size, optimizer_options")


def test_learning_rate_plan_replaces_rate():
    plan = plan_learning_rates(None, ["train.learning_rate=0.3"], 9, (0.01, 10.0), 0.95)
    assert [run.config.train.learning_rate for run in plan.runs] == [0.01, 10.0]
    assert [run.label for run in plan.runs] == ["lr 0.01", "lr 10"]
    assert plan.base.train.epochs == 9


def test_seed_plan_counts_up_from_seed():
    plan = plan_seeds(None, ["seed=7"], None, 3, 0.95)
    assert [run.config.seed for run in plan.runs] == [7, 8, 9]


def test_seed_plan_rejects_seeds_past_limit():
    with pytest.raises(InputError, match="invalid --seeds 2"):
        plan_seeds(None, [f"seed={2**31 - 1}"], None, 2, 0.95)


# The divergence rule.

def test_overshoot_that_recovers_is_not_divergence():
    assert find_divergence(history(1.0, 2.0, 0.5, 0.1)) is None


def test_loss_ending_above_start_diverges_where_it_stayed():
    assert find_divergence(history(1.0, 2.0, 0.5, 1.5, 3.0)) == 3


def test_nan_loss_diverges():
    assert find_divergence(history(1.0, 5.0, math.inf, math.nan)) == 1
    assert classify(history(1.0, 5.0, math.nan), 0.9) == "diverged"


def test_classify_converged_and_slow():
    assert classify(history(1.0, 0.5, accuracy=0.95), 0.95) == "converged"
    # float32 accuracy of 114 of 120 rows
    assert classify(history(1.0, 0.5, accuracy=0.949999988079071), 0.95) == "converged"
    assert classify(history(1.0, 0.5, accuracy=0.9), 0.95) == "slow"


# Whole commands through the module functions, with few epochs.

def test_optimizers_writes_table_and_figure(tmp_path):
    plan = plan_optimizers(None, [], 4, DEFAULT_METHOD_TABLE, 0.95)
    run_dir, markdown = run_comparison(plan, tmp_path)

    for name in ("config.yaml", "runs.yaml", "histories.csv", "table.csv", "table.md", "optimizers.png"):
        assert (run_dir / name).stat().st_size > 0, name
    rows = read_rows(run_dir / "table.csv")
    assert [row["run"] for row in rows] == SHIPPED_METHODS
    updates = {row["run"]: int(row["updates"]) for row in rows}
    assert updates["batch GD"] == 4
    assert updates["stochastic GD"] == 4 * 120
    assert updates["Adam"] == 4 * 8  # 120 rows in batches of 16
    # Same seed and network, so every method starts from the same loss.
    assert len({row["initial_loss"] for row in rows}) == 1
    for row in rows:
        assert 0.0 < float(row["final_loss"]) < float(row["initial_loss"]), row["run"]
        assert 0.0 <= float(row["test_accuracy"]) <= 1.0
        assert row["status"] in ("converged", "slow")
    assert markdown.count("\n| ") == 1 + len(SHIPPED_METHODS)  # header row and one row per method
    assert "Target train accuracy 0.95" in markdown


def test_learning_rates_marks_slow_converged_diverged(tmp_path):
    plan = plan_learning_rates(None, FAST_CONVERGING, 200, (0.001, 1.0, 1000.0), 0.95)
    run_dir, _ = run_comparison(plan, tmp_path)

    rows = read_rows(run_dir / "table.csv")
    assert [float(row["learning_rate"]) for row in rows] == [0.001, 1.0, 1000.0]
    assert [row["status"] for row in rows] == ["slow", "converged", "diverged"]
    assert rows[2]["diverged_epoch"] == "1"
    assert int(rows[2]["epochs"]) <= 200
    assert float(rows[1]["train_accuracy"]) >= 0.95
    assert int(rows[1]["epochs_to_target"]) <= 200
    assert (run_dir / "learning-rates.png").stat().st_size > 0
    assert "diverged at epoch 1" in (run_dir / "table.md").read_text(encoding="utf-8")


def test_seeds_writes_one_row_per_seed_and_spread(tmp_path):
    plan = plan_seeds(None, [], 20, 3, 0.95)
    run_dir, markdown = run_comparison(plan, tmp_path)

    rows = read_rows(run_dir / "table.csv")
    assert [int(row["seed"]) for row in rows] == [42, 43, 44]
    assert len({row["initial_loss"] for row in rows}) == 3  # each seed draws its own weights
    spread = {row["metric"]: row for row in read_rows(run_dir / "spread.csv")}
    losses = [float(row["final_loss"]) for row in rows]
    assert float(spread["final_loss"]["min"]) == pytest.approx(min(losses))
    assert float(spread["final_loss"]["max"]) == pytest.approx(max(losses))
    assert spread["final_loss"]["runs"] == "3"
    assert "## Spread over seeds" in markdown
    assert (run_dir / "seeds.png").stat().st_size > 0


def test_same_seed_gives_same_table(tmp_path):
    tables = []
    for name in ("first", "second"):
        plan = plan_optimizers(None, [], 3, DEFAULT_METHOD_TABLE, 0.95)
        run_dir, _ = run_comparison(plan, tmp_path, name)
        rows = read_rows(run_dir / "table.csv")
        tables.append([{key: value for key, value in row.items() if key not in SECONDS_COLUMNS} for row in rows])
    assert tables[0] == tables[1]


def test_single_run_and_epoch_are_singular(tmp_path, caplog):
    plan = plan_seeds(None, [], 1, 1, 0.95)
    with caplog.at_level(logging.INFO, logger="descent"):
        run_dir, markdown = run_comparison(plan, tmp_path)
    assert f"seeds: 1 run, run folder {run_dir}" in caplog.messages
    assert "; 1 epoch;" in markdown
    assert title_of(plan).endswith(", up to 1 epoch")
    assert title_of(plan_seeds(None, [], 2, 1, 0.95)).endswith(", up to 2 epochs")
    assert [counted(count, "run") for count in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]


def test_comparison_folders_are_never_reused(tmp_path):
    plan = plan_seeds(None, [], 1, 1, 0.95)
    first = create_compare_dir(tmp_path, None, plan)
    second = create_compare_dir(tmp_path, None, plan)
    assert first != second
    assert first.name.endswith("-seeds")
    with pytest.raises(InputError, match="already exists"):
        create_compare_dir(tmp_path, first.name, plan)


# The entry script as a user runs it.

def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "compare.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_script_learning_rates_smoke(tmp_path):
    result = run_script("learning-rates", "--rates", "0.5,1000", "--epochs", "5", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| 1000 | diverged at epoch 1 |" in result.stdout
    [run_dir] = tmp_path.iterdir()
    assert run_dir.name.endswith("-learning-rates")
    assert (run_dir / "learning-rates.png").exists()


@pytest.mark.parametrize("args, message", [
    (["learning-rates", "--rates", "0.1,x"], "invalid value '0.1,x'"),
    (["seeds", "--seeds", "0"], "invalid value '0'"),
    (["optimizers", "--methods", "missing.yaml"], "method table not found: missing.yaml"),
    (["optimizers", "--set", "train.learning_rate=-1"], "invalid value -1 for train.learning_rate"),
])
def test_script_bad_input_exits_2(tmp_path, args, message):
    result = run_script(*args, "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
