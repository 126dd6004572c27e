"""Early stopping on the validation loss, keeping the training state of the best epoch.

The best epoch is the last one whose validation_loss fell below the best so far by more than
min_delta. Its state is copied inside the graph (`Trainer.keep_best`), so the checkpoint code
can save it and the end of training can make it the final state.
"""

import logging
import math
from typing import Sequence

from config import EarlyStoppingConfig
from training import Callback, Trainer

log = logging.getLogger("descent")


class EarlyStopping(Callback):
    """Stop once validation_loss has not improved by more than min_delta for patience epochs.

    The history of a resumed run is replayed, so the best epoch and the count of epochs without
    an improvement continue where the run stopped. If this patience would have stopped the run
    within that history, `stopped_epoch` is set to that epoch.
    """

    def __init__(self, config: EarlyStoppingConfig, history: Sequence[dict] = ()):
        self.patience = config.patience
        self.min_delta = config.min_delta
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0
        self.longest_wait = 0  # the maximum number of consecutive epochs without an improvement so far
        self.stopped_epoch: int | None = None
        for record in history:
            self._update(record)
            if self.stopped_epoch is None and self._patience_exhausted():
                self.stopped_epoch = record["epoch"]

    def _update(self, record: dict) -> bool:
        """Track the best epoch; return True if this epoch is the new best."""
        if record["validation_loss"] < self.best_loss - self.min_delta:
            self.best_loss = record["validation_loss"]
            self.best_epoch = record["epoch"]
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        self.longest_wait = max(self.longest_wait, self.epochs_without_improvement)
        return False

    def _patience_exhausted(self) -> bool:
        return self.epochs_without_improvement >= self.patience

    def needs_session(self, epoch: int) -> bool:
        # Any epoch may turn out to be the best, and its state must be copied right after it.
        return True

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        if self._update(record):
            trainer.keep_best()
        if not self._patience_exhausted():
            return False
        self.stopped_epoch = record["epoch"]
        log.info(f"early stopping at epoch {self.stopped_epoch}: validation_loss has not improved by more than "
                 f"min_delta={self.min_delta:g} for {self.patience} epochs; the best epoch is {self.best_epoch} "
                 f"(validation_loss={self.best_loss:.6f})")
        return True
