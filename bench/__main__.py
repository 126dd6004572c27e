"""Benchmark the project's training loop against a naive TF1 loop, NumPy, scikit-learn and Keras.

Usage:
    python -m bench            # about 2 minutes on a 2-core machine; writes bench/RESULTS.md
    python -m bench --quick    # fewer epochs and repeats, under a minute; prints only

For batch sizes full (120 rows), 16 and 1 it measures the median time per update of each
implementation training the 4-10-10-3 sigmoid network (bench/settings.py), each in its own
process with the NumPy reference timed beside it (bench/worker.py). It prints the table, the
goal checks and the whole-process start-up times. A full run also writes them to
bench/RESULTS.md. A --quick run writes a file only when --output names one, so its figures,
from fewer epochs and repeats, never replace the recorded ones.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.startup import measure_startup

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "RESULTS.md"  # a full run's results; --quick runs leave it alone
# The project group runs first: it writes the initial weights that the later groups start from.
GROUP_ORDER = ("project", "naive", "sklearn", "keras")


def run_worker(group: str, folder: Path, quick: bool) -> dict:
    """Run one worker process and return its JSON results; raise with its stderr if it fails."""
    output = folder / f"{group}.json"
    weights = folder / "initial_weights.npz"
    command = [sys.executable, "-m", "bench.worker", group, "--output", str(output)]
    command += ["--weights-out" if group == "project" else "--weights", str(weights)]
    if quick:
        command.append("--quick")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=BENCH_DIR.parent, env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"worker {group} failed with exit status {completed.returncode}:\n{completed.stderr}")
    print(f"  {group:<8} done in {time.perf_counter() - started:5.1f} s", flush=True)
    return json.loads(output.read_text())


def results_markdown(args, rows, goals, startup, machine, seconds) -> str:
    mode = "python -m bench --quick" if args.quick else "python -m bench"
    return "\n".join([
        "# Training loop benchmark", "",
        f"Written by `{mode}` on {time.strftime('%Y-%m-%d %H:%M')} in {seconds:.0f} s. Times are per update "
        "(one parameter update on one batch), medians over interleaved repeats after a warm-up; "
        "ratios go through the NumPy reference timed in the same process (see bench/report.py).", "",
        "## Machine", "", *machine, "",
        "## Time per update", "", *report.format_table(rows), "",
        "## Goals of the project's loop", "", "```", *goals, "```", "",
        "## Start-up", "", *startup, "",
        "## What each implementation does", "",
        "- naive TF1 loop: bench/naive_tf1.py, default Session settings, one fed `sess.run` per update "
        "and two per epoch for the history metrics. Its first `sess.run` builds its executors inside the "
        "timed loop; the project's Trainer does that in its setup.",
        "- project loop: `training.Trainer` (setup) and `training.fit` (timed), with the same per-epoch "
        "history (loss terms and accuracy on the training rows, accuracy on the test rows).",
        "- NumPy backprop: bench/numpy_reference.py, float32, same history per epoch, same initial "
        "weights and shuffles as the project.",
        "- scikit-learn MLPClassifier: `fit` with `max_iter` = epochs and `tol=0`; softmax with log-loss "
        "output, its own initial weights and shuffles; records only the training loss per epoch.",
        "- Keras Model.fit: default compile settings (no XLA on a CPU-only machine), same initial "
        "weights, its own shuffles; records only the training loss per epoch. It trains fewer epochs "
        "(the epochs column) because it spends tens of milliseconds per epoch outside its updates, "
        "so its test accuracy is lower.",
        "- setup s: building the model or graph and Session before training, not in the time per update.",
        "",
    ])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs, repeats and start-up rounds; prints the results and writes "
                             "no file unless --output is given")
    parser.add_argument("--skip-startup", action="store_true",
                        help="skip the whole-process timing of train.py and import tensorflow")
    parser.add_argument("--output", type=Path, metavar="PATH",
                        help="Markdown file for the results (default: bench/RESULTS.md for a full run, "
                             "none for --quick)")
    args = parser.parse_args(argv)
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    started = time.perf_counter()
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        payloads = {group: run_worker(group, Path(folder), args.quick) for group in GROUP_ORDER}
    startup = None
    if not args.skip_startup:
        startup = measure_startup(rounds=1 if args.quick else 3)

    rows = report.table_rows(payloads)
    goals = report.goal_lines(rows)
    startup_text = report.startup_lines(startup)
    machine = report.machine_lines(payloads, load_before)
    print("\n".join(["", *machine, "", *report.format_table(rows), "", *goals, "", *startup_text]))
    if args.output is None:
        print(f"\n{DEFAULT_OUTPUT} is unchanged, because --quick only prints; "
              f"pass --output PATH to save these results")
        return 0
    markdown = results_markdown(args, rows, goals, startup_text, machine, time.perf_counter() - started)
    args.output.write_text(markdown)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
