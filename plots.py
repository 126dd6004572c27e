"""Learning curves of a run: the loss terms and the accuracies against the epoch.

Figures are drawn on matplotlib's Agg canvas without pyplot, so no display or global figure
state is involved; runs.write_curves saves them.
"""

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from config import Config

FIGURE_SIZE = (10.0, 4.5)  # inches; with DPI, a 1000 x 450 pixel PNG
DPI = 100
# Training rows in blue, validation rows in red and test rows in orange, in both panels.
COLORS = {"loss": "C0", "data_loss": "C9", "l2_loss": "C7", "validation_loss": "C3",
          "train_accuracy": "C0", "test_accuracy": "C1", "validation_accuracy": "C3"}
LOG_SCALE_RATIO = 100.0  # a loss panel whose largest value is this many times its smallest is drawn on a log scale


def curves_title(config: Config, n_train: int) -> str:
    """Name the optimiser, batch size and learning rate, the settings that shape the curves."""
    train = config.train
    batch = f"full ({n_train} rows)" if train.batch_size == "full" else str(train.batch_size)
    return f"{train.optimizer}, batch size {batch}, learning rate {train.learning_rate:g}"


def spans_decades(values: list[float]) -> bool:
    """Return True if every value is positive and the largest is LOG_SCALE_RATIO times the smallest."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite or min(finite) <= 0:
        return False
    return max(finite) / min(finite) >= LOG_SCALE_RATIO


def plot_losses(axes, history: list[dict]) -> None:
    epochs = [record["epoch"] for record in history]
    columns = ["loss", "data_loss", "l2_loss", "validation_loss"]
    # An L2 term that is 0 throughout (model.l2 = 0) would only block the log scale.
    drawn = [column for column in columns
             if column in history[0] and any(record[column] != 0 for record in history)]
    for column in drawn:
        axes.plot(epochs, [record[column] for record in history], label=column, color=COLORS[column],
                  marker="." if len(history) < 30 else None)
    if spans_decades([record[column] for column in drawn for record in history]):
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (log scale)" if axes.get_yscale() == "log" else "loss")
    axes.legend()
    axes.grid(True, alpha=0.3)


def plot_accuracies(axes, history: list[dict]) -> None:
    epochs = [record["epoch"] for record in history]
    for column in ("train_accuracy", "test_accuracy", "validation_accuracy"):
        if column in history[0]:
            axes.plot(epochs, [record[column] for record in history], label=column, color=COLORS[column],
                      marker="." if len(history) < 30 else None)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.legend(loc="lower right")
    axes.grid(True, alpha=0.3)


def training_curves(history: list[dict], config: Config, n_train: int, best_epoch: int | None = None) -> Figure:
    """Draw the loss terms (left) and the accuracies (right) of a non-empty history."""
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    plot_losses(loss_axes, history)
    plot_accuracies(accuracy_axes, history)
    if best_epoch is not None:
        for axes in (loss_axes, accuracy_axes):
            axes.axvline(best_epoch, color="grey", linestyle="--", linewidth=1)
        loss_axes.text(best_epoch, 1.0, f" best epoch {best_epoch}", transform=loss_axes.get_xaxis_transform(),
                       va="top", fontsize="small", color="grey")
    figure.suptitle(curves_title(config, n_train))
    return figure
