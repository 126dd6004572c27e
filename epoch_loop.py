"""The in-graph training loop: one Session call runs many epochs in a tf.while_loop.

Each epoch's history metrics are computed in the graph on the train, test and validation rows
that the session stored in variables, so a call returns one row of metrics per epoch. For a
network this small the cost of a Session call exceeds the cost of an update, which is why the
loop runs in the graph.
"""

import contextlib
from dataclasses import dataclass

import tensorflow as tf

from config import ModelConfig
from network import LossTerms, Network, class_accuracy, loss_terms

tf1 = tf.compat.v1

# An epoch of at most this many full batches is built as a sequence of updates rather than an
# inner while_loop: at batch size 16 that made an update about 5% faster (TensorFlow 2.21).
MAX_UNROLLED_BATCHES = 8


def local_variable(name: str, initial_value, shape) -> tf.Variable:
    """Create a variable outside the checkpointed set whose first dimension may change."""
    return tf1.Variable(initial_value, name=name, shape=shape, trainable=False, use_resource=True,
                        collections=[tf1.GraphKeys.LOCAL_VARIABLES])


@dataclass(frozen=True)
class StoredRows:
    """Rows kept in graph variables, read once per Session call."""

    features: tf.Tensor
    labels: tf.Tensor  # one-hot
    classes: tf.Tensor  # int64 class index per row, computed once rather than in every epoch


def read_rows(features: tf.Variable, labels: tf.Variable, n_rows: int | None = None) -> StoredRows:
    """Read stored rows; `n_rows` gives them a static shape, which simplifies their gradients."""
    x, y = features.value(), labels.value()
    if n_rows is not None:
        x, y = tf.reshape(x, [n_rows, x.shape[1]]), tf.reshape(y, [n_rows, y.shape[1]])
    return StoredRows(features=x, labels=y, classes=tf.argmax(y, axis=1))


# Columns of `epoch_metrics` and `train_epochs`: loss terms and accuracy on the training rows,
# then accuracy on the test rows, then loss and accuracy on the validation rows if there are any.
EPOCH_METRICS = ("loss", "data_loss", "l2_loss", "train_accuracy", "test_accuracy")


VALIDATION_METRICS = ("validation_loss", "validation_accuracy")


def epoch_metric_names(with_validation: bool) -> tuple[str, ...]:
    return EPOCH_METRICS + VALIDATION_METRICS if with_validation else EPOCH_METRICS


def metrics_row(parts: "LoopParts", parameters: tuple, terms: LossTerms, outputs: tf.Tensor) -> tf.Tensor:
    """Stack the epoch metrics from the loss terms and outputs on the training rows, then the other sets."""
    values = [terms.loss, terms.data_loss, terms.l2_loss, class_accuracy(outputs, parts.train.classes),
              class_accuracy(parts.network(parts.test.features, parameters), parts.test.classes)]
    if parts.validation is not None:
        validation_outputs = parts.network(parts.validation.features, parameters)
        validation_terms = loss_terms(validation_outputs, parts.validation.labels, parameters[0], parts.config)
        values += [validation_terms.loss, class_accuracy(validation_outputs, parts.validation.classes)]
    return tf.stack(values)


def epoch_metrics_of(parts: "LoopParts") -> tf.Tensor:
    """Build the epoch metrics of the network on the stored rows."""
    parameters = parts.network.read()
    outputs = parts.network(parts.train.features, parameters)
    terms = loss_terms(outputs, parts.train.labels, parameters[0], parts.config)
    return metrics_row(parts, parameters, terms, outputs)


@contextlib.contextmanager
def v1_control_flow():
    """Build tf.while_loop as v1 control flow (Enter, Merge, Switch ops), then restore the setting.

    Measured with TensorFlow 2.21 on 2 CPU cores (bench/): with v2 control flow, a While op
    whose body is a function, an update took up to 1.2 times as long, most at batch size 1.
    """
    was_v2 = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    try:
        yield
    finally:
        if was_v2:
            tf1.enable_control_flow_v2()


@dataclass(frozen=True)
class EpochsLoop:
    """Handles of the multi-epoch training loop, fields of the same names in Model."""

    epoch_orders: tf.Tensor
    train_epochs: tf.Tensor
    restore_snapshot: tf.Operation


@dataclass(frozen=True)
class LoopParts:
    """Inputs of the epoch loops: the network, its update rule and the stored rows."""

    network: Network
    optimizer: tf1.train.Optimizer
    global_step: tf.Variable
    train: StoredRows
    test: StoredRows
    validation: StoredRows | None  # None when the data set has no validation rows
    config: ModelConfig


def _update(parts: LoopParts, features, labels) -> tf.Operation:
    """Build one update on a batch in which every gradient is computed first.

    The explicit dependency orders every update after every gradient, so that no gradient
    can see weights that this update has already changed, whatever order the executor picks.
    """
    weights, biases = parameters = parts.network.read()
    terms = loss_terms(parts.network(features, parameters), labels, weights, parts.config)
    gradients = tf.gradients(terms.loss, weights + biases)
    variables = parts.network.weights + parts.network.biases
    with tf.control_dependencies(gradients):
        return parts.optimizer.apply_gradients(zip(gradients, variables))


def _mini_batch_epoch(parts: LoopParts, batch_size: int):
    """Return the body of an epoch of several batches: its updates, then its metrics."""
    n_train = parts.train.features.shape[0]
    full_batches, last_rows = divmod(n_train, batch_size)

    def update_on(order, first_row, rows: int):
        # A slice of static size gives the batch a static shape, so its gradient needs no shape ops.
        indices = tf.slice(order, [first_row], [rows])
        return _update(parts, tf.gather(parts.train.features, indices), tf.gather(parts.train.labels, indices))

    def train_step(order, step):
        with tf.control_dependencies([update_on(order, step * batch_size, batch_size)]):
            return step + 1

    def epoch_body(order):
        if full_batches <= MAX_UNROLLED_BATCHES:
            done = tf.no_op()
            for step in range(full_batches):
                with tf.control_dependencies([done]):
                    done = update_on(order, step * batch_size, batch_size)
        else:
            done = tf.while_loop(lambda step: step < full_batches, lambda step: train_step(order, step),
                                 [tf.constant(0)], parallel_iterations=1)[0]
        if last_rows:  # the shorter last batch
            with tf.control_dependencies([done]):
                done = update_on(order, full_batches * batch_size, last_rows)
        with tf.control_dependencies([done]):
            return epoch_metrics_of(parts), []

    return epoch_body


def _full_batch_epoch(parts: LoopParts):
    """Return the body of a full-batch epoch, which returns the metrics of the weights before it.

    The update's forward pass over every training row is also the previous epoch's metrics, so
    the loop reuses it instead of a second pass. The order of the rows cannot change the update.
    """
    def epoch_body(order):
        weights, biases = parameters = parts.network.read()
        outputs = parts.network(parts.train.features, parameters)
        terms = loss_terms(outputs, parts.train.labels, weights, parts.config)
        values = metrics_row(parts, parameters, terms, outputs)
        gradients = tf.gradients(terms.loss, weights + biases)
        variables = parts.network.weights + parts.network.biases
        with tf.control_dependencies(gradients + [values]):
            update = parts.optimizer.apply_gradients(zip(gradients, variables))
        return values, [update]

    return epoch_body


def build_epochs_loop(parts: LoopParts, batch_size: int, n_train: int) -> EpochsLoop:
    """Build `train_epochs`: a while_loop over the rows of `epoch_orders`, one epoch each.

    Each epoch's metrics go into a TensorArray. The loop ends early after an epoch whose
    loss is not finite (with full batches, one epoch later). Each loop variable of the next
    iteration depends on this iteration's writes, so no read overtakes a write.
    """
    epoch_orders = tf1.placeholder(tf.int32, [None, n_train], name="epoch_orders")
    state, snapshot = _snapshot_variables()
    save_snapshot = tf.group(*[copy.assign(variable) for copy, variable in zip(snapshot, state)])
    restore_snapshot = tf.group(*[variable.assign(copy) for copy, variable in zip(snapshot, state)])
    full_batch = batch_size == n_train
    epoch_body = _full_batch_epoch(parts) if full_batch else _mini_batch_epoch(parts, batch_size)

    def train_epoch(epoch, metrics, loss):
        values, updates = epoch_body(epoch_orders[epoch])
        with tf.control_dependencies(updates):
            metrics = metrics.write(epoch, values)
        with tf.control_dependencies([metrics.flow]):
            return epoch + 1, metrics, values[0]

    def keeps_going(epoch, metrics, loss):
        return tf.logical_and(epoch < n_epochs, tf.math.is_finite(loss))

    n_epochs = tf.shape(epoch_orders)[0]
    dtype = parts.train.features.dtype.base_dtype
    with tf.control_dependencies([save_snapshot]):
        first = tf.constant(0)
    with v1_control_flow():
        n_metrics = len(epoch_metric_names(parts.validation is not None))
        metrics = tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=[n_metrics])
        epochs_run, metrics, _ = tf.while_loop(keeps_going, train_epoch, [first, metrics, tf.constant(0, dtype)],
                                               parallel_iterations=1)
        rows = metrics.stack()
    # One increment of global_step per call costs less than one per update, and nothing reads it
    # during the call.
    steps = -(-n_train // batch_size)
    with tf.control_dependencies([rows]):
        step_count = tf.cast(epochs_run * steps, parts.global_step.dtype.base_dtype)
        count_steps = parts.global_step.assign_add(step_count)
    if full_batch:  # rows hold the metrics before each epoch: drop the first, add the last
        with tf.control_dependencies([rows]):
            last = epoch_metrics_of(parts)
        rows = tf.concat([rows, last[tf.newaxis]], axis=0)[1:]
    with tf.control_dependencies([count_steps]):
        train_epochs = tf.identity(rows, name="train_epochs")
    return EpochsLoop(epoch_orders=epoch_orders, train_epochs=train_epochs, restore_snapshot=restore_snapshot)


def _snapshot_variables() -> tuple[list, list]:
    """Return the global variables built so far (the training state) and a local copy of each.

    NOTE: a global variable created after the loop is not in the snapshot.
    """
    state = tf1.global_variables()
    snapshot = [local_variable(f"snapshot/{variable.op.name}", tf.zeros(variable.shape, variable.dtype.base_dtype),
                                variable.shape) for variable in state]
    return state, snapshot
