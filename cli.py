"""Command-line plumbing shared by the entry scripts; it imports no TensorFlow.

Entry scripts call `import_tensorflow` before importing the training code, so that
`--help` and bad flags return quickly, and run `main` through `run_main` for the exit codes.
"""

import argparse
import difflib
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from errors import InputError

PROJECT_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = PROJECT_DIR / "config.yaml"
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130  # what shells report for a process ended by SIGINT (128 + 2)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr with exit status 2.

    Prefixes of long options are not accepted, so a typo such as --seed for --seeds is an error
    rather than a silent match.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._suggestion(extras)}")
        return parsed

    def _suggestion(self, extras: Sequence[str]) -> str:
        """Suggest the known option closest to the first unknown one, as in '; did you mean --sample?'."""
        known = [option for action in self._actions for option in action.option_strings]
        for extra in extras:
            if extra.startswith("--"):
                close = difflib.get_close_matches(extra.split("=")[0], known, n=1, cutoff=0.6)
                if close:
                    return f"; did you mean {close[0]}?"
        return ""

    def error(self, message: str) -> None:
        joint = " See" if message.endswith("?") else "; see"
        self.exit(EXIT_INPUT_ERROR, f"error: {message}{joint} {self.prog} --help\n")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="PATH",
                        help="YAML file of settings (default: config.yaml beside train.py)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one setting, such as train.learning_rate=0.05; repeatable; "
                             "VALUE is read as YAML")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log messages and deprecation warnings")


def settings_help() -> str:
    """List every setting with its description, for the end of --help."""
    import dataclasses

    from config import SECTIONS, Config

    lines = ["settings (config.yaml keys, also accepted by --set):"]
    rows = [("seed", dataclasses.fields(Config)[0])]
    for section, cls in SECTIONS.items():
        rows += [(f"{section}.{item.name}", item) for item in dataclasses.fields(cls)]
    for key, item in rows:
        lines.append(f"  {key:<26} {item.metadata['doc']}")
    return "\n".join(lines)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)


def import_tensorflow(verbose: bool = False):
    """Import TensorFlow in graph mode, with its start-up and C++ log messages off unless `verbose`.

    TensorFlow 2.21 prints some start-up lines through absl before TF_CPP_MIN_LOG_LEVEL takes
    effect, so standard error is sent to a temporary file during the import and replayed only
    if the import fails.
    """
    if verbose:
        import tensorflow as tf
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        tf = _import_with_stderr_captured()
        tf.get_logger().setLevel(logging.ERROR)
        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    tf.compat.v1.disable_eager_execution()
    return tf


def _import_with_stderr_captured():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
        except Exception:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf


def run_main(main: Callable[[Sequence[str] | None], int]) -> None:
    """Run an entry script's main and exit with its status; bad input exits 2 with one line."""
    if hasattr(signal, "SIGPIPE"):
        # End quietly when the reader of the output goes away, as in `python train.py | head`.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        status = main(None)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        status = EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        # Training handles Ctrl-C itself, so this is an interrupt during start-up or after a second Ctrl-C.
        print("error: interrupted; files saved before the interrupt are kept", file=sys.stderr)
        status = EXIT_INTERRUPTED
    sys.exit(status)
