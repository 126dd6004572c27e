"""The data.* settings: data set names, the CSV settings and the rules that tie them to data.name."""

import pytest

from config import dump_config, resolve_config
from errors import InputError


def rejection(*overrides: str) -> str:
    with pytest.raises(InputError) as raised:
        resolve_config(None, overrides)
    return str(raised.value)


CSV = ("data.name=csv", "data.path=flowers.csv", "data.label_column=species")


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "csv", "Wine"])
def test_data_names_accepted(name):
    extra = CSV[1:] if name == "csv" else ()
    config = resolve_config(None, [f"data.name={name}", *extra])

    assert config.data.name == name.lower()


def test_unknown_data_name():
    message = rejection("data.name=digits")

    assert "invalid value 'digits' for data.name: expected one of iris, wine, breast_cancer, csv" in message


def test_csv_defaults():
    data = resolve_config(None, CSV).data

    assert data.path == "flowers.csv"
    assert data.label_column == "species"
    assert data.features is None
    assert data.delimiter == ","


@pytest.mark.parametrize("missing", ["path", "label_column"])
def test_csv_needs_path_and_label(missing):
    overrides = [item for item in CSV if not item.startswith(f"data.{missing}=")]
    message = rejection(*overrides)

    assert message.startswith(f"missing setting data.{missing}: data.name=csv needs it")


@pytest.mark.parametrize("override, shown", [
    ("data.path=flowers.csv", "'flowers.csv'"),
    ("data.label_column=species", "'species'"),
    ("data.features=[a, b]", "['a', 'b']"),
    ("data.delimiter=';'", "';'"),
])
def test_csv_settings_rejected_for_bundled_set(override, shown):
    message = rejection("data.name=wine", override)
    key = override.split("=")[0]

    assert f"{key} is set to {shown} but data.name is wine" in message
    assert "set data.name=csv" in message


def test_csv_settings_reset_for_bundled_set():
    config = resolve_config(None, [*CSV, "data.name=iris", "data.path=null", "data.label_column=null"])

    assert config.data.name == "iris"
    assert config.data.path is None


def test_features_parsed_to_tuple():
    config = resolve_config(None, [*CSV, "data.features=[sepal_length, ' petal ', 2024]"])

    assert config.data.features == ("sepal_length", "petal", "2024")


@pytest.mark.parametrize("value", ["[]", "sepal", "[a, a]", "['']", "[a, null]", "{a: 1}"])
def test_features_invalid(value):
    message = rejection(*CSV, f"data.features={value}")

    assert "for data.features: expected a list of distinct column names" in message


def test_features_contain_label():
    message = rejection(*CSV, "data.features=[sepal, species]")

    assert "it contains the label column 'species'" in message


def test_label_column_number_read_as_name():
    config = resolve_config(None, [*CSV[:2], "data.label_column=5"])

    assert config.data.label_column == "5"


@pytest.mark.parametrize("value", ["''", "[a]", "true"])
def test_label_column_invalid(value):
    message = rejection(*CSV[:2], f"data.label_column={value}")

    assert "for data.label_column: expected a non-empty text" in message


@pytest.mark.parametrize("value, expected", [("';'", ";"), ("'\\t'", "\t"), ('"\\t"', "\t"), ("' '", " ")])
def test_delimiter_accepted(value, expected):
    config = resolve_config(None, [*CSV, f"data.delimiter={value}"])

    assert config.data.delimiter == expected


@pytest.mark.parametrize("value", ["';;'", "''", "'\"'", "1"])
def test_delimiter_invalid(value):
    message = rejection(*CSV, f"data.delimiter={value}")

    assert "for data.delimiter: expected one character" in message


@pytest.mark.parametrize("override", ["data.test_size=0", "data.test_size=1", "data.test_size=-0.1",
                                      "data.validation_size=1", "data.validation_size=-0.2"])
def test_split_shares_outside_range(override):
    message = rejection(override)

    assert f"invalid value {override.split('=')[1]}" in message


def test_csv_config_round_trip(tmp_path):
    config = resolve_config(None, [*CSV, "data.features=[a, b]", "data.delimiter='\\t'"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(config))

    assert resolve_config(path) == config
