"""Resolve settings: code defaults, then a YAML file, then `--set key=value` overrides.

`resolve_config` is the one place that reads and validates settings. It returns a frozen
`Config` that the rest of the project receives; nothing else reads config files.
Every bad value raises `InputError` naming the dotted key, the value and what is allowed.
"""

import dataclasses
import difflib
import math
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from errors import InputError

# Options each optimiser accepts, with the values used when the config leaves them out.
# The names are the keyword arguments of the tf.compat.v1.train optimiser classes.
OPTIMIZER_OPTIONS: dict[str, dict[str, Any]] = {
    "gradient_descent": {},
    "momentum": {"momentum": 0.9, "use_nesterov": False},
    "adagrad": {"initial_accumulator_value": 0.1},
    "rmsprop": {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10, "centered": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("mse", "cross_entropy")
# Bundled with scikit-learn (no download), or "csv" for a file named by data.path.
DATASETS = ("iris", "wine", "breast_cancer", "csv")
# Settings that only data.name: csv reads; their defaults mean "not set".
CSV_ONLY_SETTINGS = ("path", "label_column", "features", "delimiter")


# Value parsers: each takes the dotted key and the raw YAML value and returns the typed value.

def _fail(key: str, value: Any, expected: str) -> InputError:
    return InputError(f"invalid value {value!r} for {key}: expected {expected}")


def _to_float(key: str, value: Any, expected: str) -> float:
    """Convert a YAML value to a finite float, accepting strings such as '1e-3'.

    PyYAML follows YAML 1.1, which reads `1e-3` (no dot) as a string, so numeric strings
    are accepted as the number the user meant.
    """
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _fail(key, value, expected) from None
    if isinstance(value, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise _fail(key, value, expected)
    return float(number)


def _to_int(key: str, value: Any, expected: str) -> int:
    number = _to_float(key, value, expected)
    if not number.is_integer():
        raise _fail(key, value, expected)
    return int(number)


def number_between(low: float | None = None, high: float | None = None, *,
                   low_open: bool = False, high_open: bool = False) -> Callable[[str, Any], float]:
    """Return a parser for a float within [low, high]; `*_open` excludes that end."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    if high is None:
        expected = f"a number {'>' if low_open else '>='} {low:g}"
    else:
        expected = f"a number in {left}{low:g}, {high:g}{right}"

    def parse(key: str, value: Any) -> float:
        number = _to_float(key, value, expected)
        too_low = low is not None and (number <= low if low_open else number < low)
        too_high = high is not None and (number >= high if high_open else number > high)
        if too_low or too_high:
            raise _fail(key, value, expected)
        return number

    return parse


def integer_at_least(low: int) -> Callable[[str, Any], int]:
    expected = f"a whole number >= {low}"

    def parse(key: str, value: Any) -> int:
        number = _to_int(key, value, expected)
        if number < low:
            raise _fail(key, value, expected)
        return number

    return parse


def one_of(choices: Sequence[str]) -> Callable[[str, Any], str]:
    """Return a parser that matches one of `choices` without regard to case."""
    expected = "one of " + ", ".join(choices)

    def parse(key: str, value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise _fail(key, value, expected)
        return value.strip().lower()

    return parse


def parse_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, value, "true or false")
    return value


def parse_hidden_units(key: str, value: Any) -> tuple[int, ...]:
    expected = "a list of whole numbers >= 1, such as [10, 10], or [] for a linear model"
    if not isinstance(value, (list, tuple)):
        raise _fail(key, value, expected)
    return tuple(integer_at_least(1)(key, units) for units in value)


def parse_batch_size(key: str, value: Any) -> int | str:
    expected = "'full' (all training rows), 1 (stochastic) or a whole number >= 1 (mini-batch)"
    if isinstance(value, str) and value.strip().lower() == "full":
        return "full"
    number = _to_int(key, value, expected)
    if number < 1:
        raise _fail(key, value, expected)
    return number


def _stripped_text(value: Any) -> str | None:
    """Return a YAML scalar as stripped non-empty text, or None if it is not one.

    YAML reads a column name such as 2024 as a number, so numbers are taken as their text.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def parse_optional_text(key: str, value: Any) -> str | None:
    """Parse a file path or column name; null means not set."""
    if value is None:
        return None
    text = _stripped_text(value)
    if text is None:
        raise _fail(key, value, "a non-empty text, or null for none")
    return text


def parse_feature_list(key: str, value: Any) -> tuple[str, ...] | None:
    expected = "a list of distinct column names, such as [sepal_length, petal_length], or null for all numeric ones"
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail(key, value, expected)
    names = tuple(_stripped_text(name) for name in value)
    if None in names or len(set(names)) != len(names):
        raise _fail(key, value, expected)
    return names


def parse_delimiter(key: str, value: Any) -> str:
    """Parse one field separator character; the two characters \\t (as typed on a command line) mean a tab."""
    expected = "one character such as ',', ';' or '\\t' (tab)"
    if value == "\\t":
        return "\t"
    if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n":
        raise _fail(key, value, expected)
    return value


def parse_seed(key: str, value: Any) -> int:
    expected = "a whole number in [0, 2**31 - 1]"
    number = _to_int(key, value, expected)
    if not 0 <= number < 2**31:
        raise _fail(key, value, expected)
    return number


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """When to stop on the validation loss; patience 0 turns early stopping off."""

    patience: int = 0  # epochs without an improvement before training stops
    min_delta: float = 0.0  # an improvement is a validation loss below best - min_delta


def parse_early_stopping(key: str, value: Any) -> EarlyStoppingConfig:
    expected = "a mapping such as {patience: 20, min_delta: 0.001}; patience 0 turns it off"
    if not isinstance(value, Mapping):
        raise _fail(key, value, expected)
    names = [item.name for item in dataclasses.fields(EarlyStoppingConfig)]
    for name in value:
        if name not in names:
            raise InputError(f"unknown setting {key}.{name}: {key} accepts {', '.join(names)}")
    values = {}
    if "patience" in value:
        values["patience"] = integer_at_least(0)(f"{key}.patience", value["patience"])
    if "min_delta" in value:
        values["min_delta"] = number_between(0.0)(f"{key}.min_delta", value["min_delta"])
    return EarlyStoppingConfig(**values)


# Ranges of the optimiser options, in the units of the tf.compat.v1.train classes.
OPTION_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "momentum": number_between(0.0),
    "use_nesterov": parse_bool,
    "initial_accumulator_value": number_between(0.0, low_open=True),
    "decay": number_between(0.0, 1.0, high_open=True),
    "epsilon": number_between(0.0, low_open=True),
    "centered": parse_bool,
    "beta1": number_between(0.0, 1.0, high_open=True),
    "beta2": number_between(0.0, 1.0, high_open=True),
}


def setting(default: Any, parse: Callable[[str, Any], Any] | None, doc: str) -> Any:
    """Declare a config field with its parser and a one-line description."""
    metadata = {"parse": parse, "doc": doc}
    if isinstance(default, Mapping):
        return field(default_factory=lambda: types.MappingProxyType(dict(default)), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class DataConfig:
    name: str = setting("iris", one_of(DATASETS),
                           "data set: iris, wine, breast_cancer (bundled with scikit-learn) or csv")
    test_size: float = setting(0.2, number_between(0.0, 1.0, low_open=True, high_open=True),
                               "share of rows held out for testing, stratified by class")
    validation_size: float = setting(0.0, number_between(0.0, 1.0, high_open=True),
                                     "share of the training rows held out for validation; 0 for none")
    path: str | None = setting(None, parse_optional_text,
                               "CSV file with a header row, relative to the current folder (csv only)")
    label_column: str | None = setting(None, parse_optional_text, "name of the CSV column of class labels (csv only)")
    features: tuple[str, ...] | None = setting(None, parse_feature_list,
                                               "CSV columns to use as features; null for every numeric one (csv only)")
    delimiter: str = setting(",", parse_delimiter, "CSV field separator, one character (csv only)")


@dataclass(frozen=True)
class ModelConfig:
    hidden_units: tuple[int, ...] = setting((10,), parse_hidden_units,
                                            "units of each hidden dense layer; [] is a linear model")
    activation: str = setting("sigmoid", one_of(ACTIVATIONS), "activation of the hidden layers")
    loss: str = setting("mse", one_of(LOSSES),
                        "data loss: mean squared error on the outputs, or softmax cross-entropy")
    l2: float = setting(0.0001, number_between(0.0), "regularisation factor on the weights' L2 term")


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = setting("gradient_descent", one_of(tuple(OPTIMIZER_OPTIONS)),
                             "how each step uses the gradient")
    learning_rate: float = setting(0.5, number_between(0.0, low_open=True), "step size eta")
    epochs: int = setting(2000, integer_at_least(1), "passes over the training rows")
    batch_size: int | str = setting("full", parse_batch_size, "rows per step: full, 1 or k")
    optimizer_options: Mapping[str, Any] = setting(
        types.MappingProxyType({}), None, "keyword options of the optimiser class")
    log_every: int = setting(100, integer_at_least(1), "epochs between log lines")
    checkpoint_every: int = setting(0, integer_at_least(0),
                                    "epochs between checkpoints while training; 0 saves only at the end")
    keep_checkpoints: int = setting(3, integer_at_least(1), "how many of the latest checkpoints to keep")
    early_stopping: EarlyStoppingConfig = setting(
        EarlyStoppingConfig(), parse_early_stopping,
        "{patience, min_delta}: stop once validation_loss has not improved by more than min_delta "
        "for patience epochs; patience 0 is off")


@dataclass(frozen=True)
class Config:
    seed: int = setting(42, parse_seed, "seed of the split, the shuffles and the initial weights")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def all_keys() -> list[str]:
    """List every dotted setting name, such as 'train.learning_rate'."""
    keys = ["seed"]
    for section, cls in SECTIONS.items():
        keys += [f"{section}.{item.name}" for item in dataclasses.fields(cls)]
    return keys


def _unknown_key(key: str) -> InputError:
    close = difflib.get_close_matches(key, all_keys(), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else "; see config.yaml for the settings"
    return InputError(f"unknown setting {key}{hint}")


# Reading the YAML file and the overrides.

def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict; an empty file gives {}."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"config file not found: {path}; pass an existing file with --config") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read config file {path}: {error}") from None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"invalid YAML in {path}{line}; check the indentation and the colons") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise InputError(f"invalid config file {path}: expected a mapping of settings, got {type(content).__name__}")
    return content


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `key=value` override in place; the value is parsed as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"invalid --set {item!r}: expected KEY=VALUE, such as train.learning_rate=0.05")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise InputError(f"invalid --set value {text!r} for {key}: not valid YAML; quote it or fix the brackets") from None

    parts = key.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"invalid --set {item!r}: {'.'.join(parts[:depth + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` updated with `update`, merging nested mappings key by key."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


# Validation into the frozen Config.

def _parse_section(cls: type, prefix: str, raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise InputError(f"invalid value {raw!r} for {prefix}: expected a mapping of settings")
    names = {item.name: item for item in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            raise _unknown_key(f"{prefix}.{key}")
    values = {}
    for name, item in names.items():
        if name not in raw or item.metadata["parse"] is None:
            continue
        values[name] = item.metadata["parse"](f"{prefix}.{name}", raw[name])
    return cls(**values)


def _parse_optimizer_options(optimizer: str, raw: Any) -> Mapping[str, Any]:
    key = "train.optimizer_options"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _fail(key, raw, "a mapping of option names to values")
    accepted = OPTIMIZER_OPTIONS[optimizer]
    options = dict(accepted)
    for name, value in raw.items():
        if name not in accepted:
            valid = ", ".join(accepted) or "no options"
            # YAML reads {momentum:0.9} as one key "momentum:0.9"; a space after the colon makes a pair.
            hint = "; write a space after the colon, as in {momentum: 0.9}" if ":" in str(name) else ""
            raise InputError(f"unknown option {key}.{name} for optimizer {optimizer}: it accepts {valid}{hint}")
        options[name] = OPTION_PARSERS[name](f"{key}.{name}", value)
    return types.MappingProxyType(options)


def check_data_settings(data: DataConfig) -> None:
    """Raise InputError unless the CSV settings match data.name.

    data.path and data.label_column are required for csv. For the bundled data sets every CSV
    setting must keep its unset value, so a file path is never ignored without notice.
    """
    if data.name != "csv":
        defaults = {item.name: item.default for item in dataclasses.fields(DataConfig)}
        for name in CSV_ONLY_SETTINGS:
            value = getattr(data, name)
            if value != defaults[name]:
                unset = "null" if defaults[name] is None else repr(defaults[name])
                raise InputError(f"data.{name} is set to {config_to_dict(value)!r} but data.name is {data.name}; "
                                 f"set data.name=csv to read a CSV file, or set data.{name} back to {unset}")
        return
    for name in ("path", "label_column"):
        if getattr(data, name) is None:
            raise InputError(f"missing setting data.{name}: data.name=csv needs it, "
                             f"such as --set data.path=flowers.csv --set data.label_column=species")
    if data.features is not None and data.label_column in data.features:
        raise InputError(f"invalid value {list(data.features)!r} for data.features: it contains the label column "
                         f"{data.label_column!r}; remove it from the list")


def parse_config(raw: Mapping[str, Any]) -> Config:
    """Validate a nested dict of settings (defaults already merged in) into a Config."""
    for key in raw:
        if key != "seed" and key not in SECTIONS:
            raise _unknown_key(key)
    seed = parse_seed("seed", raw["seed"])
    sections = {name: _parse_section(cls, name, raw.get(name, {})) for name, cls in SECTIONS.items()}
    train = sections["train"]
    options = _parse_optimizer_options(train.optimizer, raw.get("train", {}).get("optimizer_options"))
    sections["train"] = dataclasses.replace(train, optimizer_options=options)
    check_data_settings(sections["data"])
    check_early_stopping(sections["train"], sections["data"])
    return Config(seed=seed, **sections)


def check_early_stopping(train: TrainConfig, data: DataConfig) -> None:
    """Raise InputError when early stopping is on without validation rows to watch."""
    if train.early_stopping.patience > 0 and data.validation_size == 0:
        raise InputError(f"train.early_stopping.patience={train.early_stopping.patience} needs validation rows, "
                         f"but data.validation_size is 0; set data.validation_size, such as 0.2, in a new run "
                         f"(a resumed run keeps its data split)")


def config_to_dict(config: Any) -> Any:
    """Convert a Config (or part of one) into plain dicts, lists and scalars for YAML or JSON."""
    if dataclasses.is_dataclass(config):
        return {item.name: config_to_dict(getattr(config, item.name)) for item in dataclasses.fields(config)}
    if isinstance(config, Mapping):
        return {key: config_to_dict(value) for key, value in config.items()}
    if isinstance(config, tuple):
        return [config_to_dict(value) for value in config]
    return config


def resolve_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Merge code defaults, the YAML file at `path` (if any) and `key=value` overrides into a Config."""
    raw = config_to_dict(Config())
    if path is not None:
        raw = merge(raw, read_config_file(path))
    for item in overrides:
        apply_override(raw, item)
    return parse_config(raw)


def dump_config(config: Config) -> str:
    """Render a Config as YAML that `resolve_config` reads back to the same Config."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)
