"""Stop training cleanly on SIGINT (Ctrl-C) or SIGTERM, at the end of the current epoch."""

import signal

from training import Callback, Trainer

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(Callback):
    """Turn the first SIGINT or SIGTERM into a stop after the current epoch.

    Use it as a context manager around training: it installs the handlers on entry and puts
    the previous ones back on exit. A second signal raises KeyboardInterrupt at once, for a
    user who does not want to wait for the files to be written.
    """

    def __init__(self):
        self.signal_name: str | None = None  # the signal received, such as SIGINT
        self._previous = {}

    def __enter__(self) -> "StopOnSignal":
        for number in SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame) -> None:
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(number).name

    def needs_session(self, epoch: int) -> bool:
        return self.signal_name is not None

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        if self.signal_name is None:
            return False
        # Stop only if the session's weights are those of this epoch, which is true when `fit`
        # ended its Session call here. Otherwise needs_session makes the next call one epoch long.
        return trainer.global_step() == record["epoch"] * trainer.steps_per_epoch
