"""Train one run and save its folder: a new run, or a resumed one continuing from its checkpoint.

train.py resolves the settings and calls `train_new_run` or `resume_run`; both return the exit
status and leave a run folder that predict.py and `--resume` can use.
"""

import logging
import sys
from contextlib import ExitStack
from pathlib import Path

import runs
from checkpoints import PeriodicCheckpoint, RunSaver, find_resume_point, restore
from config import Config
from data import Dataset
from early_stopping import EarlyStopping
from interrupt import StopOnSignal
from plots import training_curves
from progress import ProgressBar, wants_progress_bar
from report import EpochLogger, final_metrics, header_lines, saving_lines, summary_lines
from summaries import TensorBoardLogger
from training import Callback, DivergedError, Trainer, check_config_fits_data, fit

log = logging.getLogger("descent")

EXIT_DIVERGED = 1
EXIT_STOPPED = 130  # what shells report for a process ended by SIGINT (128 + 2)


def log_header(config: Config, dataset: Dataset, run_dir: Path) -> None:
    for line in header_lines(config, dataset) + saving_lines(config) + [f"run folder {run_dir}"]:
        log.info(line)


def train_new_run(config: Config, dataset: Dataset, runs_dir: Path, name: str | None) -> tuple[int, Path]:
    """Train a run in a new folder under `runs_dir`; return the exit status and the folder."""
    check_config_fits_data(config, dataset)
    run_dir = runs.create_run_dir(runs_dir, name, config.train.optimizer)
    runs.write_config(run_dir, config)
    log_header(config, dataset, run_dir)
    with Trainer(config, dataset) as trainer:
        return train_and_save(trainer, run_dir, []), run_dir


def resume_run(run_dir: Path, config: Config, dataset: Dataset) -> int:
    """Continue the run in `run_dir` from its latest checkpoint up to config.train.epochs."""
    check_config_fits_data(config, dataset)
    point = find_resume_point(run_dir, config, dataset)
    runs.write_config(run_dir, config)
    log_header(config, dataset, run_dir)
    with Trainer(config, dataset) as trainer:
        restore(trainer, point)
        log.info(f"resuming   after epoch {point.state.epoch}, from {point.state.latest}")
        return train_and_save(trainer, run_dir, point.history)


def shown_path(path: Path) -> str:
    """Return `path` relative to the current folder when it is below it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resume_command(run_dir: Path) -> str:
    """Return the command that continues `run_dir` with this Python and this project's train.py."""
    train_script = Path(__file__).resolve().parent / "train.py"
    return f"{shown_path(Path(sys.executable))} {shown_path(train_script)} --resume {run_dir}"


def train_and_save(trainer: Trainer, run_dir: Path, history: list[dict]) -> int:
    """Train from the end of `history` and save the run; return the exit status."""
    config = trainer.config
    stopping = config.train.early_stopping
    early_stopping = EarlyStopping(stopping, history) if stopping.patience else None
    saver = RunSaver(run_dir, trainer.dataset, early_stopping)
    with StopOnSignal() as stop:
        try:
            with ExitStack() as stack:
                callbacks = make_callbacks(stack, trainer, run_dir, saver, early_stopping, history)
                history = fit(trainer, config.train.epochs, callbacks + [stop], len(history) + 1, history)
        except DivergedError as error:
            runs.write_history(run_dir, error.history)
            runs.write_curves(run_dir, training_curves(error.history, config, trainer.n_train))
            print(f"error: {error}; the history so far is in {run_dir}", file=sys.stderr)
            return EXIT_DIVERGED
        finish_run(trainer, run_dir, saver, history, early_stopping, stop.signal_name)
    if stop.signal_name is None:
        return 0
    log.info(f"stopped by {stop.signal_name} after epoch {history[-1]['epoch']} of {config.train.epochs}; "
             f"continue with: {resume_command(run_dir)}")
    return EXIT_STOPPED


def make_callbacks(stack: ExitStack, trainer: Trainer, run_dir: Path, saver: RunSaver,
                   early_stopping: EarlyStopping | None, history: list[dict]) -> list[Callback]:
    """Create the callbacks of one training session; `stack` closes the writer and the progress bar."""
    train = trainer.config.train
    first_epoch = len(history) + 1
    # Early stopping goes first, so that a checkpoint at the same epoch already contains a new best.
    callbacks: list[Callback] = [early_stopping] if early_stopping is not None else []
    callbacks.append(PeriodicCheckpoint(train.checkpoint_every, saver, history))
    writer = runs.open_event_writer(run_dir, trainer.model.graph)
    stack.callback(writer.close)
    callbacks.append(TensorBoardLogger(writer, train.learning_rate, train.epochs, train.log_every, first_epoch))
    callbacks.append(EpochLogger(train.epochs, train.log_every, first_epoch))
    if wants_progress_bar(sys.stdout):
        from tqdm.contrib.logging import logging_redirect_tqdm

        stack.enter_context(logging_redirect_tqdm())
        bar = ProgressBar(train.epochs, first_epoch, sys.stdout)
        stack.callback(bar.close)
        callbacks.append(bar)
    return callbacks


def warn_if_loss_rose(history: list[dict], learning_rate: float) -> None:
    """Warn when training ended with a higher loss than after its first epoch.

    Above the stable step size the loss grows each epoch but can stay finite for hundreds of
    epochs, so a run can finish without the NaN that stops training.
    """
    first, last = history[0]["loss"], history[-1]["loss"]
    if last > first:
        log.warning(f"warning    the loss rose from {first:.6g} after epoch {history[0]['epoch']} to {last:.6g}; "
                    f"learning_rate {learning_rate:g} is probably too high, so lower it with "
                    f"--set train.learning_rate=...")


def finish_run(trainer: Trainer, run_dir: Path, saver: RunSaver, history: list[dict],
               early_stopping: EarlyStopping | None, signal_name: str | None) -> None:
    """Save the final state, then evaluate the saved weights into metrics.json, curves.png and the log."""
    checkpoint = saver.save(trainer, history)
    evaluated = history
    best_epoch = early_stopping.best_epoch if early_stopping is not None else None
    if best_epoch is not None:
        trainer.restore_best()
        evaluated = history[:best_epoch]
        log.info(f"best epoch {best_epoch} of {history[-1]['epoch']} by validation_loss: its weights are the ones "
                 f"saved and evaluated below")
    dataset = trainer.dataset
    metrics = final_metrics(dataset, trainer.predict_probabilities(dataset.x_test), evaluated, trainer.global_step())
    metrics["epochs_trained"] = history[-1]["epoch"]
    metrics["seconds"] = round(history[-1]["seconds"], 3)  # of all epochs trained, not only the evaluated ones
    stopped_early = early_stopping is not None and early_stopping.stopped_epoch is not None
    metrics["stop_reason"] = signal_name or ("early_stopping" if stopped_early else "epochs")
    runs.write_metrics(run_dir, metrics)
    runs.write_curves(run_dir, training_curves(history, trainer.config, trainer.n_train, best_epoch))
    for line in summary_lines(metrics, dataset.class_names):
        log.info(line)
    warn_if_loss_rose(history, trainer.config.train.learning_rate)
    log.info(f"saved      {run_dir}/config.yaml, history.csv, metrics.json, curves.png, model.json, "
             f"{checkpoint.relative_to(run_dir)}, TensorBoard events")
