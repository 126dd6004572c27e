"""TensorBoard event files: the history's scalars every epoch and weight histograms now and then.

The scalar tags are the history.csv column names (loss, data_loss, l2_loss, train_accuracy,
test_accuracy and, with validation rows, validation_loss and validation_accuracy) plus
learning_rate. The step of every event is the epoch. Histograms are tagged histogram/ plus the
variable name, such as histogram/layer1/weights.
"""

import tensorflow as tf

from report import is_log_epoch
from training import VALIDATION_COLUMNS, Callback, Trainer

tf1 = tf.compat.v1

SCALAR_COLUMNS = ("loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy") + VALIDATION_COLUMNS


class TensorBoardLogger(Callback):
    """Write each epoch's scalars, and histograms on the epochs that get a log line."""

    def __init__(self, writer: tf1.summary.FileWriter, learning_rate: float,
                 epochs: int, log_every: int, first_epoch: int = 1):
        self.writer = writer
        self.learning_rate = learning_rate
        self.epochs, self.log_every, self.first_epoch = epochs, log_every, first_epoch
        if first_epoch > 1:
            # Tells TensorBoard to drop events at or after this step left by an earlier session,
            # such as epochs trained after the checkpoint that this run resumes from.
            writer.add_session_log(tf1.SessionLog(status=tf1.SessionLog.START), first_epoch)

    def needs_session(self, epoch: int) -> bool:
        return is_log_epoch(epoch, self.first_epoch, self.epochs, self.log_every)

    def on_epoch_end(self, trainer: Trainer, record: dict) -> bool:
        epoch = record["epoch"]
        values = [tf1.Summary.Value(tag=column, simple_value=record[column])
                  for column in SCALAR_COLUMNS if column in record]
        values.append(tf1.Summary.Value(tag="learning_rate", simple_value=self.learning_rate))
        self.writer.add_summary(tf1.Summary(value=values), epoch)
        if self.needs_session(epoch):
            self.writer.add_summary(trainer.weight_summary(), epoch)
        return False

    def close(self) -> None:
        self.writer.close()
