"""Compare optimisers, learning rates and random initialisations by training real models.

Usage:
    python compare.py optimizers
    python compare.py learning-rates --rates 0.01,0.1,1,10
    python compare.py seeds --seeds 20 --epochs 500

Each command trains its runs with the project's training loop and writes a new folder
runs/compare/<date>-<time>-<command>/ with a figure, table.csv, table.md, histories.csv,
config.yaml and runs.yaml, then prints the table. Exit status: 0 on success, 2 on invalid input.
"""

import argparse
import logging
import math
import textwrap
from pathlib import Path
from typing import Sequence

from cli import ArgumentParser, add_config_arguments, configure_logging, import_tensorflow, run_main, settings_help
from comparison_config import (DEFAULT_METHOD_TABLE, DEFAULT_RATES, DEFAULT_SEED_COUNT, DEFAULT_TARGET_ACCURACY,
                               STATUS_RULE, Plan, plan_learning_rates, plan_optimizers, plan_seeds)

log = logging.getLogger("descent")

DEFAULT_RUNS_DIR = Path("runs") / "compare"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a whole number >= 1")
    return value


def target_accuracy(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a train accuracy in (0, 1], such as 0.95")
    return value


def learning_rates(text: str) -> tuple[float, ...]:
    """Parse comma-separated learning rates, each finite and > 0, without repeats."""
    expected = "expected comma-separated learning rates > 0, such as 0.01,0.1,1,10"
    try:
        rates = tuple(float(item) for item in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: {expected}") from None
    if not all(math.isfinite(rate) and rate > 0 for rate in rates):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: {expected}")
    if len(set(rates)) != len(rates):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: a learning rate appears twice; list each once")
    return rates


def add_shared_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--epochs", type=positive_int, metavar="N",
                        help="epochs of every run; wins over --set train.epochs and the method table")
    parser.add_argument("--target-accuracy", type=target_accuracy, default=DEFAULT_TARGET_ACCURACY, metavar="A",
                        help="train accuracy that counts as converged and that the 'to target' columns wait for "
                             f"(default: {DEFAULT_TARGET_ACCURACY:g})")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, metavar="DIR",
                        help=f"folder that receives the new comparison folder (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--name", help="name of the new comparison folder (default: date, time and command)")


def status_rule_help() -> str:
    return "status rule:\n" + textwrap.fill(STATUS_RULE, width=79, initial_indent="  ", subsequent_indent="  ")


def add_command(commands, name: str, summary: str, details: str) -> argparse.ArgumentParser:
    description = textwrap.fill(f"{summary[0].upper()}{summary[1:]}. {details}", width=79)
    parser = commands.add_parser(name, help=summary, description=description,
                                 epilog=f"{status_rule_help()}\n\n{settings_help()}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser)
    return parser


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="compare.py",
        description="Train several models with the project's training loop and draw how they compare. "
                    "Every command writes a new folder under runs/compare/ and prints its table.",
        epilog=status_rule_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    optimizers = add_command(
        commands, "optimizers", "batch, stochastic and mini-batch gradient descent, momentum, AdaGrad, RMSProp "
        "and Adam from the same seed and initial weights",
        "Each method's optimizer, learning rate, batch size and options come from the method table; the "
        "method table's epochs apply unless --set train.epochs or --epochs is given.")
    optimizers.add_argument("--methods", type=Path, default=DEFAULT_METHOD_TABLE, metavar="PATH",
                            help="YAML method table (default: configs/compare/optimizers.yaml)")
    rates = add_command(
        commands, "learning-rates", "one optimiser across learning rates",
        "The optimiser, batch size and epochs come from the config file and --set; each rate replaces "
        "train.learning_rate.")
    rates.add_argument("--rates", type=learning_rates, default=DEFAULT_RATES, metavar="LIST",
                       help="comma-separated learning rates (default: "
                            f"{','.join(f'{rate:g}' for rate in DEFAULT_RATES)})")
    seeds = add_command(
        commands, "seeds", "one configuration from many random initialisations",
        "Seeds run from the configured seed upwards. The seed sets the initial weights and the epoch order; "
        "the train/test split stays that of the configured seed, so the test rows are the same for all.")
    seeds.add_argument("--seeds", type=positive_int, default=DEFAULT_SEED_COUNT, metavar="N",
                       help=f"number of seeds (default: {DEFAULT_SEED_COUNT})")
    return parser


def make_plan(args: argparse.Namespace) -> Plan:
    shared = (args.config, args.overrides, args.epochs)
    if args.command == "optimizers":
        return plan_optimizers(*shared, args.methods, args.target_accuracy)
    if args.command == "learning-rates":
        return plan_learning_rates(*shared, args.rates, args.target_accuracy)
    return plan_seeds(*shared, args.seeds, args.target_accuracy)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    plan = make_plan(args)
    import_tensorflow(args.verbose)

    from comparison import run_comparison

    run_dir, table = run_comparison(plan, args.runs_dir, args.name)
    print(table, end="")
    log.info(f"saved      {run_dir}/")
    return 0


if __name__ == "__main__":
    run_main(main)
