"""A tqdm progress bar over epochs, for when the output is a terminal."""

from typing import TextIO

from tqdm import tqdm

from training import Callback, Trainer


def wants_progress_bar(stream: TextIO) -> bool:
    """Return True if `stream` is a terminal; files and pipes get only the periodic log lines."""
    return stream.isatty()


class ProgressBar(Callback):
    """Show epochs done, the latest loss and accuracies, and tqdm's estimate of the time left."""

    def __init__(self, epochs: int, first_epoch: int, stream: TextIO):
        self.bar = tqdm(total=epochs, initial=first_epoch - 1, unit="epoch", file=stream, dynamic_ncols=True)

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        fields = (f"loss={record['loss']:.4f} train_accuracy={record['train_accuracy']:.3f} "
                  f"test_accuracy={record['test_accuracy']:.3f}")
        if "validation_loss" in record:
            fields += f" validation_loss={record['validation_loss']:.4f}"
        self.bar.set_postfix_str(fields, refresh=False)
        self.bar.update(1)
        return False

    def close(self) -> None:
        self.bar.close()
