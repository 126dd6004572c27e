"""Predict classes with a trained run, from raw (unscaled) feature values.

Usage:
    python predict.py runs/NAME --sample 5.1,3.5,1.4,0.2
    python predict.py runs/NAME --input flowers.csv --output predictions.csv

The input CSV starts with a header row that contains the run's feature names, in any order; each
further row is one sample. For a run trained on a CSV file, the column named by the run's
data.label_column is read as the true labels when present, and other extra columns are ignored.
For a bundled data set, one extra column of class names, under any name, is read as the true
labels. With labels, the accuracy and the confusion matrix are printed too. Each row's scores are
the softmax of the network's outputs. Exit status: 0 on success, 2 on invalid input.
"""

import csv
import io
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix

from cli import ArgumentParser, configure_logging, import_tensorflow, run_main
from errors import InputError

log = logging.getLogger("descent")

INPUT_HELP = ("The --input CSV file starts with a header row that contains the run's feature names, in any "
              "order. For a run trained on a CSV file, the column named by the run's data.label_column is "
              "read as the true labels, and other extra columns are ignored. For a bundled data set, one "
              "extra column of class names is read as the true labels. With labels, the accuracy and the "
              "confusion matrix are printed too.")


@dataclass(frozen=True)
class InputRows:
    features: np.ndarray  # [n_rows, n_features], float64, in the run's feature order
    labels: np.ndarray | None  # class index per row, when the input has a label column
    label_column: str | None


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="predict.py",
        description="Predict classes with the network of a finished run folder.",
        epilog=INPUT_HELP,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run folder, such as runs/adam-500")
    # Not required=True: argparse would then report a missing source before an unknown flag such as --sampel.
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", type=Path, metavar="FILE.csv",
                        help="CSV file with a header row of feature names and raw feature values")
    source.add_argument("--sample", metavar="V1,V2,...",
                        help="one row of raw feature values, comma-separated, in the run's feature order; "
                             "a negative first value such as -1.5,3,1,0.2 works as written")
    parser.add_argument("--output", type=Path, metavar="FILE.csv",
                        help="write the predictions to this CSV file instead of printing each row")
    parser.add_argument("--overwrite", action="store_true", help="replace the --output file if it exists")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    return parser


def parse_args(argv: Sequence[str] | None):
    parser = build_parser()
    args = parser.parse_args(join_sample_value(sys.argv[1:] if argv is None else argv))
    if args.input is None and args.sample is None:
        parser.error("one of --input or --sample is required")
    return args


def join_sample_value(argv: Sequence[str]) -> list[str]:
    """Rewrite `--sample VALUES` as `--sample=VALUES` when the first item of VALUES is a number.

    argparse reads a value that starts with '-' as an option unless it is one negative number,
    so `--sample -1,3.5,1.4,0.2` would otherwise lose its value.
    """
    arguments = list(argv)
    joined = []
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if argument == "--":
            joined += arguments[index:]  # everything after "--" is positional
            break
        if argument == "--sample" and index + 1 < len(arguments) and starts_with_number(arguments[index + 1]):
            joined.append(f"--sample={arguments[index + 1]}")
            index += 2
            continue
        joined.append(argument)
        index += 1
    return joined


def starts_with_number(text: str) -> bool:
    try:
        float(text.split(",")[0])
    except ValueError:
        return False
    return True


# Reading the input rows.

def parse_number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"invalid value {text.strip()!r} {where}: expected a number") from None
    if not math.isfinite(value):
        raise InputError(f"invalid value {text.strip()!r} {where}: expected a finite number")
    return value


def parse_sample(text: str, feature_names: tuple[str, ...]) -> InputRows:
    values = text.split(",")
    if len(values) != len(feature_names):
        raise InputError(f"--sample has {len(values)} values, but the run's network takes {len(feature_names)} "
                         f"features, in this order: {', '.join(feature_names)}")
    row = [parse_number(value, f"for {name} in --sample") for value, name in zip(values, feature_names)]
    return InputRows(features=np.array([row], dtype=np.float64), labels=None, label_column=None)


def quoted(names) -> str:
    return ", ".join(map(repr, names))


def check_header(header: list[str], path: Path, feature_names: tuple[str, ...],
                 label_column: str | None) -> str | None:
    """Check the header row and return the column of true labels, or None if the file has none.

    `label_column` is the data.label_column of a run trained on a CSV file, and None for a
    bundled data set, whose labels may be in one extra column of any name.
    """
    labels = f"the optional label column {label_column!r}" if label_column else "an optional column of class names"
    expected = (f"the run needs the feature columns {quoted(feature_names)} (listed in model.json, any order), "
                f"plus {labels}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"invalid header in {path}: column {duplicates[0]!r} appears twice; {expected}")
    missing = [name for name in feature_names if name not in header]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise InputError(f"invalid header in {path}: no {noun} {quoted(missing)}; {expected}")

    extra = [name for name in header if name not in feature_names]
    if label_column is not None:
        log_ignored_columns([name for name in extra if name != label_column], path)
        return label_column if label_column in header else None
    if len(extra) > 1:
        raise InputError(f"invalid header in {path}: {len(extra)} unknown columns {quoted(extra)}; {expected}")
    return extra[0] if extra else None


def log_ignored_columns(ignored: list[str], path: Path) -> None:
    if len(ignored) == 1:
        log.info(f"{path}: column {ignored[0]!r} is not a feature of the run and is ignored")
    elif ignored:
        log.info(f"{path}: columns {quoted(ignored)} are not features of the run and are ignored")


def read_table(path: Path) -> list[tuple[int, list[str]]]:
    """Return the non-blank rows of a CSV file with their line numbers, header first."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"input file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read input file {path}: {error}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise InputError(f"invalid CSV in {path} on line {reader.line_num}: {error}") from None
    if not rows:
        raise InputError(f"input file {path} is empty; expected a header row of feature names")
    return rows


def read_input_csv(path: Path, feature_names: tuple[str, ...], class_names: tuple[str, ...],
                   label_column: str | None = None) -> InputRows:
    """Read raw feature rows, and the labels when the file has a label column.

    `label_column` is the run's data.label_column for a run trained on a CSV file (see check_header).
    """
    (_, header), *body = read_table(path)
    header = [name.strip() for name in header]
    label_column = check_header(header, path, feature_names, label_column)
    if not body:
        raise InputError(f"input file {path} has a header but no data rows")
    positions = [header.index(name) for name in feature_names]
    features, labels = [], []
    for line, row in body:
        if len(row) != len(header):
            raise InputError(f"line {line} of {path} has {len(row)} cells, expected {len(header)} as in the header")
        features.append([parse_number(row[position], f"in column {name!r} on line {line} of {path}")
                         for position, name in zip(positions, feature_names)])
        if label_column is not None:
            labels.append(parse_label(row[header.index(label_column)].strip(), class_names,
                                      f"in column {label_column!r} on line {line} of {path}"))
    return InputRows(features=np.array(features, dtype=np.float64),
                     labels=np.array(labels, dtype=np.int64) if label_column else None, label_column=label_column)


def parse_label(text: str, class_names: tuple[str, ...], where: str) -> int:
    if text in class_names:
        return class_names.index(text)
    index = numeric_class_index(text, class_names)
    if index is None:
        raise InputError(f"unknown class {text!r} {where}: expected one of {', '.join(class_names)}; "
                         f"the one column that is not a feature is read as the true labels, so remove it "
                         f"if it contains something else")
    return index


def numeric_class_index(text: str, class_names: tuple[str, ...]) -> int | None:
    """Return the class whose name is the same number as `text`, such as 1 for 1.0, or None.

    Training reads labels that are all numbers by value, so 1 and 1.0 name one class there too.
    """
    try:
        value = float(text)
        numbers = [float(name) for name in class_names]
    except ValueError:
        return None
    return numbers.index(value) if value in numbers else None


# Writing the predictions.

def check_output(path: Path, overwrite: bool) -> None:
    """Raise InputError unless `path` can receive the predictions CSV file."""
    if path.is_dir():
        raise InputError(f"--output {path} is a folder; give a file path such as {path / 'predictions.csv'}")
    if path.exists() and not overwrite:
        raise InputError(f"output file {path} already exists; choose another name or pass --overwrite")
    if not path.parent.exists():
        raise InputError(f"output folder {path.parent} does not exist; create it or choose another --output")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent} in --output {path} is a file, not a folder; choose another --output")


def prediction_rows(rows: InputRows, probabilities: np.ndarray, class_names: tuple[str, ...]) -> list[dict]:
    """Build one output row per input row: predicted class, a score per class and the label if given."""
    predicted = probabilities.argmax(axis=1)
    output = []
    for index, scores in enumerate(probabilities):
        row = {"row": index + 1, "predicted": class_names[predicted[index]]}
        row.update({f"score_{name}": float(score) for name, score in zip(class_names, scores)})
        if rows.labels is not None:
            row["label"] = class_names[rows.labels[index]]
        output.append(row)
    return output


def predictions_csv(output: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(output[0]), lineterminator="\n")
    writer.writeheader()
    for row in output:
        writer.writerow({key: f"{value:.9g}" if isinstance(value, float) else value for key, value in row.items()})
    return buffer.getvalue()


def predictions_table(output: list[dict], class_names: tuple[str, ...]) -> list[str]:
    width = max(10, *(len(name) + 2 for name in class_names))
    lines = [f"{'row':>5}  {'predicted':<{width}}" + "".join(f"{name:>{width}}" for name in class_names)
             + ("  label" if "label" in output[0] else "")]
    for row in output:
        line = f"{row['row']:>5}  {row['predicted']:<{width}}"
        line += "".join(f"{row[f'score_{name}']:>{width}.4f}" for name in class_names)
        lines.append(line + (f"  {row['label']}" if "label" in row else ""))
    return lines


def accuracy_lines(rows: InputRows, probabilities: np.ndarray, class_names: tuple[str, ...]) -> list[str]:
    from report import confusion_lines  # imports TensorFlow, so only after import_tensorflow

    predicted = probabilities.argmax(axis=1)
    hits = int(np.sum(predicted == rows.labels))
    matrix = confusion_matrix(rows.labels, predicted, labels=list(range(len(class_names))))
    width = max(12, *(len(name) + 2 for name in class_names))
    rows_word = "row" if len(predicted) == 1 else "rows"
    return [f"accuracy {hits / len(predicted):.6f} ({hits} of {len(predicted)} {rows_word}, labels from column "
            f"{rows.label_column!r})",
            "confusion matrix (rows: true class, columns: predicted class)",
            *confusion_lines(matrix.tolist(), class_names, width)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.output is not None:
        check_output(args.output, args.overwrite)
    configure_logging()
    import_tensorflow(args.verbose)

    import runs
    from config import resolve_config
    from inference import Predictor

    runs.require_run_files(args.run_dir, ["config.yaml", runs.MODEL_INFO])
    config = resolve_config(args.run_dir / "config.yaml")
    info = runs.read_model_info(args.run_dir)
    if args.sample is not None:
        rows = parse_sample(args.sample, info.feature_names)
    else:
        label_column = config.data.label_column if config.data.name == "csv" else None
        rows = read_input_csv(args.input, info.feature_names, info.class_names, label_column)

    with Predictor(config, info) as predictor:
        probabilities = predictor.probabilities(rows.features)
    output = prediction_rows(rows, probabilities, info.class_names)
    if args.output is None:
        print("\n".join(predictions_table(output, info.class_names)))
    else:
        try:
            runs.write_atomic(args.output, predictions_csv(output))
        except OSError as error:
            raise InputError(f"cannot write --output {args.output}: {error.strerror}; "
                             f"choose another --output") from None
        print(f"wrote {len(output)} prediction{'' if len(output) == 1 else 's'} to {args.output}")
    if rows.labels is not None:
        print("\n".join(accuracy_lines(rows, probabilities, info.class_names)))
    return 0


if __name__ == "__main__":
    run_main(main)
