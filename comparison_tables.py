"""Tables of a comparison: one summary row per run, CSV and Markdown renderings, and the seed spread.

A row is a plain dict of numbers and texts. None marks a value that does not exist, such as
the epochs to the target of a run that never reached it.
"""

import csv
import io
import math
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from comparison_config import Plan
from config import Config

if TYPE_CHECKING:
    from comparison import RunResult

ACCURACY_TOLERANCE = 1e-6  # float32 spacing near 1 is 6e-8, and accuracies on n rows differ by 1/n
SPREAD_METRICS = ("final_loss", "train_accuracy", "test_accuracy", "epochs_to_target")
OPTIMIZER_NAMES = {"gradient_descent": "gradient descent", "momentum": "momentum", "adagrad": "AdaGrad",
                   "rmsprop": "RMSProp", "adam": "Adam"}


def counted(count: int, noun: str) -> str:
    """Return the count with the noun, singular for 1: "1 run", "3 runs"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def reaches(accuracy: float, target_accuracy: float) -> bool:
    """Return whether an accuracy meets the target, allowing for float32 rounding.

    TensorFlow computes accuracy in float32, so 114/120 arrives as 0.94999999 and would miss 0.95.
    """
    return accuracy >= target_accuracy - ACCURACY_TOLERANCE


def first_reaching(history: Sequence[dict], target_accuracy: float) -> dict | None:
    """Return the first history row whose train accuracy is at least the target, or None."""
    return next((record for record in history if reaches(record["train_accuracy"], target_accuracy)), None)


def describe_options(config: Config) -> str:
    return ", ".join(f"{name}={value}" for name, value in config.train.optimizer_options.items())


def summary_row(result: "RunResult", target_accuracy: float) -> dict[str, Any]:
    """Summarise one run: its settings, its final values and when it first reached the target."""
    last = result.history[-1]
    reached = first_reaching(result.history, target_accuracy)
    finite_losses = [record["loss"] for record in result.history if math.isfinite(record["loss"])]
    train = result.config.train
    return {
        "run": result.label,
        "optimizer": train.optimizer,
        "optimizer_options": describe_options(result.config),
        "batch_size": result.batch_rows,
        "learning_rate": train.learning_rate,
        "seed": result.config.seed,
        "status": result.status,
        "diverged_epoch": result.diverged_epoch,
        "epochs": last["epoch"],
        "updates": last["epoch"] * result.steps_per_epoch,
        "initial_loss": result.history[0]["loss"],
        "final_loss": last["loss"],
        "lowest_loss": min(finite_losses),
        "highest_loss": max(finite_losses),
        "train_accuracy": last["train_accuracy"],
        "test_accuracy": last["test_accuracy"],
        "target_train_accuracy": target_accuracy,
        "epochs_to_target": reached["epoch"] if reached else None,
        "updates_to_target": reached["epoch"] * result.steps_per_epoch if reached else None,
        "seconds_to_target": reached["seconds"] if reached else None,
        "seconds": last["seconds"],
    }


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.9g}"
    return str(value)


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


# Markdown columns: (row key, header, formatter). Formatters receive a value that is not None.

def _loss(value: float) -> str:
    return f"{value:.5g}"


def _fixed(digits: int) -> Callable[[float], str]:
    return lambda value: f"{value:.{digits}f}"


def _status(row: dict[str, Any]) -> str:
    return row["status"] if row["diverged_epoch"] is None else f"diverged at epoch {row['diverged_epoch']}"


def columns_for(command: str, target: float) -> list[tuple[str, str, Callable[[Any], str]]]:
    """Return the Markdown columns of a command's table."""
    reach = [("epochs_to_target", f"epochs to {target:g}", str),
             ("updates_to_target", f"updates to {target:g}", str)]
    final = [("final_loss", "final loss", _loss), ("train_accuracy", "train accuracy", _fixed(4)),
             ("test_accuracy", "test accuracy", _fixed(4))]
    if command == "optimizers":
        return [("run", "method", str), ("optimizer", "optimizer", str), ("batch_size", "batch", str),
                ("learning_rate", "learning rate", "{:g}".format), ("status", "status", str), *final, *reach,
                ("seconds_to_target", f"seconds to {target:g}", _fixed(2)), ("seconds", "seconds", _fixed(2))]
    if command == "learning-rates":
        return [("learning_rate", "learning rate", "{:g}".format), ("status", "status", str),
                ("initial_loss", "initial loss", _loss), ("lowest_loss", "lowest loss", _loss),
                ("highest_loss", "highest finite loss", _loss), *final,
                *reach, ("seconds", "seconds", _fixed(2))]
    return [("seed", "seed", str), ("status", "status", str), *final, *reach, ("seconds", "seconds", _fixed(2))]


def markdown_table(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def format_rows(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, Callable]]) -> list[list[str]]:
    cells = []
    for row in rows:
        line = []
        for key, _, render in columns:
            if key == "status":
                line.append(_status(row))
            elif row[key] is None:
                line.append("-")
            else:
                line.append(render(row[key]))
        cells.append(line)
    return cells


def describe_base(plan: Plan) -> str:
    """Describe the settings that every run of the plan shares, in one sentence."""
    base = plan.base
    model = base.model
    text = (f"Data {base.data.name} split with seed {base.seed}; hidden units {list(model.hidden_units)} "
            f"({model.activation}); loss {model.loss} + L2 term (l2={model.l2:g}); "
            f"{counted(base.train.epochs, 'epoch')}")
    if plan.command != "optimizers":
        train = base.train
        text += (f"; {OPTIMIZER_NAMES[train.optimizer]}, batch {train.batch_size}"
                 + (f" ({describe_options(base)})" if train.optimizer_options else ""))
    if plan.command == "seeds":
        text += f", learning rate {base.train.learning_rate:g}"
    return text + "."


def markdown_report(plan: Plan, rows: Sequence[dict[str, Any]]) -> str:
    """Render the command's table as Markdown with a title and the facts needed to read it."""
    target = plan.target_accuracy
    columns = columns_for(plan.command, target)
    counts = ", ".join(f"{sum(row['status'] == status for row in rows)} {status}"
                       for status in ("converged", "slow", "diverged"))
    parts = [
        f"# compare.py {plan.command}",
        "",
        describe_base(plan),
        f"Target train accuracy {target:g}: the 'to {target:g}' columns count until the first epoch that "
        f"reached it ('-' if none did). Seconds are wall-clock time of training plus per-epoch evaluation.",
        f"Runs: {counts}.",
        "",
        markdown_table([header for _, header, _ in columns], format_rows(rows, columns)),
    ]
    if plan.command == "seeds":
        parts += ["", "## Spread over seeds", "", spread_markdown(spread_rows(rows))]
    return "\n".join(parts) + "\n"


def spread_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summarise each metric over the runs: count, min, median, max, population std, (max - min) / median.

    Non-finite values (a diverged run's NaN loss) and missing ones are left out of the count.
    """
    spread = []
    for metric in SPREAD_METRICS:
        values = np.array([row[metric] for row in rows if row[metric] is not None], dtype=float)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            spread.append({"metric": metric, "runs": 0, "min": None, "median": None, "max": None,
                           "std": None, "relative_spread": None})
            continue
        median = float(np.median(values))
        spread.append({
            "metric": metric, "runs": len(values), "min": float(values.min()), "median": median,
            "max": float(values.max()), "std": float(values.std()),
            "relative_spread": float((values.max() - values.min()) / median) if median else None,
        })
    return spread


def spread_markdown(spread: Sequence[dict[str, Any]]) -> str:
    headers = ["metric", "runs", "min", "median", "max", "std", "(max - min) / median"]
    keys = ["min", "median", "max", "std", "relative_spread"]
    cells = [[row["metric"], str(row["runs"]), *("-" if row[key] is None else f"{row[key]:.5g}" for key in keys)]
             for row in spread]
    return markdown_table(headers, cells)
