"""Train the runs of a comparison with the project's loop, classify them and write the run folder.

Every run trains through `training.Trainer` and `training.fit` on one shared Dataset, so the
runs differ only in their config. Each history starts with an epoch-0 row that evaluates the
initial weights, which gives every curve its starting point and the divergence rule its
reference loss (see `comparison_config.STATUS_RULE`).
"""

import csv
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

import comparison_plots
import comparison_tables
import runs
from comparison_config import Plan, PlannedRun
from config import Config, config_to_dict
from data import Dataset, load_dataset
from errors import InputError
from training import HISTORY_COLUMNS, DivergedError, Trainer, check_config_fits_data, fit

log = logging.getLogger("descent")

FIGURE_NAMES = {"optimizers": "optimizers.png", "learning-rates": "learning-rates.png", "seeds": "seeds.png"}


@dataclass(frozen=True)
class RunResult:
    """The history of one trained run and its classification."""

    label: str
    config: Config
    history: tuple[dict, ...]  # epoch 0 (initial weights) first, then one row per trained epoch
    steps_per_epoch: int  # updates per epoch
    batch_rows: int  # rows per update
    n_train: int
    status: str  # converged, slow or diverged
    diverged_epoch: int | None


def find_divergence(history: Sequence[dict]) -> int | None:
    """Return the epoch from which the loss stayed above the epoch-0 loss (or not finite) to the end.

    None if the last row's loss is finite and at most the epoch-0 loss, so an overshoot that
    recovers is not a divergence.
    """
    initial = history[0]["loss"]
    start = None
    for record in history[1:]:
        above = not math.isfinite(record["loss"]) or record["loss"] > initial
        if not above:
            start = None
        elif start is None:
            start = record["epoch"]
    return start


def classify(history: Sequence[dict], target_accuracy: float) -> str:
    if find_divergence(history) is not None:
        return "diverged"
    return "converged" if comparison_tables.reaches(history[-1]["train_accuracy"], target_accuracy) else "slow"


def train_run(run: PlannedRun, dataset: Dataset, target_accuracy: float) -> RunResult:
    """Train one run for its configured epochs, or until its loss becomes NaN or infinite."""
    with Trainer(run.config, dataset) as trainer:
        initial = trainer.epoch_record(0, 0.0)
        try:
            trained = fit(trainer, run.config.train.epochs)
        except DivergedError as error:
            trained = error.history
        steps = trainer.steps_per_epoch

    history = (initial, *trained)
    n_train = len(dataset.x_train)
    batch_size = run.config.train.batch_size
    return RunResult(
        label=run.label, config=run.config, history=history, steps_per_epoch=steps,
        batch_rows=n_train if batch_size == "full" else batch_size, n_train=n_train,
        status=classify(history, target_accuracy), diverged_epoch=find_divergence(history),
    )


def log_result(result: RunResult) -> None:
    last = result.history[-1]
    where = f" at epoch {result.diverged_epoch}" if result.diverged_epoch is not None else ""
    log.info(f"{result.label:<16} {result.status}{where}: epoch {last['epoch']} loss={last['loss']:.6f} "
             f"train_accuracy={last['train_accuracy']:.4f} test_accuracy={last['test_accuracy']:.4f} "
             f"seconds={last['seconds']:.2f}")


def load_plan_dataset(plan: Plan) -> Dataset:
    """Load the data split of the plan's base seed and check every run's settings against it."""
    dataset = load_dataset(plan.base.data, plan.base.seed)
    check_config_fits_data(plan.base, dataset)
    for run in plan.runs:
        try:
            check_config_fits_data(run.config, dataset)
        except InputError as error:
            raise InputError(f"{run.label}: {error}") from None
    return dataset


def train_plan(plan: Plan, dataset: Dataset) -> list[RunResult]:
    results = []
    for run in plan.runs:
        result = train_run(run, dataset, plan.target_accuracy)
        log_result(result)
        results.append(result)
    return results


def create_compare_dir(runs_dir: Path, name: str | None, plan: Plan) -> Path:
    """Create a new folder `<date>-<time>-<command>` (or `name`) in `runs_dir`, never an existing one."""
    return runs.create_run_dir(runs_dir, name, plan.command)


def histories_csv(results: Sequence[RunResult]) -> str:
    """Render every run's history as one CSV, with the run label and the update count per row."""
    columns = ["run", "epoch", "updates", *HISTORY_COLUMNS[1:]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for record in result.history:
            row = {key: f"{record[key]:.9g}" for key in HISTORY_COLUMNS[1:]}
            writer.writerow({"run": result.label, "epoch": record["epoch"],
                             "updates": record["epoch"] * result.steps_per_epoch, **row})
    return buffer.getvalue()


def run_configs_yaml(results: Sequence[RunResult]) -> str:
    return yaml.safe_dump({result.label: config_to_dict(result.config) for result in results}, sort_keys=False)


def write_outputs(run_dir: Path, plan: Plan, results: Sequence[RunResult]) -> str:
    """Write tables, histories, run configs and the figure into `run_dir`; return the Markdown table."""
    rows = [comparison_tables.summary_row(result, plan.target_accuracy) for result in results]
    markdown = comparison_tables.markdown_report(plan, rows)
    runs.write_atomic(run_dir / "table.csv", comparison_tables.rows_csv(rows))
    runs.write_atomic(run_dir / "table.md", markdown)
    if plan.command == "seeds":
        runs.write_atomic(run_dir / "spread.csv", comparison_tables.rows_csv(comparison_tables.spread_rows(rows)))
    runs.write_atomic(run_dir / "histories.csv", histories_csv(results))
    runs.write_atomic(run_dir / "runs.yaml", run_configs_yaml(results))

    figure = comparison_plots.draw(plan, results)
    runs.save_figure(run_dir / FIGURE_NAMES[plan.command], figure)
    return markdown


def run_comparison(plan: Plan, runs_dir: Path, name: str | None = None) -> tuple[Path, str]:
    """Train every run of `plan`, write the new run folder and return it with the Markdown table."""
    dataset = load_plan_dataset(plan)
    run_dir = create_compare_dir(runs_dir, name, plan)
    runs.write_config(run_dir, plan.base)
    log.info(f"{plan.command}: {comparison_tables.counted(len(plan.runs), 'run')}, run folder {run_dir}")
    results = train_plan(plan, dataset)
    return run_dir, write_outputs(run_dir, plan, results)
