"""Reading labelled text from CSV, TSV or JSON Lines files."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from lightlab.data.csv_files import MAX_FIELD_CHARS, column_list, csv_records, decode, too_long
from lightlab.errors import UserError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def read_labelled_texts(
    path: str | Path,
    text_column: str,
    label_column: str,
    encoding: str = "utf-8",
    max_field_chars: int = MAX_FIELD_CHARS,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from one file in ``encoding``, labels as strings; a field (or JSON line)
    longer than ``max_field_chars`` is an error naming its line.

    Rows whose text is empty or only whitespace are skipped with one warning that names their row
    numbers (a data problem worth seeing, not worth stopping a run for). A missing file, an empty
    file, a missing column and a missing label are errors naming the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"text file not found: {path} (put your file there, or point --data.init_args.path, or "
            "train_path/val_path/test_path, at it)"
        )
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: unknown text file type {path.suffix!r}; use .csv, .tsv or .jsonl")
    rows = list(_rows(path, kind, decode(path, encoding), max_field_chars))
    if not rows:
        raise UserError(f"{path} holds no rows")
    texts, labels, empty = [], [], []
    for number, row in rows:
        missing = [c for c in (text_column, label_column) if c not in row]
        if missing:
            found = column_list(row)
            where = f"{path}:{number}" if kind == "jsonl" else str(path)  # a JSON line has its own keys
            raise UserError(
                f"{where}: no column {missing[0]!r} (columns found: {found}); set --data.init_args."
                f"{'text' if missing[0] == text_column else 'label'}_column"
            )
        text, label = str(row[text_column] or "").strip(), row[label_column]
        if label is None or str(label).strip() == "":
            raise UserError(f"{path}:{number}: this row has no label")
        if not text:
            empty.append(number)
            continue
        texts.append(text)
        labels.append(str(label).strip())
    if not texts:
        raise UserError(f"{path} has no rows with text")
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" …" if len(empty) > 10 else "")
        warnings.warn(f"{path}: skipped {len(empty)} row(s) with empty text: {shown}", stacklevel=2)
    return texts, labels


def read_texts(path: str | Path, text_column: str, encoding: str = "utf-8") -> list[str]:
    """Unlabelled texts to classify: the ``text_column`` of a CSV/TSV/JSONL file, else one text per
    non-empty line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"predict file not found: {path}")
    kind = FORMATS.get(path.suffix.lower())
    content = decode(path, encoding)
    if kind is None:
        rows = [(n, {text_column: line}) for n, line in enumerate(editor_lines(content), start=1)]
    else:
        rows = list(_rows(path, kind, content))
    texts = []
    for _, row in rows:
        if text_column not in row:
            raise UserError(
                f"{path}: no column {text_column!r} (columns found: {column_list(row)}); name the texts' "
                f"column {text_column}, or give one text per line in a .txt file"
            )
        text = str(row[text_column] or "").strip()
        if text:
            texts.append(text)
    if not texts:
        raise UserError(f"{path} holds no text to classify")
    return texts


def editor_lines(text: str) -> list[str]:
    """``text`` split where an editor breaks lines (\\n, \\r\\n, \\r), not at every character
    ``str.splitlines`` breaks at (U+2028, a form feed), which a JSON string may hold."""
    return re.split(r"\r\n|\r|\n", text.removesuffix("\n").removesuffix("\r"))


def _rows(path: Path, kind: str, text: str, max_field_chars: int = MAX_FIELD_CHARS):
    """``(line, dict)`` pairs, each row with the line it starts on in an editor."""
    if kind == "jsonl":
        for number, line in enumerate(editor_lines(text), start=1):
            if not line.strip():
                continue
            if len(line) > max_field_chars:
                raise too_long(path, number, max_field_chars)
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UserError(f"{path}:{number}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise UserError(f"{path}:{number}: each line must be a JSON object")
            yield number, record
        return
    delimiter = "\t" if kind == "tsv" else ","
    yield from csv_records(path, text, delimiter, max_field_chars)[1]
