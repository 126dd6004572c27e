"""Read a CSV file of numeric features and class labels into a Table, rejecting bad files.

File rules:
- The first non-blank row is the header of column names. Every data row has one field per column.
  Blank rows (every field empty) are skipped.
- Rows are numbered as a spreadsheet shows them: the header is row 1, and blank rows count.
- Feature cells must be finite numbers with a dot as the decimal separator.
- Labels may be text or numbers. Their sorted distinct values (numeric order when every label is
  a number) become classes 0..K-1, named by the label text as the file writes it.

Every bad file raises InputError with one line naming the file, the rows, the columns and the fix.
The stdlib csv module splits the records, because it gives each record's row number. pandas 3.1
read_csv fills short rows with NaN without notice and stops at the first long row (or, when the
first data row is long, takes the extra field as an index column). pandas then handles the columns.
"""

import csv
import difflib
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from config import DataConfig
from errors import InputError
from table import Table

log = logging.getLogger("descent")

MAX_LISTED = 10  # bad cells or rows named in one message, while the rest are only counted
MAX_COLUMNS_LISTED = 20
# Names of row-id columns, in lower case. Names ending in _id, " id" or Id are row ids too.
ID_COLUMN_NAMES = frozenset({"id", "index", "idx", "row", "rowid", "row_id", "row_number", "no", "#", "sample_id"})
# Cell texts that mean "no value". They do not make a column count as text when features are chosen.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
# Label texts that mean "no label". Other markers such as "none" or "-" may be real class names.
MISSING_LABELS = frozenset({"", "nan"})
DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
# Numeric labels look like a continuous target when they have at least CONTINUOUS_MIN_VALUES
# distinct values and these are many relative to the rows. Many means over 5% of the rows when
# some values are fractions, and over half of the rows when all are whole numbers. Half is the
# point where some class has a single row, which a stratified split rejects anyway.
CONTINUOUS_MIN_VALUES = 10
CONTINUOUS_SHARE_FRACTIONS = 0.05
CONTINUOUS_SHARE_WHOLE = 0.5


def read_csv_table(config: DataConfig) -> Table:
    """Read `config.path` into a Table of the chosen feature columns and the encoded labels."""
    path = Path(config.path)
    header, rows, row_numbers = split_records(read_text(path), config.delimiter, path)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    label_column = find_column(config.label_column, header, path, "data.label_column", config.delimiter)

    if config.features is None:
        feature_names = choose_features(frame, label_column, path)
    else:
        feature_names = [find_column(name, header, path, "data.features", config.delimiter)
                         for name in config.features]
    features = parse_features(frame, feature_names, row_numbers, path)
    labels, class_names = encode_labels(frame[label_column], row_numbers, path, label_column)
    return Table(features=features, labels=labels, feature_names=tuple(feature_names),
                 class_names=class_names, source=str(path), label_column=label_column)


# Reading the file into records.

def read_text(path: Path) -> str:
    """Return the file's text, decoded as UTF-8 with or without a byte order mark."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"data file not found: {path}; set data.path to an existing CSV file") from None
    except IsADirectoryError:
        raise InputError(f"data.path {path} is a folder; set it to a CSV file") from None
    except OSError as error:
        raise InputError(f"cannot read data file {path}: {error.strerror}; check that the file is readable") from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = content[:error.start].count(b"\n") + 1
        raise InputError(f"{path}: row {row} is not UTF-8 text (byte 0x{content[error.start]:02x}); "
                         f"save the file as UTF-8 CSV") from None
    if not text.strip():
        raise InputError(f"{path} is empty; a CSV file needs a header row of column names and at least one data row")
    return text


def split_records(text: str, delimiter: str, path: Path) -> tuple[list[str], list[list[str]], np.ndarray]:
    """Split the text into the header, the data rows and each data row's spreadsheet row number.

    Fields are stripped of surrounding spaces. Raises InputError for a bad header, no data rows
    or rows whose field count differs from the header's.
    """
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, fields in enumerate(reader, start=1):
            fields = [field.strip() for field in fields]
            if any(fields):
                records.append((number, fields))
    except csv.Error as error:
        raise InputError(f"{path}: row {number + 1} cannot be parsed ({error}); "
                         f"check the quotes and data.delimiter") from None

    if not records:
        raise InputError(f"{path} has no values; a CSV file needs a header row of column names and data rows")
    header_row, header = records[0]
    header = name_columns(header, header_row, path)
    if len(records) == 1:
        raise InputError(f"{path} has a header row but no data rows; add rows below the header")
    check_field_counts(records[1:], len(header), path, delimiter)
    rows = [fields for _, fields in records[1:]]
    return header, rows, np.array([number for number, _ in records[1:]])


def name_columns(header: list[str], header_row: int, path: Path) -> list[str]:
    """Return the header's column names, with column_<position> for an empty name.

    pandas' to_csv writes its index column under an empty name. Raises InputError for a header
    that looks like a data row or repeats a name.
    """
    numbers = pd.to_numeric(pd.Series(header, dtype=object), errors="coerce")
    if numbers.notna().sum() > len(header) / 2:
        raise InputError(f"{path}: row {header_row} looks like data ({', '.join(header[:5])}), not a header; "
                         f"add a header row of column names as the first row")
    names = [name or f"column_{position}" for position, name in enumerate(header, start=1)]
    for position, name in enumerate(names, start=1):
        first = names.index(name) + 1
        if first != position:
            raise InputError(f"{path}: column name {name!r} appears twice in the header (row {header_row}, "
                             f"columns {first} and {position}); rename one of them")
    return names


def check_field_counts(records: list[tuple[int, list[str]]], width: int, path: Path, delimiter: str) -> None:
    """Raise InputError naming every row (up to MAX_LISTED) whose field count is not `width`."""
    bad = [(number, len(fields)) for number, fields in records if len(fields) != width]
    if not bad:
        return
    listed = ", ".join(f"row {number} has {count}" for number, count in bad[:MAX_LISTED])
    more = f", and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    hint = ""
    if delimiter == "," and any(count > width for _, count in bad):
        hint = ("; a decimal comma such as 5,1 splits a number in two, so write 5.1, quote the value "
                "or set data.delimiter")
    verb = "rows do" if len(bad) > 1 else "row does"
    raise InputError(f"{path}: {len(bad)} {verb} not have the {width} fields of the header: {listed}{more}; "
                     f"give every row one value per column{hint}")


def find_column(name: str, header: list[str], path: Path, key: str, delimiter: str) -> str:
    """Return `name` if the header has it; otherwise raise InputError listing the columns."""
    if name in header:
        return name
    lowered = {column.lower(): column for column in header}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    suggestion = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    columns = ", ".join(header[:MAX_COLUMNS_LISTED])
    if len(header) > MAX_COLUMNS_LISTED:
        columns += f" ... ({len(header)} in all)"
    others = [mark for mark in (",", ";", "\t", "|") if mark != delimiter and mark in header[0]]
    if len(header) == 1 and others:
        # The whole header is one name, so a suggestion drawn from it would only repeat it.
        suggestion = f"; the header has one column, so the file may be separated by {others[0]!r}: set data.delimiter"
    raise InputError(f"{path}: column {name!r} of {key} not found in the header; the columns are {columns}{suggestion}")


# Choosing and parsing the feature columns.

def choose_features(frame: pd.DataFrame, label_column: str, path: Path) -> list[str]:
    """Return every numeric column except the label and row-id columns, logging the ones left out.

    A column is numeric when most of its values (missing markers aside) are numbers, so a
    numeric column with a few bad cells is kept and its cells are reported by parse_features.
    """
    chosen, row_ids = [], []
    for name in frame.columns:
        if name == label_column:
            continue
        texts = frame[name]
        present = texts[~texts.str.lower().isin(MISSING_MARKERS)]
        numeric = pd.to_numeric(present, errors="coerce").notna() | present.str.fullmatch(DECIMAL_COMMA)
        if len(present) == 0 or numeric.mean() <= 0.5:
            log.info(f"column {name!r} is not numeric and is left out of the features")
        elif is_row_id(name, texts):
            log.info(f"column {name!r} looks like a row id (distinct whole numbers) and is left out of the features; "
                     f"list it in data.features to use it")
            row_ids.append(name)
        else:
            chosen.append(name)
    if row_ids and not chosen:
        raise InputError(f"{path}: the numeric columns {', '.join(row_ids)} look like row ids and no other column "
                         f"is numeric; list them in data.features to use them as features")
    if not chosen:
        raise InputError(f"{path}: no numeric feature column besides the label column {label_column!r}; "
                         f"add numeric columns or list the feature columns in data.features")
    return chosen


def is_row_id(name: str, texts: pd.Series) -> bool:
    """Tell whether a column contains distinct whole numbers and is named like an id or counts the rows."""
    values = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    if len(np.unique(values)) != len(values):
        return False
    lowered = name.lower()
    named = (lowered in ID_COLUMN_NAMES or lowered.endswith(("_id", " id")) or name.endswith("Id")
             or re.fullmatch(r"column_\d+", name) is not None)
    counts_rows = any(np.array_equal(values, np.arange(start, start + len(values))) for start in (0, 1, 2))
    return named or counts_rows


def parse_features(frame: pd.DataFrame, names: list[str], row_numbers: np.ndarray, path: Path) -> np.ndarray:
    """Convert the feature columns to float64; raise InputError listing every bad cell up to MAX_LISTED."""
    columns, bad = [], []
    for position, name in enumerate(names):
        texts = frame[name]
        values = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64)
        for index in np.flatnonzero(~np.isfinite(values)):
            bad.append((row_numbers[index], position, describe_cell(texts.iloc[index])))
        columns.append(values)
    if bad:
        bad.sort()
        listed = ", ".join(f"row {row} column {names[column]!r} {text}" for row, column, text in bad[:MAX_LISTED])
        more = f", and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        raise InputError(f"{path}: {len(bad)} invalid feature cell{'s' if len(bad) > 1 else ''}: {listed}{more}; "
                         f"feature cells must be finite numbers with a dot as decimal separator, so fix them, "
                         f"delete their rows or leave the column out with data.features")
    return np.column_stack(columns)


def describe_cell(text: str) -> str:
    if text == "":
        return "is empty"
    if DECIMAL_COMMA.fullmatch(text):
        return f"is {text!r} (decimal comma)"
    return f"is {text!r}"


# Encoding the labels.

def encode_labels(texts: pd.Series, row_numbers: np.ndarray, path: Path, column: str) -> tuple[np.ndarray, tuple]:
    """Map the sorted distinct labels to 0..K-1 and return the codes and the class names.

    Labels that are all numbers sort by value, so -1 < 1 and 2 < 10, and texts such as 1 and
    1.0 are one class, named by the text of its first row. Other labels sort as text.
    """
    missing = row_numbers[texts.str.lower().isin(MISSING_LABELS).to_numpy()]
    if len(missing):
        plural = "s" if len(missing) > 1 else ""
        rows = ", ".join(map(str, missing[:MAX_LISTED])) + (", ..." if len(missing) > MAX_LISTED else "")
        raise InputError(f"{path}: {len(missing)} missing label{plural} (empty or NaN) in column {column!r} "
                         f"at row{plural} {rows}; give every row a class label or delete those rows")

    numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64)
    if np.all(np.isfinite(numbers)):
        check_not_continuous(numbers, path, column)
        _, first, codes = np.unique(numbers, return_index=True, return_inverse=True)
    else:
        _, first, codes = np.unique(texts.to_numpy(dtype=str), return_index=True, return_inverse=True)
    class_names = tuple(str(texts.iloc[index]) for index in first)

    if len(class_names) < 2:
        raise InputError(f"{path}: label column {column!r} has the single class {class_names[0]!r} in all "
                         f"{len(texts)} rows; at least 2 classes are needed, so check data.label_column")
    return codes.astype(np.int64), class_names


def check_not_continuous(numbers: np.ndarray, path: Path, column: str) -> None:
    """Raise InputError when numeric labels look like a continuous target rather than classes."""
    distinct = np.unique(numbers)
    fractional = not np.all(distinct == np.round(distinct))
    share = CONTINUOUS_SHARE_FRACTIONS if fractional else CONTINUOUS_SHARE_WHOLE
    if len(distinct) >= CONTINUOUS_MIN_VALUES and len(distinct) > share * len(numbers):
        examples = ", ".join(f"{value:g}" for value in distinct[:3])
        raise InputError(f"{path}: label column {column!r} looks continuous, with {len(distinct)} distinct numbers "
                         f"in {len(numbers)} rows ({examples}, ...); the labels must be classes, because this "
                         f"suite trains classifiers, so set data.label_column to a column of class labels")
