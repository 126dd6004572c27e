"""Turn the workers' timings into the results table, the goal checks and bench/RESULTS.md."""

import os
import platform
import statistics
import time
from pathlib import Path

ORDER = ("naive", "project", "numpy", "sklearn", "keras")

# Goals of the project's loop, per update and at every batch size: the largest allowed ratio
# of its time to each other implementation's time.
GOALS = {"naive": 0.2, "numpy": 1.0, "sklearn": 0.25, "keras": 0.1}


def paired_ratio(result: dict) -> float:
    """Return the median over repeats of (implementation time / NumPy time in the same repeat)."""
    pairs = zip(result["seconds_per_update"], result["numpy_seconds_per_update"])
    return statistics.median(own / numpy for own, numpy in pairs)


def table_rows(payloads: dict) -> list[dict]:
    """Return one row per batch size and implementation, with times and ratios.

    Each process times the NumPy reference too, so a ratio between two implementations that
    ran in different processes goes through NumPy: (a / NumPy in a's process) over
    (b / NumPy in b's process).
    """
    rows = []
    for index, naive in enumerate(payloads["naive"]["results"]):
        results = {group: payload["results"][index] for group, payload in payloads.items()}
        per_numpy = {group: paired_ratio(result) for group, result in results.items()} | {"numpy": 1.0}
        for group in ORDER:
            row = numpy_row(results) if group == "numpy" else implementation_row(payloads[group], results[group])
            rows.append(row | {"batch_size": naive["batch_size"], "group": group, "vs_numpy": per_numpy[group],
                               "vs_naive": per_numpy[group] / per_numpy["naive"]})
    return rows


def implementation_row(payload: dict, result: dict) -> dict:
    return {"implementation": payload["implementation"], "epochs": result["epochs"],
            "micros": statistics.median(result["seconds_per_update"]) * 1e6,
            "test_accuracy": result["test_accuracy"], "setup_seconds": result["setup_seconds"]}


def numpy_row(results: dict) -> dict:
    """Return the NumPy reference's row, with the median of its times in every process.

    Its accuracy comes from the project's process, whose runs have as many epochs as the naive loop's.
    """
    times = [seconds for result in results.values() for seconds in result["numpy_seconds_per_update"]]
    return {"implementation": "NumPy backprop", "epochs": results["project"]["epochs"],
            "micros": statistics.median(times) * 1e6, "test_accuracy": results["project"]["numpy_test_accuracy"],
            "setup_seconds": None}


def goal_lines(rows: list[dict]) -> list[str]:
    """Check the project's loop against each goal, one line per batch size and goal."""
    lines = []
    for size in dict.fromkeys(row["batch_size"] for row in rows):
        by_group = {row["group"]: row for row in rows if row["batch_size"] == size}
        project = by_group["project"]
        for group, limit in GOALS.items():
            ratio = project["vs_numpy"] / by_group[group]["vs_numpy"]
            verdict = "met" if ratio <= limit else "MISSED"
            lines.append(f"batch {size!s:>4}: project / {by_group[group]['implementation']:<26} "
                         f"{ratio:6.3f}  (goal <= {limit:g})  {verdict}")
        same = project["test_accuracy"] == by_group["naive"]["test_accuracy"]
        lines.append(f"batch {size!s:>4}: test accuracy project {project['test_accuracy']:.4f}, "
                     f"naive {by_group['naive']['test_accuracy']:.4f}  {'same' if same else 'DIFFERENT'}")
    return lines


def format_table(rows: list[dict]) -> list[str]:
    header = "| batch | epochs | implementation | µs/update | × naive | × NumPy | test accuracy | setup s |"
    lines = [header, "|---|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        setup = "" if row["setup_seconds"] is None else f"{row['setup_seconds']:.3f}"
        lines.append(f"| {row['batch_size']} | {row['epochs']} | {row['implementation']} | {row['micros']:.1f} | "
                     f"{row['vs_naive']:.3f} | {row['vs_numpy']:.2f} | {row['test_accuracy']:.4f} | {setup} |")
    return lines


def startup_lines(startup: dict | None) -> list[str]:
    if startup is None:
        return ["Not measured in this run (--skip-startup)."]
    share = startup["import_tensorflow"] / startup["train"]
    return [f"Median of {startup['rounds']} run(s), whole-process wall-clock time:", "",
            f"- `python train.py --help`: {startup['help']:.2f} s",
            f"- `python -c \"import tensorflow\"`: {startup['import_tensorflow']:.2f} s",
            f"- `python train.py` (default config): {startup['train']:.2f} s, "
            f"of which importing TensorFlow is about {share:.0%}"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine_lines(payloads: dict, load_before: tuple) -> list[str]:
    versions = {}
    for payload in payloads.values():
        versions.update(payload["versions"])
    loads = ", ".join(f"{group} {payload['load_average'][0]:.2f}" for group, payload in payloads.items())
    return [f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores, {memory_gib()} memory",
            f"- OS: {platform.platform()}",
            "- versions: " + ", ".join(f"{name} {version}" for name, version in sorted(versions.items())),
            f"- load average (1 min) before the run: {load_before[0]:.2f}; at the end of each process: {loads}"]
