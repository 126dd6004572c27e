"""Train a dense network on Iris with gradient descent, as set in config.yaml.

Usage:
    python train.py
    python train.py --config configs/adam.yaml --set train.epochs=500 --name adam-500
    python train.py --resume runs/adam-500 --set train.epochs=1000

Each run writes a new folder runs/<name>/ with the resolved config.yaml, history.csv,
metrics.json, curves.png, model.json, checkpoints/ and TensorBoard event files. --resume
continues a run in its own folder from its latest checkpoint. SIGINT (Ctrl-C) or SIGTERM stops
training after the current epoch and saves everything so far. Exit status: 0 on success, 1 if
the loss diverges, 2 on invalid input, 130 when stopped by a signal.
"""

import argparse
import sys
from pathlib import Path
from typing import Sequence

from cli import (DEFAULT_CONFIG, ArgumentParser, add_config_arguments, configure_logging, import_tensorflow,
                 run_main, settings_help)
from config import resolve_config
from errors import InputError
from resume import resolve_resume_config


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(
        prog="train.py",
        description="Train a dense network with gradient descent (TensorFlow 1.x graph style).",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser)
    parser.add_argument("--name", help="name of the new run folder (default: date, time and optimizer)")
    parser.add_argument("--runs-dir", type=Path, metavar="DIR",
                        help="folder that contains the run folders (default: runs)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue this run folder from its latest checkpoint, with its config.yaml; "
                             "--set may change only train.epochs, log_every, checkpoint_every, keep_checkpoints "
                             "and early_stopping.patience")
    parser.set_defaults(config=None)  # None: no --config given, which --resume requires
    return parser.parse_args(argv)


def check_resume_arguments(args) -> None:
    if args.resume is None:
        return
    for flag, value in (("--config", args.config), ("--name", args.name), ("--runs-dir", args.runs_dir)):
        if value is not None:
            raise InputError(f"{flag} cannot be combined with --resume, because a resumed run keeps its folder "
                             f"and its config.yaml; change settings with --set")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    check_resume_arguments(args)
    if args.resume is None:
        config = resolve_config(args.config or DEFAULT_CONFIG, args.overrides)
    else:
        config = resolve_resume_config(args.resume, args.overrides)
    # Loaded before TensorFlow is imported, so a bad data file is reported without waiting for the import.
    from data import load_dataset

    dataset = load_dataset(config.data, config.seed)
    import_tensorflow(args.verbose)

    import runner
    from runs import DEFAULT_RUNS_DIR

    try:
        if args.resume is not None:
            return runner.resume_run(args.resume, config, dataset)
        status, _ = runner.train_new_run(config, dataset, args.runs_dir or DEFAULT_RUNS_DIR, args.name)
        return status
    except KeyboardInterrupt:
        print("error: aborted by a second signal; the run folder keeps the files saved before it", file=sys.stderr)
        return runner.EXIT_STOPPED


if __name__ == "__main__":
    run_main(main)
