"""Build the dense network, its loss terms and its optimiser into a new tf.Graph.

The graph has two inputs. Placeholders `features` and `labels` take any rows at run time,
for evaluation and prediction. Training reads the training rows from variables loaded once
per session, so each step needs no feed: a step gathers its batch by index from the epoch's
shuffled order. This avoids copying the batch from Python at every step, which dominates the
time of a small network. Nothing here opens a Session.

`train_epochs` goes further: one Session call runs many epochs in a tf.while_loop (built by
epoch_loop.py) and returns the history metrics of each epoch.
"""

from dataclasses import dataclass

import tensorflow as tf

from config import ModelConfig, TrainConfig
from epoch_loop import LoopParts, build_epochs_loop, epoch_metric_names, epoch_metrics_of, local_variable, read_rows
from network import LossTerms, Network, accuracy_of, loss_terms

tf1 = tf.compat.v1

OPTIMIZER_CLASSES = {
    "gradient_descent": tf1.train.GradientDescentOptimizer,
    "momentum": tf1.train.MomentumOptimizer,
    "adagrad": tf1.train.AdagradOptimizer,
    "rmsprop": tf1.train.RMSPropOptimizer,
    "adam": tf1.train.AdamOptimizer,
}


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


def make_optimizer(config: TrainConfig) -> tf1.train.Optimizer:
    return OPTIMIZER_CLASSES[config.optimizer](learning_rate=config.learning_rate, **config.optimizer_options)


def add_checkpoint_ops(keep_checkpoints: int) -> CheckpointOps:
    """Build the savers and the best-copy ops over every global variable of the default graph.

    The best copy lives in local variables, so `saver` never writes it. `best_saver` writes it
    under the names of the variables it copies.
    """
    variables = tf1.global_variables()
    copies = [local_variable(f"best/{variable.op.name}", tf.zeros(variable.shape, variable.dtype), variable.shape)
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
        train_x = local_variable("train_features", tf.zeros([0, n_features], dtype), [None, n_features])
        train_y = local_variable("train_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
        load_train_rows = tf.group(train_x.assign(features), train_y.assign(labels))
        order = local_variable("epoch_order", tf.range(n_train), [n_train])
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

        test_x = local_variable("test_features", tf.zeros([0, n_features], dtype), [None, n_features])
        test_y = local_variable("test_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
        load_test_rows = tf.group(test_x.assign(features), test_y.assign(labels))
        validation, load_validation_rows = None, tf.no_op()
        if with_validation:
            validation_x = local_variable("validation_features", tf.zeros([0, n_features], dtype), [None, n_features])
            validation_y = local_variable("validation_labels", tf.zeros([0, n_classes], dtype), [None, n_classes])
            load_validation_rows = tf.group(validation_x.assign(features), validation_y.assign(labels))
            validation = read_rows(validation_x, validation_y)
        parts = LoopParts(network=network, optimizer=optimizer, global_step=global_step,
                          train=read_rows(train_x, train_y, n_train), test=read_rows(test_x, test_y),
                          validation=validation, config=model_config)
        epoch_metrics = epoch_metrics_of(parts)
        loop = build_epochs_loop(parts, batch_size, n_train)

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
