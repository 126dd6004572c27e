"""Predict classes with a trained run, from raw (unscaled) feature values.

Usage:
    python predict.py runs/NAME --sample 5.1,3.5,1.4,0.2
    python predict.py runs/NAME --input flowers.csv --output predictions.csv

The input CSV starts with a header row of the run's feature names, in any order; each further
row is one sample. One extra column holding class names is taken as the true labels, and then
the accuracy and the confusion matrix are printed too. Each row's scores are the softmax of the
network's outputs. Exit status: 0 on success, 2 on invalid input.
"""

import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix

from cli import ArgumentParser, import_tensorflow, run_main
from errors import InputError

INPUT_HELP = ("The --input CSV file starts with a header row of the run's feature names, in any order. "
              "One extra column of class names is read as the true labels: the accuracy and the confusion "
              "matrix are then printed too. If the first --sample value is negative, write --sample=-1.5,...")


@dataclass(frozen=True)
class InputRows:
    features: np.ndarray  # [n_rows, n_features], float64, in the run's feature order
    labels: np.ndarray | None  # class index per row, when the input has a label column
    label_column: str | None


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(
        prog="predict.py",
        description="Predict classes with the network of a finished run folder.",
        epilog=INPUT_HELP,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run folder, such as runs/adam-500")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, metavar="FILE.csv",
                        help="CSV file with a header row of feature names and raw feature values")
    source.add_argument("--sample", metavar="V1,V2,...",
                        help="one row of raw feature values, comma-separated, in the run's feature order")
    parser.add_argument("--output", type=Path, metavar="FILE.csv",
                        help="write the predictions to this CSV file instead of printing each row")
    parser.add_argument("--overwrite", action="store_true", help="replace the --output file if it exists")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    return parser.parse_args(argv)


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


def check_header(header: list[str], path: Path, feature_names: tuple[str, ...]) -> str | None:
    """Check the header row; return the name of the label column, or None if there is none."""
    expected = f"expected the columns {', '.join(feature_names)}, plus an optional column of class names"
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"invalid header in {path}: column {duplicates[0]!r} appears twice; {expected}")
    missing = [name for name in feature_names if name not in header]
    if missing:
        raise InputError(f"invalid header in {path}: no column {missing[0]!r}; {expected}")
    extra = [name for name in header if name not in feature_names]
    if len(extra) > 1:
        raise InputError(f"invalid header in {path}: {len(extra)} unknown columns {', '.join(map(repr, extra))}; "
                         f"{expected}")
    return extra[0] if extra else None


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


def read_input_csv(path: Path, feature_names: tuple[str, ...], class_names: tuple[str, ...]) -> InputRows:
    """Read raw feature rows, and the labels when the file has a column of class names."""
    (_, header), *body = read_table(path)
    header = [name.strip() for name in header]
    label_column = check_header(header, path, feature_names)
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
    if text not in class_names:
        raise InputError(f"unknown class {text!r} {where}: expected one of {', '.join(class_names)}")
    return class_names.index(text)


# Writing the predictions.

def check_output(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise InputError(f"output file {path} already exists; choose another name or pass --overwrite")
    if not path.parent.is_dir():
        raise InputError(f"output folder {path.parent} does not exist; create it or choose another --output")


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
    return [f"accuracy {hits / len(predicted):.6f} ({hits} of {len(predicted)} rows, labels from column "
            f"{rows.label_column!r})",
            "confusion matrix (rows: true class, columns: predicted class)",
            *confusion_lines(matrix.tolist(), class_names, width)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
        rows = read_input_csv(args.input, info.feature_names, info.class_names)
    if args.output is not None:
        check_output(args.output, args.overwrite)

    with Predictor(config, info) as predictor:
        probabilities = predictor.probabilities(rows.features)
    output = prediction_rows(rows, probabilities, info.class_names)
    if args.output is None:
        print("\n".join(predictions_table(output, info.class_names)))
    else:
        runs.write_atomic(args.output, predictions_csv(output))
        print(f"wrote {len(output)} predictions to {args.output}")
    if rows.labels is not None:
        print("\n".join(accuracy_lines(rows, probabilities, info.class_names)))
    return 0


if __name__ == "__main__":
    run_main(main)
