"""Train a dense network with gradient descent on Iris, Wine, Breast Cancer or a CSV file, as set in config.yaml.

Usage:
    python train.py
    python train.py --config configs/adam.yaml --set train.epochs=500 --name adam-500
    python train.py --set data.name=csv --set data.path=flowers.csv --set data.label_column=species

Each run writes a new folder runs/<name>/ with the resolved config.yaml, history.csv and
metrics.json. Exit status: 0 on success, 1 if the loss diverges, 2 on invalid input.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from cli import ArgumentParser, add_config_arguments, configure_logging, import_tensorflow, run_main, settings_help
from config import resolve_config

log = logging.getLogger("descent")


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(
        prog="train.py",
        description="Train a dense network with gradient descent (TensorFlow 1.x graph style).",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser)
    parser.add_argument("--name", help="name of the new run folder (default: date, time and optimizer)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR",
                        help="folder that holds the run folders (default: runs)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    config = resolve_config(args.config, args.overrides)
    # Loaded before TensorFlow is imported, so a bad data file is reported without waiting for the import.
    from data import load_dataset
    dataset = load_dataset(config.data, config.seed)
    import_tensorflow(args.verbose)

    import runs
    from report import EpochLogger, final_metrics, header_lines, summary_lines
    from training import DivergedError, Trainer, check_config_fits_data, fit

    check_config_fits_data(config, dataset)
    run_dir = runs.create_run_dir(args.runs_dir, args.name, config.train.optimizer)
    runs.write_config(run_dir, config)
    for line in header_lines(config, dataset) + [f"run folder {run_dir}"]:
        log.info(line)

    epochs = config.train.epochs
    with Trainer(config, dataset) as trainer:
        try:
            history = fit(trainer, epochs, callbacks=[EpochLogger(epochs, config.train.log_every)])
        except DivergedError as error:
            runs.write_history(run_dir, error.history)
            print(f"error: {error}", file=sys.stderr)
            return 1
        probabilities = trainer.predict_probabilities(dataset.x_test)
        metrics = final_metrics(dataset, probabilities, history, trainer.global_step())

    runs.write_history(run_dir, history)
    runs.write_metrics(run_dir, metrics)
    for line in summary_lines(metrics, dataset.class_names):
        log.info(line)
    log.info(f"saved      {run_dir}/config.yaml, history.csv, metrics.json")
    return 0


if __name__ == "__main__":
    run_main(main)
