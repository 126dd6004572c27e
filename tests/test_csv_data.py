"""Reading CSV files: label encoding, feature choice and every rejected file, on files written here."""

import logging
import os

import numpy as np
import pytest

from csv_data import read_csv_table
from errors import InputError


def write(tmp_path, text: str, name: str = "data.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(make_config, path, label: str = "label", *overrides: str):
    config = make_config("data.name=csv", f"data.path={path}", f"data.label_column={label}", *overrides)
    return read_csv_table(config.data)


def rejection(make_config, path, label: str = "label", *overrides: str) -> str:
    with pytest.raises(InputError) as raised:
        read(make_config, path, label, *overrides)
    message = str(raised.value)
    assert "\n" not in message
    return message


def rows_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


# Labels: text and numbers map to sorted classes 0..K-1 named by the original values.

@pytest.mark.parametrize("values, names", [
    (["setosa", "virginica", "versicolor"], ("setosa", "versicolor", "virginica")),
    (["1", "2", "3"], ("1", "2", "3")),
    (["10", "20", "30"], ("10", "20", "30")),
    (["-1", "1"], ("-1", "1")),
    (["2", "10"], ("2", "10")),  # numeric order, where text order would put 10 first
])
def test_labels_sorted_to_classes(tmp_path, make_config, values, names):
    labels = [values[i % len(values)] for i in range(12)]
    rows = [f"{i}.5,{label}" for i, label in enumerate(labels)]
    table = read(make_config, write(tmp_path, rows_text("x,label", rows)))

    assert table.class_names == names
    expected = [names.index(label) for label in labels]
    assert table.labels.tolist() == expected
    assert table.labels.dtype == np.int64


def test_labels_one_and_one_point_zero_merge(tmp_path, make_config):
    rows = ["0.1,1", "0.2,1.0", "0.3,2", "0.4,2.0"]
    table = read(make_config, write(tmp_path, rows_text("x,label", rows)))

    assert table.class_names == ("1", "2")
    assert table.labels.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("header, rows", [
    ("label,a,b", ["cat,1.5,10", "dog,2.5,20", "cat,3.5,30"]),
    ("a,b,label", ["1.5,10,cat", "2.5,20,dog", "3.5,30,cat"]),
    ("a,label,b", ["1.5,cat,10", "2.5,dog,20", "3.5,cat,30"]),
])
def test_label_column_any_position(tmp_path, make_config, header, rows):
    table = read(make_config, write(tmp_path, rows_text(header, rows)))

    assert table.feature_names == ("a", "b")
    np.testing.assert_array_equal(table.features, [[1.5, 10], [2.5, 20], [3.5, 30]])
    assert table.labels.tolist() == [0, 1, 0]
    assert table.class_names == ("cat", "dog")
    assert table.label_column == "label"
    assert table.source.endswith("data.csv")


def test_quoted_fields_and_spaces(tmp_path, make_config):
    text = 'a, b ,label\n1.5, 2 ,"big, red"\n" 3.5",4,small\n'
    table = read(make_config, write(tmp_path, text))

    assert table.feature_names == ("a", "b")
    np.testing.assert_array_equal(table.features, [[1.5, 2], [3.5, 4]])
    assert table.class_names == ("big, red", "small")


def test_byte_order_mark_ignored(tmp_path, make_config):
    table = read(make_config, write(tmp_path, "a,label\n1.5,x\n2.5,y\n", encoding="utf-8-sig"))

    assert table.feature_names == ("a",)


@pytest.mark.parametrize("delimiter, setting", [(";", ";"), ("\t", "'\\t'"), ("|", "'|'")])
def test_delimiter_setting(tmp_path, make_config, delimiter, setting):
    text = rows_text(delimiter.join(["a", "b", "label"]), [delimiter.join(["1.5", "2", "x"]),
                                                            delimiter.join(["3", "4.25", "y"])])
    table = read(make_config, write(tmp_path, text), "label", f"data.delimiter={setting}")

    np.testing.assert_array_equal(table.features, [[1.5, 2], [3, 4.25]])
    assert table.class_names == ("x", "y")


def test_blank_rows_skipped(tmp_path, make_config):
    text = "a,label\n\n1.5,x\n,\n2.5,y\n\n"
    table = read(make_config, write(tmp_path, text))

    np.testing.assert_array_equal(table.features, [[1.5], [2.5]])
    assert table.labels.tolist() == [0, 1]


# Feature choice: explicit lists, left-out id and text columns.

def test_features_listed_in_order(tmp_path, make_config):
    text = rows_text("id,a,b,label", ["1,1.5,10,x", "2,2.5,20,y"])
    table = read(make_config, write(tmp_path, text), "label", "data.features=[b, id]")

    assert table.feature_names == ("b", "id")
    np.testing.assert_array_equal(table.features, [[10, 1], [20, 2]])


@pytest.mark.parametrize("header, first_values", [
    ("id", [7, 3, 9, 1]),  # named id, not in row order
    ("Index", [4, 2, 3, 1]),
    ("PassengerId", [12, 40, 5, 8]),
    ("sample_id", [100, 200, 300, 400]),
    ("serial", [0, 1, 2, 3]),  # counts the rows from 0
    ("serial", [2, 3, 4, 5]),  # the spreadsheet row number
    ("", [0, 1, 2, 3]),  # the unnamed index column that pandas' to_csv writes
])
def test_id_column_left_out(tmp_path, make_config, caplog, header, first_values):
    rows = [f"{value},{0.5 * i},{'xy'[i % 2]}" for i, value in enumerate(first_values)]
    with caplog.at_level(logging.INFO, logger="descent"):
        table = read(make_config, write(tmp_path, rows_text(f"{header},a,label", rows)))

    assert table.feature_names == ("a",)
    name = header or "column_1"
    assert f"column {name!r} looks like a row id" in caplog.text


def test_repeated_integers_kept_as_feature(tmp_path, make_config):
    rows = ["1,0.5,x", "1,0.6,y", "2,0.7,x", "3,0.8,y"]
    table = read(make_config, write(tmp_path, rows_text("id,a,label", rows)))

    assert table.feature_names == ("id", "a")


def test_text_column_left_out(tmp_path, make_config, caplog):
    rows = ["anna,1.5,x", "bert,2.5,y", "carl,3.5,x"]
    with caplog.at_level(logging.INFO, logger="descent"):
        table = read(make_config, write(tmp_path, rows_text("name,a,label", rows)))

    assert table.feature_names == ("a",)
    assert "column 'name' is not numeric and is left out" in caplog.text


# Rejected files: one line naming the file, the rows, the columns and the fix.

def test_missing_file(tmp_path, make_config):
    message = rejection(make_config, tmp_path / "absent.csv")

    assert "data file not found" in message
    assert "absent.csv" in message
    assert "set data.path" in message


def test_folder_instead_of_file(tmp_path, make_config):
    message = rejection(make_config, tmp_path)

    assert "is a folder" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files without read permission")
def test_unreadable_file(tmp_path, make_config):
    path = write(tmp_path, "a,label\n1,x\n")
    path.chmod(0)
    message = rejection(make_config, path)

    assert f"cannot read data file {path}" in message


def test_not_utf8(tmp_path, make_config):
    path = write(tmp_path, "a,label\n1,x\n2,caf\u00e9\n", encoding="latin-1")
    message = rejection(make_config, path)

    assert "row 3 is not UTF-8 text (byte 0xe9)" in message
    assert "save the file as UTF-8" in message


@pytest.mark.parametrize("text", ["", "  \n\n", ",,\n,,\n"])
def test_empty_file(tmp_path, make_config, text):
    message = rejection(make_config, write(tmp_path, text))

    assert "data.csv" in message
    assert "needs a header row" in message


def test_unparsable_row(tmp_path, make_config):
    huge = "9" * 200_000  # longer than the csv module's default field size limit of 131072
    message = rejection(make_config, write(tmp_path, f"a,label\n1.5,x\n{huge},y\n"))

    assert "row 3 cannot be parsed (field larger than field limit" in message


def test_header_only(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, "a,b,label\n\n"))

    assert "has a header row but no data rows" in message


def test_missing_header(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, "5.1,3.5,1.4,setosa\n4.9,3.0,1.4,setosa\n"))

    assert "row 1 looks like data" in message
    assert "add a header row" in message


def test_duplicate_column_name(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, "a,b,a,label\n1,2,3,x\n"))

    assert "column name 'a' appears twice" in message
    assert "columns 1 and 3" in message


def test_label_column_missing(tmp_path, make_config):
    path = write(tmp_path, rows_text("sepal,petal,species", ["1,2,x", "3,4,y"]))
    message = rejection(make_config, path, "specis")

    assert f"{path}: column 'specis' of data.label_column not found" in message
    assert "the columns are sepal, petal, species" in message
    assert "did you mean 'species'?" in message


def test_label_column_case_suggested(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, rows_text("a,Species", ["1,x", "2,y"])), "species")

    assert "did you mean 'Species'?" in message


def test_wrong_delimiter_hint(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, rows_text("a;b;label", ["1;2;x", "3;4;y"])))

    assert "the columns are a;b;label" in message
    assert "separated by ';': set data.delimiter" in message
    assert "did you mean" not in message


def test_listed_feature_missing(tmp_path, make_config):
    path = write(tmp_path, rows_text("a,b,label", ["1,2,x", "3,4,y"]))
    message = rejection(make_config, path, "label", "data.features=[a, bb]")

    assert "column 'bb' of data.features not found" in message
    assert "did you mean 'b'?" in message


def test_bad_feature_cells_all_listed(tmp_path, make_config):
    rows = ["1.5,2,x", "n/a,2,y", '"5,1",3,x', "abc,,y", "NaN,4,x", "2,inf,y", "3,4,x"]
    path = write(tmp_path, rows_text("a,b,label", rows))
    message = rejection(make_config, path)

    assert message.startswith(f"{path}: 6 invalid feature cells: ")
    assert "row 3 column 'a' is 'n/a'" in message
    assert "row 4 column 'a' is '5,1' (decimal comma)" in message
    assert "row 5 column 'a' is 'abc'" in message
    assert "row 5 column 'b' is empty" in message
    assert "row 6 column 'a' is 'NaN'" in message
    assert "row 7 column 'b' is 'inf'" in message
    assert "with a dot as decimal separator" in message
    # Listed in spreadsheet order: by row, then by column.
    assert message.index("row 3 column") < message.index("row 4 column") < message.index("row 5 column 'a'")
    assert message.index("row 5 column 'a'") < message.index("row 5 column 'b'")


def test_bad_cells_after_blank_row_numbered(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, "a,label\n1,x\n\n\nn/a,y\n"))

    assert "row 5 column 'a' is 'n/a'" in message


def test_decimal_commas_with_semicolons(tmp_path, make_config):
    rows = ["5,1;3,5;x", "4,9;3,0;y", "4,7;3,2;x"]
    message = rejection(make_config, write(tmp_path, rows_text("a;b;label", rows)), "label", "data.delimiter=';'")

    assert "6 invalid feature cells" in message
    assert "row 2 column 'a' is '5,1' (decimal comma)" in message


def test_bad_cells_listed_up_to_limit(tmp_path, make_config):
    rows = [f"{i}.5,{'xy'[i % 2]}" for i in range(20)] + [f"oops,{'xy'[i % 2]}" for i in range(15)]
    message = rejection(make_config, write(tmp_path, rows_text("a,label", rows)))

    assert "15 invalid feature cells" in message
    assert message.count("is 'oops'") == 10
    assert "and 5 more" in message


def test_text_in_listed_feature(tmp_path, make_config):
    path = write(tmp_path, rows_text("name,a,label", ["anna,1,x", "bert,2,y"]))
    message = rejection(make_config, path, "label", "data.features=[name, a]")

    assert "row 2 column 'name' is 'anna'" in message
    assert "row 3 column 'name' is 'bert'" in message


@pytest.mark.parametrize("row, count", [("1,2,3,x", 4), ("1,x", 2)])
def test_wrong_field_count(tmp_path, make_config, row, count):
    rows = ["1,2,x", row, "3,4,y", "5,6,x,extra,fields"]
    message = rejection(make_config, write(tmp_path, rows_text("a,b,label", rows)))

    assert "2 rows do not have the 3 fields of the header" in message
    assert f"row 3 has {count}" in message
    assert "row 5 has 5" in message
    assert "one value per column" in message
    assert "decimal comma such as 5,1 splits a number" in message


def test_missing_labels(tmp_path, make_config):
    rows = ["1.5,x", "2.5,", "3.5,y", "4.5,NaN"]
    message = rejection(make_config, write(tmp_path, rows_text("a,label", rows)))

    assert "2 missing labels (empty or NaN) in column 'label' at rows 3, 5" in message


def test_single_class(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, rows_text("a,label", ["1.5,x", "2.5,x", "3.5,x"])))

    assert "has the single class 'x' in all 3 rows" in message
    assert "at least 2 classes" in message


def test_continuous_labels(tmp_path, make_config):
    rows = [f"{i}.5,{0.37 * i * i:.3f}" for i in range(30)]
    message = rejection(make_config, write(tmp_path, rows_text("a,price", rows)), "price")

    assert "label column 'price' looks continuous, with 30 distinct numbers in 30 rows" in message
    assert "set data.label_column" in message


def test_whole_number_labels_many_rows_each_accepted(tmp_path, make_config):
    # 12 classes of whole numbers, 3 rows each: as many distinct values as a continuous
    # target might have, but few relative to the rows.
    rows = [f"{i}.5,{i % 12}" for i in range(36)]
    table = read(make_config, write(tmp_path, rows_text("a,grade", rows)), "grade")

    assert len(table.class_names) == 12
    assert table.class_names[:3] == ("0", "1", "2")


def test_no_numeric_feature(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, rows_text("name,label", ["anna,x", "bert,y"])))

    assert "no numeric feature column besides the label column 'label'" in message


def test_only_row_ids_numeric(tmp_path, make_config):
    message = rejection(make_config, write(tmp_path, rows_text("id,name,label", ["1,anna,x", "2,bert,y"])))

    assert "the numeric columns id look like row ids" in message
    assert "list them in data.features" in message


def test_column_of_missing_values_left_out(tmp_path, make_config, caplog):
    rows = ["n/a,1.5,x", ",2.5,y", "NA,3.5,x"]
    with caplog.at_level(logging.INFO, logger="descent"):
        table = read(make_config, write(tmp_path, rows_text("empty,a,label", rows)))

    assert table.feature_names == ("a",)
    assert "column 'empty' is not numeric and is left out" in caplog.text
