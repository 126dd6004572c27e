"""Config resolution: precedence, YAML quirks and one clear error per bad value."""

from pathlib import Path

import pytest

from config import Config, config_to_dict, dump_config, read_config_file, resolve_config
from errors import InputError

PROJECT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_shipped_config_equals_code_defaults():
    assert resolve_config(PROJECT / "config.yaml") == Config()


def test_file_overrides_defaults_and_set_overrides_file(tmp_path):
    path = write(tmp_path, "train:\n  learning_rate: 0.3\n  epochs: 50\n")
    config = resolve_config(path, ["train.epochs=7"])
    assert config.train.learning_rate == 0.3
    assert config.train.epochs == 7
    assert config.train.optimizer == Config().train.optimizer


def test_exponent_without_dot_is_a_number(tmp_path):
    path = write(tmp_path, "train:\n  learning_rate: 1e-3\nmodel:\n  l2: 5E-4\n")
    config = resolve_config(path)
    assert config.train.learning_rate == pytest.approx(0.001)
    assert config.model.l2 == pytest.approx(0.0005)


def test_set_parses_yaml_values():
    config = resolve_config(None, ["model.hidden_units=[8, 4]", "train.batch_size=16",
                                   "train.optimizer=ADAM", "train.optimizer_options.beta1=0.8"])
    assert config.model.hidden_units == (8, 4)
    assert config.train.batch_size == 16
    assert config.train.optimizer == "adam"
    assert config.train.optimizer_options["beta1"] == 0.8
    assert config.train.optimizer_options["beta2"] == 0.999


def test_linear_model_and_full_batch():
    config = resolve_config(None, ["model.hidden_units=[]", "train.batch_size=FULL"])
    assert config.model.hidden_units == ()
    assert config.train.batch_size == "full"


def test_config_is_frozen():
    config = resolve_config(None)
    with pytest.raises(AttributeError):
        config.train.epochs = 3
    with pytest.raises(TypeError):
        config.train.optimizer_options["beta1"] = 0.5


def test_dumped_config_reads_back_equal(tmp_path):
    config = resolve_config(None, ["train.optimizer=rmsprop", "model.hidden_units=[5,5]", "seed=3"])
    path = write(tmp_path, dump_config(config))
    assert resolve_config(path) == config
    assert config_to_dict(config)["train"]["optimizer_options"]["decay"] == 0.9


@pytest.mark.parametrize("overrides, expected", [
    (["train.learnig_rate=0.1"], "unknown setting train.learnig_rate; did you mean train.learning_rate?"),
    (["trian.epochs=3"], "unknown setting trian"),
    (["train.learning_rate=-1"], "invalid value -1 for train.learning_rate: expected a number > 0"),
    (["train.learning_rate=fast"], "invalid value 'fast' for train.learning_rate"),
    (["train.epochs=0"], "invalid value 0 for train.epochs: expected a whole number >= 1"),
    (["train.epochs=2.5"], "invalid value 2.5 for train.epochs"),
    (["train.epochs=true"], "invalid value True for train.epochs"),
    (["train.batch_size=0"], "invalid value 0 for train.batch_size"),
    (["train.batch_size=half"], "invalid value 'half' for train.batch_size"),
    (["train.optimizer=lbfgs"], "expected one of gradient_descent, momentum, adagrad, rmsprop, adam"),
    (["train.optimizer_options.beta1=0.9"], "unknown option train.optimizer_options.beta1 for optimizer "
                                            "gradient_descent: it accepts no options"),
    (["train.optimizer=adam", "train.optimizer_options.momentum=0.9"],
     "unknown option train.optimizer_options.momentum for optimizer adam: it accepts beta1, beta2, epsilon"),
    (["train.optimizer=adam", "train.optimizer_options.beta1=1.5"],
     "invalid value 1.5 for train.optimizer_options.beta1: expected a number in [0, 1)"),
    (["model.activation=softplus"], "expected one of sigmoid, tanh, relu"),
    (["model.loss=hinge"], "expected one of mse, cross_entropy"),
    (["model.hidden_units=10"], "invalid value 10 for model.hidden_units"),
    (["model.hidden_units=[10, 0]"], "invalid value 0 for model.hidden_units"),
    (["model.l2=-0.1"], "invalid value -0.1 for model.l2: expected a number >= 0"),
    (["data.test_size=1"], "invalid value 1 for data.test_size: expected a number in (0, 1)"),
    (["data.name=mnist"], "invalid value 'mnist' for data.name"),
    (["seed=-1"], "invalid value -1 for seed"),
    (["train.learning_rate=nan"], "invalid value 'nan' for train.learning_rate"),
    (["train.epochs"], "invalid --set 'train.epochs': expected KEY=VALUE"),
    (["train.epochs=[1"], "not valid YAML"),
    (["train.epochs.max=3"], "train.epochs is not a section"),
    (["train=3"], "invalid value 3 for train: expected a mapping of settings"),
])
def test_bad_values_name_key_value_and_fix(overrides, expected):
    with pytest.raises(InputError) as raised:
        resolve_config(None, overrides)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="config file not found: .*nope.yaml; pass an existing file"):
        resolve_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n   learning_rate: [\n")
    with pytest.raises(InputError, match=r"invalid YAML in .*config.yaml at line \d"):
        read_config_file(path)


def test_top_level_list_is_rejected(tmp_path):
    with pytest.raises(InputError, match="expected a mapping of settings, got list"):
        resolve_config(write(tmp_path, "- 1\n- 2\n"))


def test_empty_file_gives_defaults(tmp_path):
    assert resolve_config(write(tmp_path, "")) == Config()


def test_every_shipped_method_config_resolves():
    configs = sorted((PROJECT / "configs").glob("*.yaml"))
    assert len(configs) >= 8
    for path in configs:
        assert isinstance(resolve_config(path), Config), path


def test_option_without_space_after_colon_gets_hint():
    with pytest.raises(InputError, match=r"write a space after the colon, as in \{momentum: 0.9\}"):
        resolve_config(None, ["train.optimizer=momentum", "train.optimizer_options={momentum:0.9}"])
