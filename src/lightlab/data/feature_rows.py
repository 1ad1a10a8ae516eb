"""Rows of numeric features read from a CSV, checked cell by cell (no torch: the ONNX predictor uses it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lightlab.data.text_files import check_unique_columns, column_list, decode
from lightlab.errors import UserError

FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32: larger values become inf in the net


def is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def is_feature_value(text: str | None) -> bool:
    """A number the net can take: finite once stored as float32."""
    return is_number(text) and abs(float(text)) <= FLOAT32_MAX


def read_feature_rows(path: Path, feature_names: list[str]) -> tuple[list[list[float]], list[str]]:
    """The ``feature_names`` columns of each row of a CSV (other columns are ignored), and each
    row's name ``file:line``."""
    if not path.is_file():
        raise UserError(f"predict file not found: {path}")
    reader = csv.DictReader(io.StringIO(decode(path, "utf-8"), newline=""))
    header = reader.fieldnames or []
    needed = ", ".join(feature_names)
    if not header:
        raise UserError(f"{path} is empty; it needs a header row naming the feature columns {needed}")
    check_unique_columns(path, header)
    missing = [name for name in feature_names if name not in header]
    if missing:
        raise UserError(
            f"{path} lacks feature column(s) {', '.join(missing)} (columns found: {column_list(header)}); "
            f"the model takes {needed}"
        )
    rows, names = [], []
    try:
        for line, row in enumerate(reader, start=2):
            bad = [c for c in feature_names if not is_feature_value(row[c])]
            if bad:
                raise UserError(f"{path}:{line}: column {bad[0]!r} is {row[bad[0]]!r}, not a finite number")
            rows.append([float(row[c]) for c in feature_names])
            names.append(f"{path.name}:{line}")
    except csv.Error as error:
        raise UserError(f"{path}:{reader.line_num}: not a readable CSV ({error})") from None
    if not rows:
        raise UserError(f"{path} has a header but no rows to classify")
    return rows, names
