"""Figures of the comparisons, drawn on matplotlib Figure objects (no pyplot state).

Losses go on a log axis. A diverged run is drawn up to its last finite loss, and an x marks
the epoch where it diverged. When that loss is NaN or above the axis, the x sits on the top edge.
"""

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from comparison_config import Plan
from comparison_tables import OPTIMIZER_NAMES, counted

if TYPE_CHECKING:
    from comparison import RunResult

DPI = 100  # figures are sized in inches at this many pixels per inch, for 100% zoom
TOP_MARGIN = 2.0  # the loss axis reaches at least this multiple of the largest initial loss
DIVERGED_SPAN = 1000.0  # the loss axis shows diverged runs up to this many times the start
SEED_MARKER_SIZE = 40  # points^2


def draw(plan: Plan, results: Sequence["RunResult"]) -> Figure:
    """Draw the figure of a plan's command."""
    if plan.command == "optimizers":
        return optimizers_figure(plan, results)
    if plan.command == "learning-rates":
        return learning_rates_figure(plan, results)
    return seeds_figure(plan, results)


def distinct_colors(count: int) -> list:
    """Return `count` tab10 colours, repeating after ten."""
    palette = colormaps["tab10"].colors
    return [palette[index % len(palette)] for index in range(count)]


def describe_batch(result: "RunResult") -> str:
    rows = result.batch_rows
    return f"batch {rows} (all rows)" if rows == result.n_train else f"batch {rows}"


def legend_label(result: "RunResult", name: str) -> str:
    """Name the method, batch size and learning rate of a run."""
    return f"{name}, {describe_batch(result)}, lr {result.config.train.learning_rate:g}"


def status_text(result: "RunResult") -> str:
    if result.diverged_epoch is None:
        return result.status
    return f"diverged at epoch {result.diverged_epoch}"


def loss_axis_label(plan: Plan) -> str:
    return f"training loss ({plan.base.model.loss} + L2 term, no unit), log scale"


def loss_ceiling(results: Sequence["RunResult"]) -> float:
    """Return the top of the loss axis, above every loss of the runs that did not diverge.

    A diverged run's loss can reach 1e38 before it overflows, so the axis follows it only up to
    DIVERGED_SPAN times the highest starting loss, and a run beyond that leaves the top.
    """
    stable_losses = [record["loss"] for result in results if result.diverged_epoch is None
                     for record in result.history]
    diverged_losses = [record["loss"] for result in results if result.diverged_epoch is not None
                       for record in result.history if math.isfinite(record["loss"])]
    highest_start = max(result.history[0]["loss"] for result in results)
    diverged_top = min(1.2 * max(diverged_losses, default=0.0), DIVERGED_SPAN * highest_start)
    return max(TOP_MARGIN * highest_start, 1.2 * max(stable_losses, default=0.0), diverged_top)


def plot_loss(axes: Axes, result: "RunResult", x: Sequence[float], color, ceiling: float, label=None) -> None:
    """Draw one run's loss against `x` (one value per history row) and mark its divergence."""
    losses = np.array([record["loss"] for record in result.history])
    finite = np.isfinite(losses)
    axes.plot(np.asarray(x)[finite], losses[finite], color=color, linewidth=1.1, label=label)
    if result.diverged_epoch is not None:
        index = [record["epoch"] for record in result.history].index(result.diverged_epoch)
        mark_divergence(axes, x[index], losses[index], ceiling, color, f"{result.label} diverged")


def mark_divergence(axes: Axes, x: float, loss: float, ceiling: float, color, text: str) -> None:
    """Put an x and a short text at the point of divergence, or on the top edge if it is off the axis."""
    on_axis = math.isfinite(loss) and loss <= ceiling
    # Data x with axes-fraction y keeps an off-axis marker on the top edge.
    transform = axes.transData if on_axis else blended_transform_factory(axes.transData, axes.transAxes)
    y = loss if on_axis else 1.0
    axes.plot(x, y, marker="x", markersize=11, markeredgewidth=2.5, color=color, transform=transform,
              clip_on=False, zorder=4)
    # Each further mark's text goes one line lower, so marks at the same epoch stay readable.
    line = len(axes.texts)
    axes.annotate(text, (x, y), xycoords=transform, xytext=(8, -16 - 12 * line), textcoords="offset points",
                  color=color, fontsize=9, fontweight="bold")


def set_loss_axis(axes: Axes, plan: Plan, results: Sequence["RunResult"]) -> None:
    finite = [record["loss"] for result in results for record in result.history
              if math.isfinite(record["loss"]) and record["loss"] > 0]
    axes.set_yscale("log")
    axes.set_ylim(min(finite) / 1.5, loss_ceiling(results))
    axes.set_ylabel(loss_axis_label(plan))
    axes.grid(True, which="major", alpha=0.3)


def title_of(plan: Plan) -> str:
    base = plan.base
    widths = "-".join(str(units) for units in base.model.hidden_units) or "no"
    return (f"compare.py {plan.command}: {base.data.name}, hidden layers {widths} ({base.model.activation}), "
            f"{base.model.loss} loss, seed {base.seed}, up to {counted(base.train.epochs, 'epoch')}")


def optimizers_figure(plan: Plan, results: Sequence["RunResult"]) -> Figure:
    """Draw loss against epoch, against updates and against wall-clock seconds, one line per method."""
    figure = Figure(figsize=(16, 6.5), dpi=DPI, layout="constrained")
    by_epoch, by_update, by_second = figure.subplots(1, 3, sharey=True)
    colors = distinct_colors(len(results))
    ceiling = loss_ceiling(results)
    for result, color in zip(results, colors):
        epochs = [record["epoch"] for record in result.history]
        label = legend_label(result, result.label)
        if result.diverged_epoch is not None:
            label += f" ({status_text(result)})"
        plot_loss(by_epoch, result, epochs, color, ceiling, label=label)
        plot_loss(by_update, result, [epoch * result.steps_per_epoch for epoch in epochs], color, ceiling)
        plot_loss(by_second, result, [record["seconds"] for record in result.history], color, ceiling)

    set_loss_axis(by_epoch, plan, results)
    by_epoch.set_xlabel("epoch (one pass over the training rows)")
    by_update.set_xscale("symlog", linthresh=1)
    by_update.set_xlim(left=0)
    by_update.set_xlabel("updates (parameter steps), log scale above 1")
    by_second.set_xlabel("wall-clock seconds (training + per-epoch evaluation)")
    for axes in (by_update, by_second):
        axes.grid(True, which="major", alpha=0.3)
        axes.tick_params(labelleft=True)
    figure.suptitle(title_of(plan) + "; same initial weights for every method")
    figure.legend(loc="outside lower center", ncols=4, title="method, rows per update, learning rate")
    return figure


def learning_rates_figure(plan: Plan, results: Sequence["RunResult"]) -> Figure:
    """Draw loss and train accuracy against epoch, one line per learning rate."""
    figure = Figure(figsize=(14, 6.5), dpi=DPI, layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    colors = distinct_colors(len(results))
    ceiling = loss_ceiling(results)
    name = OPTIMIZER_NAMES[plan.base.train.optimizer]
    for result, color in zip(results, colors):
        epochs = [record["epoch"] for record in result.history]
        label = f"{legend_label(result, name)} ({status_text(result)})"
        plot_loss(loss_axes, result, epochs, color, ceiling, label=label)
        accuracy_axes.plot(epochs, [record["train_accuracy"] for record in result.history], color=color)

    set_loss_axis(loss_axes, plan, results)
    loss_axes.set_xlabel("epoch (one pass over the training rows)")
    accuracy_axes.axhline(plan.target_accuracy, color="black", linestyle="--", linewidth=1,
                          label=f"target {plan.target_accuracy:g}")
    accuracy_axes.set_ylim(0.0, 1.02)
    accuracy_axes.set_xlabel("epoch (one pass over the training rows)")
    accuracy_axes.set_ylabel("train accuracy (fraction of training rows correct)")
    accuracy_axes.grid(True, alpha=0.3)
    accuracy_axes.legend(loc="lower right")
    figure.suptitle(title_of(plan))
    figure.legend(*loss_axes.get_legend_handles_labels(), loc="outside lower center", ncols=2,
                  title="optimizer, rows per update, learning rate (status)")
    return figure


def seeds_figure(plan: Plan, results: Sequence["RunResult"]) -> Figure:
    """Draw every seed's loss curve, and its final loss and test accuracy as points per seed.

    Each seed keeps one colour, set by the rank of its final loss, in all three panels.
    """
    figure = Figure(figsize=(16, 6), dpi=DPI, layout="constrained")
    curves, final_loss, test_accuracy = figure.subplots(1, 3)
    finals = np.array([result.history[-1]["loss"] for result in results])
    ranks = np.argsort(np.argsort(np.where(np.isfinite(finals), finals, np.inf)))
    colors = colormaps["viridis"](ranks / max(len(results) - 1, 1) * 0.9)
    ceiling = loss_ceiling(results)
    for result, color in zip(results, colors):
        plot_loss(curves, result, [record["epoch"] for record in result.history], color, ceiling)
    set_loss_axis(curves, plan, results)
    curves.set_xlabel("epoch (one pass over the training rows)")
    curves.set_title("loss curve of each seed (colour: final-loss rank, dark = lowest)")

    seeds = [result.config.seed for result in results]
    draw_per_seed(final_loss, seeds, finals, colors, "final training loss (no unit)")
    draw_per_seed(test_accuracy, seeds, np.array([result.history[-1]["test_accuracy"] for result in results]),
                  colors, "final test accuracy (fraction of test rows correct)")
    train = plan.base.train
    figure.suptitle(f"{title_of(plan)}\n{OPTIMIZER_NAMES[train.optimizer]}, {describe_batch(results[0])}, "
                    f"lr {train.learning_rate:g}; the seed sets the initial weights and the epoch order, "
                    f"the data split stays that of seed {plan.base.seed}")
    return figure


def draw_per_seed(axes: Axes, seeds: Sequence[int], values: np.ndarray, colors, ylabel: str) -> None:
    """Draw one point per seed and a dashed line at the median of the finite values."""
    finite = np.isfinite(values)
    axes.scatter(np.array(seeds)[finite], values[finite], c=colors[finite], s=SEED_MARKER_SIZE, zorder=3)
    if finite.any():
        axes.axhline(np.median(values[finite]), color="grey", linestyle="--", linewidth=1, label="median")
        axes.legend(loc="best")
    transform = blended_transform_factory(axes.transData, axes.transAxes)
    for seed in np.array(seeds)[~finite]:
        axes.plot(seed, 1.0, marker="x", color="red", markersize=10, transform=transform, clip_on=False)
    axes.set_xlabel("seed")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.set_title(ylabel.split(" (")[0] + " per seed")
