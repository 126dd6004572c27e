"""Time one implementation in this process, interleaved with the NumPy reference.

Usage (bench/__main__.py starts one process per implementation):
    python -m bench.worker {naive,project,sklearn,keras} --output FILE [--weights FILE] [--quick]

TensorFlow fixes some settings once per process: eager or graph mode, and the Session thread
pools. So the naive loop (default Session), the project's loop (its own Session settings) and
Keras (eager) each get a process. Each process also times the NumPy reference on the same
work, and the report compares implementations through it, which cancels most of the drift in
machine load between processes. The result is a JSON file, written to --output.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench import numpy_reference
from bench.settings import (BATCH_SIZES, QUICK_REPEATS, REPEATS, bench_config, epochs_of, rows_per_batch,
                            updates_of)
from data import load_dataset

GROUPS = ("naive", "project", "sklearn", "keras")


class NumpyRunner:
    name = "NumPy backprop"

    def __init__(self, parameters: tuple[list, list]):
        self.weights, self.biases = parameters

    def setup(self, config, dataset):
        return SimpleNamespace(config=config, dataset=dataset, history=None)

    def train(self, handle) -> None:
        config, dataset = handle.config, handle.dataset
        handle.history = numpy_reference.train(
            self.weights, self.biases, (dataset.x_train, dataset.y_train), (dataset.x_test, dataset.y_test),
            config.train.epochs, rows_per_batch(config, len(dataset.x_train)), config.train.learning_rate,
            config.model.l2, config.seed)

    def test_accuracy(self, handle) -> float:
        return handle.history[-1]["test_accuracy"]

    def close(self, handle) -> None:
        pass


class NaiveRunner:
    name = "naive TF1 loop"

    def __init__(self):
        from bench import naive_tf1
        self.naive_tf1 = naive_tf1

    def setup(self, config, dataset):
        naive = self.naive_tf1.build_naive_graph(config, dataset.n_features, dataset.n_classes)
        session = self.naive_tf1.tf1.Session(graph=naive.graph)  # default settings, on purpose
        session.run(naive.init_op)
        return SimpleNamespace(config=config, dataset=dataset, naive=naive, session=session, history=None)

    def train(self, handle) -> None:
        batch_size = rows_per_batch(handle.config, len(handle.dataset.x_train))
        handle.history = self.naive_tf1.train_naive(handle.session, handle.naive, handle.dataset, handle.config,
                                                    batch_size)

    def test_accuracy(self, handle) -> float:
        return handle.history[-1]["test_accuracy"]

    def close(self, handle) -> None:
        handle.session.close()

    def initial_parameters(self, config, dataset) -> tuple[list, list]:
        handle = self.setup(config, dataset)
        parameters = self.naive_tf1.initial_parameters(handle.session, handle.naive)
        self.close(handle)
        return parameters


class ProjectRunner:
    name = "project loop (fit)"

    def __init__(self):
        import training
        self.training = training

    def setup(self, config, dataset):
        return SimpleNamespace(trainer=self.training.Trainer(config, dataset), epochs=config.train.epochs,
                               history=None)

    def train(self, handle) -> None:
        handle.history = self.training.fit(handle.trainer, handle.epochs)

    def test_accuracy(self, handle) -> float:
        return handle.history[-1]["test_accuracy"]

    def close(self, handle) -> None:
        handle.trainer.close()

    def initial_parameters(self, config, dataset) -> tuple[list, list]:
        with self.training.Trainer(config, dataset) as trainer:
            model = trainer.model
            return trainer.session.run(list(model.weights)), trainer.session.run(list(model.biases))


class SklearnRunner:
    name = "scikit-learn MLPClassifier"

    def __init__(self):
        from bench import sklearn_mlp
        self.sklearn_mlp = sklearn_mlp

    def setup(self, config, dataset):
        classifier = self.sklearn_mlp.make_classifier(config, rows_per_batch(config, len(dataset.x_train)))
        return SimpleNamespace(classifier=classifier, dataset=dataset)

    def train(self, handle) -> None:
        self.sklearn_mlp.fit_classifier(handle.classifier, handle.dataset)

    def test_accuracy(self, handle) -> float:
        return self.sklearn_mlp.test_accuracy(handle.classifier, handle.dataset)

    def close(self, handle) -> None:
        pass


class KerasRunner:
    name = "Keras Model.fit"

    def __init__(self, parameters: tuple[list, list], seed: int):
        import keras

        from bench import keras_fit
        keras.utils.set_random_seed(seed)
        self.keras_fit = keras_fit
        self.parameters = parameters
        self.models = {}  # one per batch size, so that fit traces its step function once

    def setup(self, config, dataset):
        batch_size = rows_per_batch(config, len(dataset.x_train))
        if batch_size not in self.models:
            self.models[batch_size] = self.keras_fit.build_keras_model(config, dataset.n_features, dataset.n_classes)
        model = self.models[batch_size]
        self.keras_fit.set_parameters(model, *self.parameters)
        return SimpleNamespace(model=model, config=config, dataset=dataset, batch_size=batch_size)

    def train(self, handle) -> None:
        self.keras_fit.fit_model(handle.model, handle.dataset, handle.config, handle.batch_size)

    def test_accuracy(self, handle) -> float:
        return self.keras_fit.test_accuracy(handle.model, handle.dataset)

    def close(self, handle) -> None:
        pass


def timed_run(runner, config, dataset) -> tuple[float, float, float]:
    """Set up, train and evaluate once; return (setup seconds, training seconds, test accuracy)."""
    started = time.perf_counter()
    handle = runner.setup(config, dataset)
    ready = time.perf_counter()
    runner.train(handle)
    seconds = time.perf_counter() - ready
    accuracy = runner.test_accuracy(handle)
    runner.close(handle)
    return ready - started, seconds, accuracy


def measure(runner, reference: NumpyRunner, epochs: dict, repeats: int) -> list[dict]:
    """Time `runner` and the NumPy reference at every batch size, with warm-up and interleaved repeats.

    Repeats alternate which of the two runs first, and every repeat covers all batch sizes
    before the next one starts, so a change in machine load hits both and every size alike.
    """
    configs = {size: bench_config(size, epochs[size]) for size in BATCH_SIZES}
    dataset = load_dataset(configs["full"].data, configs["full"].seed)
    for size in BATCH_SIZES:  # warm-up: imports, caches and first-run costs, a tenth of the epochs
        warm_up = bench_config(size, max(1, epochs[size] // 10))
        timed_run(runner, warm_up, dataset)
        timed_run(reference, warm_up, dataset)

    runs = {(size, kind): [] for size in BATCH_SIZES for kind in ("runner", "numpy")}
    for repeat in range(repeats):
        for size in BATCH_SIZES:
            order = [("runner", runner), ("numpy", reference)]
            for kind, implementation in order if repeat % 2 == 0 else order[::-1]:
                runs[size, kind].append(timed_run(implementation, configs[size], dataset))
    return [summarise(size, configs[size], len(dataset.x_train), runs[size, "runner"], runs[size, "numpy"])
            for size in BATCH_SIZES]


def summarise(size, config, n_train: int, runner_runs: list, numpy_runs: list) -> dict:
    updates = updates_of(config, n_train)
    return {
        "batch_size": size,
        "epochs": config.train.epochs,
        "updates": updates,
        "setup_seconds": statistics.median(run[0] for run in runner_runs),
        "seconds_per_update": [run[1] / updates for run in runner_runs],
        "numpy_seconds_per_update": [run[1] / updates for run in numpy_runs],
        "test_accuracy": runner_runs[-1][2],
        "numpy_test_accuracy": numpy_runs[-1][2],
        "accuracy_spread": max(run[2] for run in runner_runs) - min(run[2] for run in runner_runs),
    }


def make_runner(group: str, weights_file: Path | None, seed: int):
    """Set this process up for `group` and return (runner, initial weights and biases)."""
    if group in ("naive", "project"):
        from cli import import_tensorflow
        import_tensorflow()
        runner = NaiveRunner() if group == "naive" else ProjectRunner()
        config = bench_config("full", 1)
        parameters = runner.initial_parameters(config, load_dataset(config.data, config.seed))
        return runner, parameters
    if weights_file is None:
        raise SystemExit(f"error: the {group} group needs --weights, written by the project group")
    parameters = load_parameters(weights_file)
    if group == "sklearn":
        return SklearnRunner(), parameters
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return KerasRunner(parameters, seed), parameters


def save_parameters(path: Path, parameters: tuple[list, list]) -> None:
    weights, biases = parameters
    np.savez(path, **{f"w{i}": w for i, w in enumerate(weights)}, **{f"b{i}": b for i, b in enumerate(biases)})


def load_parameters(path: Path) -> tuple[list, list]:
    with np.load(path) as arrays:
        count = len(arrays.files) // 2
        return [arrays[f"w{i}"] for i in range(count)], [arrays[f"b{i}"] for i in range(count)]


def versions() -> dict:
    names = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("tensorflow", "keras", "sklearn"):
        if module in sys.modules:
            names[module] = sys.modules[module].__version__
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description="Time one implementation.")
    parser.add_argument("group", choices=GROUPS)
    parser.add_argument("--output", type=Path, required=True, help="JSON file for the results")
    parser.add_argument("--weights", type=Path, help="initial weights (.npz) for the NumPy reference and Keras")
    parser.add_argument("--weights-out", type=Path, help="write this process's initial weights here (.npz)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    args = parser.parse_args(argv)

    seed = bench_config("full", 1).seed
    runner, parameters = make_runner(args.group, args.weights, seed)
    if args.weights_out:
        save_parameters(args.weights_out, parameters)
    repeats = QUICK_REPEATS if args.quick else REPEATS
    results = measure(runner, NumpyRunner(parameters), epochs_of(args.group, args.quick), repeats)
    payload = {"group": args.group, "implementation": runner.name, "results": results, "versions": versions(),
               "load_average": os.getloadavg()}
    args.output.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
