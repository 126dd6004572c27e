"""Whole-process times: `python train.py` on the default config against `import tensorflow` alone."""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def process_seconds(command: list[str]) -> float:
    """Run a command from the project folder and return its wall-clock seconds; raise if it fails."""
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_DIR, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def measure_startup(rounds: int) -> dict:
    """Return the median seconds of `train.py --help`, `import tensorflow` and a default training run.

    The training runs write their run folders into a temporary folder, deleted afterwards.
    """
    python = sys.executable
    times = {"help": [], "import_tensorflow": [], "train": []}
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs_dir:
        for index in range(rounds):
            times["help"].append(process_seconds([python, "train.py", "--help"]))
            times["import_tensorflow"].append(process_seconds([python, "-c", "import tensorflow"]))
            times["train"].append(process_seconds([python, "train.py", "--runs-dir", runs_dir,
                                                   "--name", f"startup-{index}"]))
    return {name: statistics.median(values) for name, values in times.items()} | {"rounds": rounds}
