"""The run folder: the one place that creates runs/<name>/ and writes its files.

Every file is written to a temporary name in the same folder and renamed into place, so a crash
never leaves a half-written file, and a new run never reuses or overwrites an earlier folder.
"""

import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from config import Config, dump_config
from errors import InputError
from training import HISTORY_COLUMNS

DEFAULT_RUNS_DIR = Path("runs")


def create_run_dir(runs_dir: Path, name: str | None, label: str) -> Path:
    """Create and return a new run folder; a chosen name that exists is an error, never reused.

    Without `name` the folder is `<date>-<time>-<label>`, with a counter added if that exists.
    """
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create runs folder {runs_dir}: {error.strerror}; choose another --runs-dir") from None
    if name is not None:
        if not name or "/" in name or name in (".", ".."):
            raise InputError(f"invalid run name {name!r}: use a plain folder name such as adam-lr0.01")
        path = runs_dir / name
        try:
            path.mkdir()
        except FileExistsError:
            raise InputError(f"run folder {path} already exists; choose another --name") from None
        return path

    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}"
    for attempt in range(1, 1000):
        path = runs_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise InputError(f"too many runs named {stem}* in {runs_dir}; pass --name")


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a temporary path in the same folder, then rename it to `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual file mode
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` through a temporary file and a rename."""
    replace_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8", newline=""))


def save_figure(path: Path, figure) -> None:
    """Save a matplotlib figure to `path` (format from the suffix) through a temporary file."""
    replace_atomically(path, lambda temporary: figure.savefig(temporary, format=path.suffix.lstrip(".")))


def write_config(run_dir: Path, config: Config) -> None:
    write_atomic(run_dir / "config.yaml", dump_config(config))


def write_history(run_dir: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({key: _format_number(record[key]) for key in HISTORY_COLUMNS})
    write_atomic(run_dir / "history.csv", buffer.getvalue())


def _format_number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.9g}"


def write_metrics(run_dir: Path, metrics: dict) -> None:
    write_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
