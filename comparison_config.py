"""Plan the runs of each comparison: one resolved Config per run, without TensorFlow.

Every run's config goes through `resolve_config`. Later layers win: code defaults, the config
file, the run's own settings (a method of the method table, for the optimizers command), the
method table's `epochs`, the user's `--set` overrides, the swept value (learning rate or seed),
and last `--epochs`. All input errors therefore surface before any training starts.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from cli import PROJECT_DIR
from config import Config, read_config_file, resolve_config
from errors import InputError

log = logging.getLogger("descent")

COMMANDS = ("optimizers", "learning-rates", "seeds")
DEFAULT_METHOD_TABLE = PROJECT_DIR / "configs" / "compare" / "optimizers.yaml"
DEFAULT_RATES = (0.01, 0.1, 1.0, 10.0)
DEFAULT_SEED_COUNT = 20
DEFAULT_TARGET_ACCURACY = 0.95
METHOD_KEYS = ("optimizer", "learning_rate", "batch_size", "optimizer_options")
TABLE_KEYS = ("epochs", "methods")
MAX_SEED = 2**31 - 1

STATUS_RULE = (
    "Each run is classified by its training loss and train accuracy. diverged: the loss became NaN or "
    "infinite (training stops at that epoch), or it ended above the loss of the initial weights "
    "(epoch 0). Such a run diverged at the first epoch from which its loss stayed above that starting "
    "value, and the figure marks that epoch with an x; an early overshoot that comes back down does "
    "not count. converged: not diverged, and the train accuracy at the last epoch is at least the "
    "target (--target-accuracy). slow: neither of the two."
)


@dataclass(frozen=True)
class PlannedRun:
    """One training run of a comparison: a label for legends and tables, and its config."""

    label: str
    config: Config


@dataclass(frozen=True)
class Plan:
    """The runs of one comparison command, all trained on the data split of `base`."""

    command: str  # one of COMMANDS
    base: Config  # config file, --set and --epochs, before any per-run setting
    runs: tuple[PlannedRun, ...]
    target_accuracy: float  # train accuracy in (0, 1] that counts as reaching the goal


@dataclass(frozen=True)
class MethodTable:
    """The optimiser methods of the optimizers command, read from a YAML file."""

    path: Path
    epochs: int | None  # None: keep the config's train.epochs
    methods: dict[str, dict[str, Any]]  # method name -> train settings, in file order


def yaml_value(value: Any) -> str:
    """Render a value as one line of YAML for a `key=value` override."""
    return yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip().removesuffix("...").strip()


def epoch_overrides(epochs: int | None) -> list[str]:
    return [] if epochs is None else [f"train.epochs={epochs}"]


def read_method_table(path: Path) -> MethodTable:
    """Read a method table and check its shape. `plan_optimizers` validates the settings themselves."""
    if not path.is_file():
        raise InputError(f"method table not found: {path}; pass an existing YAML file with --methods")
    content = read_config_file(path)
    for key in content:
        if key not in TABLE_KEYS:
            raise InputError(f"{path}: unknown key {key!r}; a method table has only epochs and methods")
    epochs = content.get("epochs")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise InputError(f"{path}: invalid value {epochs!r} for epochs: expected a whole number >= 1")
    methods = content.get("methods")
    if not isinstance(methods, Mapping) or not methods:
        raise InputError(f"{path}: missing methods: expected a mapping of method names to train settings")
    for name, settings in methods.items():
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{path}: invalid method name {name!r}: use a non-empty text such as 'Adam'")
        if not isinstance(settings, Mapping):
            raise InputError(f"{path}: method {name!r}: expected a mapping of train settings, got {settings!r}")
    return MethodTable(path=path, epochs=epochs, methods={name: dict(s) for name, s in methods.items()})


def method_overrides(table: MethodTable, name: str) -> list[str]:
    """Turn one method's settings into `train.key=value` overrides.

    The method's optimizer_options replace the config file's as a whole (an empty mapping
    when the method sets none), so options of another optimiser never leak into it.
    """
    settings = table.methods[name]
    overrides = []
    for key, value in settings.items():
        if key not in METHOD_KEYS:
            raise InputError(f"{table.path}: method {name!r}: unknown key {key!r}; a method sets only "
                             f"{', '.join(METHOD_KEYS)}")
        if key != "optimizer_options":
            overrides.append(f"train.{key}={yaml_value(value)}")
    overrides.append(f"train.optimizer_options={yaml_value(settings.get('optimizer_options') or {})}")
    return overrides


def warn_about_shadowed_settings(table: MethodTable, overrides: Sequence[str]) -> None:
    """Log a warning for each --set that replaces a setting the method table gives."""
    table_keys = {f"train.{key}" for settings in table.methods.values() for key in settings}
    for item in overrides:
        key = item.partition("=")[0].strip()
        if any(key == shadowed or key.startswith(shadowed + ".") for shadowed in table_keys):
            log.warning(f"warning: --set {item} replaces {key} of every method in {table.path}")


def plan_optimizers(config_path: Path | None, overrides: Sequence[str], epochs: int | None,
                    table_path: Path, target_accuracy: float) -> Plan:
    """Plan one run per method of the table, all from the same seed and initial weights."""
    table = read_method_table(table_path)
    shared = [*epoch_overrides(table.epochs), *overrides, *epoch_overrides(epochs)]
    base = resolve_config(config_path, shared)
    warn_about_shadowed_settings(table, overrides)
    runs = []
    for name in table.methods:
        overrides_of_method = method_overrides(table, name)  # its errors already name the table and method
        try:
            config = resolve_config(config_path, [*overrides_of_method, *shared])
        except InputError as error:
            raise InputError(f"{table_path}: method {name!r}: {error}") from None
        runs.append(PlannedRun(label=name, config=config))
    return Plan(command="optimizers", base=base, runs=tuple(runs), target_accuracy=target_accuracy)


def plan_learning_rates(config_path: Path | None, overrides: Sequence[str], epochs: int | None,
                        rates: Sequence[float], target_accuracy: float) -> Plan:
    """Plan one run per learning rate; the rate replaces any train.learning_rate given before."""
    base = resolve_config(config_path, [*overrides, *epoch_overrides(epochs)])
    runs = []
    for rate in rates:
        config = resolve_config(config_path, [*overrides, f"train.learning_rate={rate!r}", *epoch_overrides(epochs)])
        runs.append(PlannedRun(label=f"lr {rate:g}", config=config))
    return Plan(command="learning-rates", base=base, runs=tuple(runs), target_accuracy=target_accuracy)


def plan_seeds(config_path: Path | None, overrides: Sequence[str], epochs: int | None,
               seed_count: int, target_accuracy: float) -> Plan:
    """Plan `seed_count` runs with seeds base, base + 1, ...; the data split stays the base seed's."""
    base = resolve_config(config_path, [*overrides, *epoch_overrides(epochs)])
    last = base.seed + seed_count - 1
    if last > MAX_SEED:
        raise InputError(f"invalid --seeds {seed_count}: seeds {base.seed}..{last} pass {MAX_SEED}; "
                         f"lower --seeds or the seed setting")
    runs = []
    for seed in range(base.seed, last + 1):
        config = resolve_config(config_path, [*overrides, f"seed={seed}", *epoch_overrides(epochs)])
        runs.append(PlannedRun(label=f"seed {seed}", config=config))
    return Plan(command="seeds", base=base, runs=tuple(runs), target_accuracy=target_accuracy)
