"""Numeric CSV tables, checked in one place with one wording (no torch: the ONNX predictor uses
it): rows of labelled features for training, rows of features to classify."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lightlab.data.csv_files import column_list, read_csv
from lightlab.errors import UserError

FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32: larger values become inf in the net


def is_number(text: object) -> bool:
    """A number, or text that reads as one (an empty cell is not)."""
    if text is None or text == "":
        return False
    try:
        float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def is_feature_value(text: object) -> bool:
    """A number the net can take: finite once stored as float32."""
    return is_number(text) and abs(float(text)) <= FLOAT32_MAX  # type: ignore[arg-type]


def bad_feature(where: str, column: str, value: object, fix: str = "fill it in or drop the row") -> UserError:
    """The one message for a cell the net cannot take (text, empty, nan, inf, beyond float32)."""
    return UserError(f"{where}column {column!r} is {value!r}, not a finite number; {fix}")


def feature_values(
    where: str, row: Sequence[object], columns: Sequence[str], fix: str = "fill it in or drop the row"
) -> list[float]:
    """``row``'s cells (in ``columns``' order) as numbers, or ``bad_feature`` for the first that is not."""
    for column, value in zip(columns, row, strict=True):
        if not is_feature_value(value):
            raise bad_feature(where, column, value, fix)
    return [float(value) for value in row]  # type: ignore[arg-type]


def _table(path: Path, columns_needed: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    header, records = read_csv(path)
    if not header:
        raise UserError(f"{path} is empty; it needs a header row naming {columns_needed}")
    return header, records


def _feature_table(
    path: Path, records: list[tuple[int, dict[str, str]]], columns: list[str]
) -> list[list[float]]:
    return [feature_values(f"{path}:{line}: ", [row[c] for c in columns], columns) for line, row in records]


def read_labelled_rows(path: Path, label_column: str) -> tuple[list[list[float]], list[str], list[str]]:
    """A CSV of numeric feature columns plus one label column: ``(rows, labels, feature_names)``,
    the labels as their strings."""
    if not path.is_file():
        raise UserError(f"data file not found: {path} (pass an existing CSV to --data.csv_path)")
    header, records = _table(path, f"the feature columns and {label_column}")
    if label_column not in header:
        raise UserError(
            f"{path} has no column {label_column!r} (columns found: {column_list(header)}); "
            "set --data.init_args.label_column"
        )
    feature_names = [c for c in header if c != label_column]
    if not records:
        raise UserError(f"{path} has a header but no rows")
    labels = [(row[label_column] or "").strip() for _, row in records]
    for (line_number, _), label in zip(records, labels, strict=True):
        if not label:
            raise UserError(f"{path}:{line_number}: no {label_column} given; fill it in or drop the row")
    textual = [c for c in feature_names if not any(is_number(row[c]) for _, row in records)]
    if textual and all(is_number(label) for label in labels):
        raise UserError(
            f"{path}: label column {label_column!r} holds numbers but column {textual[0]!r} holds only text; "
            f"did you mean --data.init_args.label_column {textual[0]}?"
        )
    distinct = len(set(labels))
    if distinct > max(20, len(labels) // 5):  # under five rows a class on average
        raise UserError(
            f"{path}: label column {label_column!r} has {distinct} different values in {len(labels)} rows, "
            "so it looks like a feature, not a class; set --data.init_args.label_column"
        )
    rows = [
        feature_values(f"{path}:{line}: ", [row[c] for c in feature_names], feature_names)
        for line, row in records
    ]
    return rows, labels, feature_names


def read_feature_rows(path: Path, feature_names: list[str]) -> tuple[list[list[float]], list[str]]:
    """The ``feature_names`` columns of each row of a CSV (other columns are ignored), and each
    row's name ``file:line``."""
    if not path.is_file():
        raise UserError(f"predict file not found: {path}")
    needed = ", ".join(feature_names)
    header, records = _table(path, f"the feature columns {needed}")
    missing = [name for name in feature_names if name not in header]
    if missing:
        raise UserError(
            f"{path} lacks feature column(s) {', '.join(missing)} (columns found: {column_list(header)}); "
            f"the model takes {needed}"
        )
    if not records:
        raise UserError(f"{path} has a header but no rows to classify")
    rows = [
        feature_values(f"{path}:{line}: ", [row[c] for c in feature_names], feature_names)
        for line, row in records
    ]
    return rows, [f"{path.name}:{line}" for line, _ in records]
