"""Reading CSV files as the tabular and text readers both do (no torch): the file's text in its
encoding, its header checked, its rows numbered as an editor numbers lines."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lightlab.errors import UserError


def column_list(names: object) -> str:
    """Column names for a one-line message: plain where printable, quoted where not."""
    shown = [name if isinstance(name, str) and name.isprintable() else repr(name) for name in names]
    return ", ".join(shown) or "none"


def check_unique_columns(path: Path, header: list[str]) -> None:
    """A header naming a column twice would silently keep only the last one's values."""
    seen = set()
    for name in header:
        if name in seen:
            raise UserError(f"{path}: the header names column {name!r} twice; rename one of them")
        seen.add(name)


def decode(path: Path, encoding: str) -> str:
    """The file's text; bytes that are not ``encoding`` are an error naming the row they are on."""
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1 or cp1252") from None
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise UserError(
            f"{path}: row {row} is not valid {encoding} (byte 0x{data[error.start]:02x}); give the file's "
            "encoding with --data.init_args.encoding, e.g. latin-1 or cp1252"
        ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the first column's name


def read_csv(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (empty for an empty file; a column named twice is an error) and each row with
    its line number; a malformed file is one line naming where."""
    reader = csv.DictReader(io.StringIO(decode(path, encoding), newline=""))
    try:
        header = list(reader.fieldnames or [])
        check_unique_columns(path, header)
        return header, list(enumerate(reader, start=2))
    except csv.Error as error:
        raise UserError(f"{path}:{reader.line_num}: not a readable CSV ({error})") from None
