"""Console text of a run: the header, the per-epoch log line and the final evaluation."""

import logging

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from config import Config
from data import Dataset
from model import OPTIMIZER_CLASSES, batch_size_of, steps_per_epoch
from training import Callback

log = logging.getLogger("descent")


def describe_batch(config: Config, n_train: int) -> str:
    size = batch_size_of(config.train, n_train)
    if size == n_train:
        kind = "batch gradient descent"
    elif size == 1:
        kind = "stochastic gradient descent"
    else:
        kind = "mini-batch gradient descent"
    steps = steps_per_epoch(config.train, n_train)
    rows = "1 row" if size == 1 else f"{size} rows"
    return f"{rows} ({kind}), {steps} step{'' if steps == 1 else 's'} per epoch"


def describe_optimizer(config: Config) -> str:
    train = config.train
    options = [f"learning_rate={train.learning_rate:g}"]
    options += [f"{name}={value}" for name, value in train.optimizer_options.items()]
    return f"{OPTIMIZER_CLASSES[train.optimizer].__name__}({', '.join(options)})"


def header_lines(config: Config, dataset: Dataset) -> list[str]:
    """Describe what is about to be trained, one fact per line."""
    model = config.model
    n_train = len(dataset.x_train)
    widths = [dataset.n_features, *model.hidden_units, dataset.n_classes]
    hidden = f"{model.activation} hidden layers" if model.hidden_units else "linear model, no hidden layer"
    source = dataset.name
    if dataset.name == "csv":
        source = f"{config.data.path} (label column {config.data.label_column!r})"
    return [
        f"data       {source}: {n_train} train rows, {len(dataset.x_test)} test rows, "
        f"{dataset.n_features} features, {dataset.n_classes} classes",
        "features   " + ", ".join(dataset.feature_names),
        "classes    " + ", ".join(f"{index}={name!r}" for index, name in enumerate(dataset.class_names)),
        f"network    {'-'.join(map(str, widths))} dense, {hidden}, linear output layer",
        f"loss       {model.loss} + l2 term (l2={model.l2:g})",
        f"optimizer  {describe_optimizer(config)}",
        f"batch      {describe_batch(config, n_train)}",
        f"epochs     {config.train.epochs}, seed {config.seed}, log every {config.train.log_every}",
    ]


def epoch_line(record: dict, epochs: int) -> str:
    """Format one history row as a fixed-width line of key=value fields."""
    width = len(str(epochs))
    line = (f"epoch {record['epoch']:>{width}}/{epochs} loss={record['loss']:.6f} "
            f"data_loss={record['data_loss']:.6f} l2_loss={record['l2_loss']:.6f} "
            f"train_accuracy={record['train_accuracy']:.4f} test_accuracy={record['test_accuracy']:.4f}")
    if "validation_loss" in record:
        line += (f" validation_loss={record['validation_loss']:.6f}"
                 f" validation_accuracy={record['validation_accuracy']:.4f}")
    return line


def is_log_epoch(epoch: int, first_epoch: int, epochs: int, log_every: int) -> bool:
    """Return True for the first epoch, every `log_every`-th epoch and the last one."""
    return epoch in (first_epoch, epochs) or epoch % log_every == 0


class EpochLogger(Callback):
    """Log the first epoch, every `log_every`-th epoch and the last one."""

    def __init__(self, epochs: int, log_every: int, first_epoch: int = 1):
        self.epochs, self.log_every, self.first_epoch = epochs, log_every, first_epoch

    def on_epoch_end(self, trainer, record: dict) -> bool:
        if is_log_epoch(record["epoch"], self.first_epoch, self.epochs, self.log_every):
            log.info(epoch_line(record, self.epochs))
        return False


def final_metrics(dataset: Dataset, probabilities: np.ndarray, history: list[dict], steps: int) -> dict:
    """Collect the final evaluation on the test rows into a JSON-ready dict."""
    true = dataset.labels_test
    predicted = probabilities.argmax(axis=1)
    classes = list(range(dataset.n_classes))
    precision, recall, _, support = precision_recall_fscore_support(
        true, predicted, labels=classes, zero_division=0)
    last = history[-1]
    return {
        "epochs": last["epoch"],
        "steps": steps,
        "seconds": round(last["seconds"], 3),
        "loss": last["loss"],
        "data_loss": last["data_loss"],
        "l2_loss": last["l2_loss"],
        "train_accuracy": last["train_accuracy"],
        "test_accuracy": float(np.mean(true == predicted)),
        "confusion_matrix": confusion_matrix(true, predicted, labels=classes).tolist(),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "support": int(s)}
            for name, p, r, s in zip(dataset.class_names, precision, recall, support)
        },
    }


def finished_line(metrics: dict) -> str:
    """Say how long training ran, and which epoch's weights are evaluated if not the last one."""
    trained = metrics.get("epochs_trained", metrics["epochs"])
    line = f"finished   {trained} epochs in {metrics['seconds']:.2f} s"
    if trained == metrics["epochs"]:
        return f"{line}, {metrics['steps']} steps"
    return f"{line}; evaluated below: the weights of epoch {metrics['epochs']} ({metrics['steps']} steps)"


def summary_lines(metrics: dict, class_names: tuple[str, ...]) -> list[str]:
    """Render the final test accuracy, confusion matrix and per-class precision and recall."""
    width = max(12, *(len(name) + 2 for name in class_names))
    lines = [
        finished_line(metrics),
        f"test accuracy {metrics['test_accuracy']:.4f} (train accuracy {metrics['train_accuracy']:.4f}, "
        f"loss {metrics['loss']:.6f})",
        "confusion matrix on the test rows (rows: true class, columns: predicted class)",
    ]
    lines += confusion_lines(metrics["confusion_matrix"], class_names, width)
    lines.append(f"{'class':<{width}}{'precision':>{width}}{'recall':>{width}}{'support':>{width}}")
    for name in class_names:
        scores = metrics["per_class"][name]
        lines.append(f"{name:<{width}}{scores['precision']:>{width}.4f}{scores['recall']:>{width}.4f}"
                     f"{scores['support']:>{width}}")
    return lines


def confusion_lines(matrix, class_names: tuple[str, ...], width: int) -> list[str]:
    """Render a confusion matrix with true classes as rows and predicted classes as columns."""
    lines = [" " * width + "".join(f"{name:>{width}}" for name in class_names)]
    for name, row in zip(class_names, matrix):
        lines.append(f"{name:<{width}}" + "".join(f"{count:>{width}}" for count in row))
    return lines


def saving_lines(config: Config) -> list[str]:
    """Describe checkpointing and early stopping, the settings that decide what a run saves."""
    train = config.train
    every = f"every {train.checkpoint_every} epochs and " if train.checkpoint_every else ""
    lines = [f"checkpoint {every}at the end, keeping the latest {train.keep_checkpoints}"]
    stopping = train.early_stopping
    if stopping.patience:
        lines.append(f"early stop when validation_loss has not improved by more than {stopping.min_delta:g} "
                     f"for {stopping.patience} epochs; the best epoch's weights are saved")
    return lines
