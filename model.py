"""Build the dense network, its loss terms and its optimiser into a new tf.Graph.

The graph has two inputs. Placeholders `features` and `labels` take any rows at run time,
for evaluation and prediction. Training reads the training rows from variables loaded once
per session, so each step needs no feed: a step gathers its batch by index from the epoch's
shuffled order. This avoids copying the batch from Python at every step, which dominates the
time of a small network. Nothing here opens a Session.

`train_epochs` goes further: one Session call runs many epochs in a tf.while_loop and returns
the history metrics of each epoch, computed in the graph on the stored train and test rows.
"""

import contextlib
from dataclasses import dataclass

import tensorflow as tf

from config import ModelConfig, TrainConfig

tf1 = tf.compat.v1

OPTIMIZER_CLASSES = {
    "gradient_descent": tf1.train.GradientDescentOptimizer,
    "momentum": tf1.train.MomentumOptimizer,
    "adagrad": tf1.train.AdagradOptimizer,
    "rmsprop": tf1.train.RMSPropOptimizer,
    "adam": tf1.train.AdamOptimizer,
}
ACTIVATION_FUNCTIONS = {"sigmoid": tf.sigmoid, "tanh": tf.tanh, "relu": tf.nn.relu}

# An epoch of at most this many full batches is built as a sequence of updates rather than an
# inner while_loop: at batch size 16 that made an update about 5% faster (TensorFlow 2.21).
MAX_UNROLLED_BATCHES = 8


@dataclass(frozen=True)
class LossTerms:
    """The three logged terms: loss = data_loss + l2_loss."""

    data_loss: tf.Tensor
    l2_loss: tf.Tensor
    loss: tf.Tensor


@dataclass(frozen=True)
class Model:
    """Handles to the ops of one built graph."""

    graph: tf.Graph
    features: tf.Tensor  # placeholder [None, n_features] of the build dtype (float32 by default)
    labels: tf.Tensor  # placeholder [None, n_classes], one-hot, of the build dtype
    outputs: tf.Tensor  # the last dense layer, y-hat (logits for cross-entropy)
    probabilities: tf.Tensor  # softmax of the outputs
    predictions: tf.Tensor  # class index per row
    terms: LossTerms  # on the fed rows
    accuracy: tf.Tensor  # on the fed rows
    weights: tuple[tf.Variable, ...]
    biases: tuple[tf.Variable, ...]
    optimizer: tf1.train.Optimizer
    global_step: tf.Variable  # number of updates so far
    load_train_rows: tf.Operation  # stores the fed rows as the training set
    epoch_order: tf.Tensor  # placeholder [n_train], int32: the epoch's row order
    start_epoch: tf.Operation  # stores epoch_order as the row order of the coming epoch
    train_step: tf.Operation  # one update on the next batch of the epoch, no feeds
    batch_terms: LossTerms  # on the batch of the current step
    load_test_rows: tf.Operation  # stores the fed rows as the test set
    load_validation_rows: tf.Operation  # stores the fed rows as the validation set (no-op without one)
    metric_names: tuple[str, ...]  # EPOCH_METRICS, plus VALIDATION_METRICS when built with validation
    epoch_metrics: tf.Tensor  # [len(metric_names)]: the history metrics on the stored rows, no feeds
    epoch_orders: tf.Tensor  # placeholder [epochs, n_train], int32: the row order of each coming epoch
    train_epochs: tf.Tensor  # [epochs run, len(metric_names)]: one epoch per row of epoch_orders
    restore_snapshot: tf.Operation  # resets the training state to the start of the last train_epochs
    init_op: tf.Operation
    checkpoint: "CheckpointOps"
    weight_summary: tf.Tensor  # serialized Summary: a histogram of each weight and bias variable


@dataclass(frozen=True)
class CheckpointOps:
    """Savers of the training state, and ops on its in-graph best copy for early stopping."""

    saver: tf1.train.Saver  # weights, biases, optimiser slots and global_step; deletes the oldest files
    best_saver: tf1.train.Saver  # saves the best copy under the original names, so `saver` can restore it
    keep_best: tf.Operation  # copies the training state into the best copy
    restore_best: tf.Operation  # copies the best copy back into the training state


class Network:
    """Dense layers whose variables are created once and applied to any input tensor."""

    def __init__(self, config: ModelConfig, n_features: int, n_classes: int, seed: int,
                 dtype: tf.DType = tf.float32):
        widths = [n_features, *config.hidden_units, n_classes]
        self.activation = ACTIVATION_FUNCTIONS[config.activation]
        self.weights, self.biases = [], []
        for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            # Seeded per layer, so every optimiser starts from the same weights for one seed.
            init = tf1.glorot_uniform_initializer(seed=seed + layer)
            self.weights.append(tf1.get_variable(f"layer{layer}/weights", [fan_in, fan_out], dtype,
                                                 initializer=init))
            self.biases.append(tf1.get_variable(f"layer{layer}/biases", [fan_out], dtype,
                                                initializer=tf1.zeros_initializer()))

    def __call__(self, x: tf.Tensor, parameters: tuple | None = None) -> tf.Tensor:
        """Apply the layers to x, with the variables or with `parameters` from `read()`."""
        weights, biases = parameters or (self.weights, self.biases)
        for layer_weights, layer_biases in zip(weights[:-1], biases[:-1]):
            x = self.activation(tf.nn.bias_add(tf.matmul(x, layer_weights), layer_biases))
        return tf.nn.bias_add(tf.matmul(x, weights[-1]), biases[-1])

    def read(self) -> tuple[list, list]:
        """Return one read of every weight and bias, to share among their uses.

        Each use of a variable itself adds a read op that runs at every step.
        """
        return [w.value() for w in self.weights], [b.value() for b in self.biases]


def loss_terms(outputs: tf.Tensor, labels: tf.Tensor, weights: list, config: ModelConfig) -> LossTerms:
    """Build data loss, L2 term and total loss for the given outputs and one-hot labels.

    mse: the mean over rows and classes of (y-hat - y)^2. cross_entropy: the mean over rows
    of the softmax cross-entropy of the outputs. The L2 term is l2 * sum(w^2) / 2 over all
    weight matrices (tf.nn.l2_loss), biases excluded.
    """
    if config.loss == "mse":
        data_loss = tf.reduce_mean(tf.square(outputs - labels))
    else:
        data_loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=outputs))
    l2_loss = config.l2 * tf.add_n([tf.nn.l2_loss(w) for w in weights])
    return LossTerms(data_loss=data_loss, l2_loss=l2_loss, loss=data_loss + l2_loss)


def accuracy_of(outputs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return class_accuracy(outputs, tf.argmax(labels, axis=1))


def class_accuracy(outputs: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """Return the share of rows whose largest output is at the index in `classes` (int64)."""
    hits = tf.equal(tf.argmax(outputs, axis=1), classes)
    return tf.reduce_mean(tf.cast(hits, outputs.dtype))  # the dtype of the loss, so the metrics stack


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


def make_optimizer(config: TrainConfig) -> tf1.train.Optimizer:
    return OPTIMIZER_CLASSES[config.optimizer](learning_rate=config.learning_rate, **config.optimizer_options)


def _local_variable(name: str, initial_value, shape) -> tf.Variable:
    """Create a variable outside the checkpointed set whose first dimension may change."""
    return tf1.Variable(initial_value, name=name, shape=shape, trainable=False, use_resource=True,
                        collections=[tf1.GraphKeys.LOCAL_VARIABLES])


def add_checkpoint_ops(keep_checkpoints: int) -> CheckpointOps:
    """Build the savers and the best-copy ops over every global variable of the default graph.

    The best copy lives in local variables, so `saver` never writes it. `best_saver` writes it
    under the names of the variables it copies.
    """
    variables = tf1.global_variables()
    copies = [_local_variable(f"best/{variable.op.name}", tf.zeros(variable.shape, variable.dtype), variable.shape)
              for variable in variables]
    return CheckpointOps(
        saver=tf1.train.Saver(variables, max_to_keep=keep_checkpoints, save_relative_paths=True),
        best_saver=tf1.train.Saver({variable.op.name: copy for variable, copy in zip(variables, copies)},
                                   max_to_keep=None, save_relative_paths=True),
        keep_best=tf.group(*[copy.assign(variable) for variable, copy in zip(variables, copies)]),
        restore_best=tf.group(*[variable.assign(copy) for variable, copy in zip(variables, copies)]),
    )


def batch_size_of(config: TrainConfig, n_train: int) -> int:
    return n_train if config.batch_size == "full" else int(config.batch_size)


def steps_per_epoch(config: TrainConfig, n_train: int) -> int:
    """Return the number of updates in one pass over `n_train` rows; the last batch may be short."""
    return -(-n_train // batch_size_of(config, n_train))


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
    """What the epoch loops are built from: the network, its update rule and the stored rows."""

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
    the loop reuses it instead of a second pass; the order of the rows cannot change the update.
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


def _epochs_loop(parts: LoopParts, batch_size: int, n_train: int) -> EpochsLoop:
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
        metrics = tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=[len(epoch_metric_names(parts.validation is not None))])
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
    snapshot = [_local_variable(f"snapshot/{variable.op.name}", tf.zeros(variable.shape, variable.dtype.base_dtype),
                                variable.shape) for variable in state]
    return state, snapshot


def build_model(model_config: ModelConfig, train_config: TrainConfig,
                n_features: int, n_classes: int, n_train: int, seed: int,
                dtype: tf.DType = tf.float32, with_validation: bool = False) -> Model:
    """Build the network, loss terms, optimiser and training step into a new graph.

    `dtype` is the type of the inputs, weights and losses; tf.float64 serves gradient checks.
    `with_validation` adds stored validation rows and their loss and accuracy to the epoch metrics.
    """
    graph = tf.Graph()
    graph.seed = seed
    with graph.as_default():
        features = tf1.placeholder(dtype, [None, n_features], name="features")
        labels = tf1.placeholder(dtype, [None, n_classes], name="labels")
        network = Network(model_config, n_features, n_classes, seed, dtype)
        outputs = network(features)
        terms = loss_terms(outputs, labels, network.weights, model_config)
        probabilities = tf.nn.softmax(outputs, name="probabilities")
        predictions = tf.argmax(outputs, axis=1, name="predictions")
        accuracy = accuracy_of(outputs, labels)

        # The training rows live in the graph; each step slices its batch from the epoch's order.
        # The position in the epoch follows from global_step, which the checkpoint keeps.
        train_x = _local_variable("train_features", tf.zeros([0, n_features], dtype), [None, n_features])
        train_y = _local_variable("train_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
        load_train_rows = tf.group(train_x.assign(features), train_y.assign(labels))
        order = _local_variable("epoch_order", tf.range(n_train), [n_train])
        epoch_order = tf1.placeholder(tf.int32, [n_train], name="epoch_order")
        start_epoch = order.assign(epoch_order).op

        global_step = tf1.train.get_or_create_global_step()
        batch_size = batch_size_of(train_config, n_train)
        step_in_epoch = global_step % steps_per_epoch(train_config, n_train)
        start = tf.cast(step_in_epoch, tf.int32) * batch_size
        rows = order[start:start + batch_size]  # the last batch of an epoch may be shorter
        batch_terms = loss_terms(network(tf.gather(train_x, rows)), tf.gather(train_y, rows),
                                 network.weights, model_config)

        optimizer = make_optimizer(train_config)
        train_step = optimizer.minimize(batch_terms.loss, global_step=global_step)

        # After the optimiser, so that checkpoints hold its slot variables (Adam's moments ...) too.
        checkpoint = add_checkpoint_ops(train_config.keep_checkpoints)
        # Tagged histogram/<variable>, because a summary op named like its variable would get a _1 suffix.
        weight_summary = tf1.summary.merge([tf1.summary.histogram(f"histogram/{variable.op.name}", variable)
                                            for variable in network.weights + network.biases])

        test_x = _local_variable("test_features", tf.zeros([0, n_features], dtype), [None, n_features])
        test_y = _local_variable("test_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
        load_test_rows = tf.group(test_x.assign(features), test_y.assign(labels))
        validation, load_validation_rows = None, tf.no_op()
        if with_validation:
            validation_x = _local_variable("validation_features", tf.zeros([0, n_features], dtype), [None, n_features])
            validation_y = _local_variable("validation_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
            load_validation_rows = tf.group(validation_x.assign(features), validation_y.assign(labels))
            validation = read_rows(validation_x, validation_y)
        parts = LoopParts(network=network, optimizer=optimizer, global_step=global_step,
                          train=read_rows(train_x, train_y, n_train), test=read_rows(test_x, test_y),
                          validation=validation, config=model_config)
        epoch_metrics = epoch_metrics_of(parts)
        loop = _epochs_loop(parts, batch_size, n_train)

        # Created after the optimiser, so its slot variables (Adam's moments ...) are initialised too.
        init_op = tf.group(tf1.global_variables_initializer(), tf1.local_variables_initializer())

    return Model(
        graph=graph, features=features, labels=labels, outputs=outputs,
        probabilities=probabilities, predictions=predictions, terms=terms, accuracy=accuracy,
        weights=tuple(network.weights), biases=tuple(network.biases), optimizer=optimizer,
        global_step=global_step, load_train_rows=load_train_rows, epoch_order=epoch_order,
        start_epoch=start_epoch, train_step=train_step, batch_terms=batch_terms, load_test_rows=load_test_rows,
        load_validation_rows=load_validation_rows, metric_names=epoch_metric_names(with_validation),
        epoch_metrics=epoch_metrics, epoch_orders=loop.epoch_orders, train_epochs=loop.train_epochs,
        restore_snapshot=loop.restore_snapshot, init_op=init_op, checkpoint=checkpoint, weight_summary=weight_summary,
    )
