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
        line = data[: error.start].count(b"\n") + 1
        raise UserError(
            f"{path}:{line}: not valid {encoding} (byte 0x{data[error.start]:02x}); give the file's "
            "encoding with --data.init_args.encoding, e.g. latin-1 or cp1252"
        ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the first column's name


# The longest CSV field or JSON line a reader takes, in characters (Python's csv stops at 131072
# with a bare error); a text DataModule's ``max_field_chars`` changes it.
MAX_FIELD_CHARS = 1_000_000


def too_long(path: Path, line: int, limit: int) -> UserError:
    return UserError(
        f"{path}:{line}: a field longer than {limit} characters; shorten that line, or raise the bound "
        "with --data.init_args.max_field_chars"
    )


def csv_records(
    path: Path, text: str, delimiter: str = ",", max_field_chars: int = MAX_FIELD_CHARS
) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header (empty for an empty file; a column named twice is an error) and each row as
    ``csv.DictReader`` gives it, with the line it starts on in an editor (blank lines and the
    lines of a quoted multi-line field counted). A malformed file or an overlong field is one line
    naming where."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, dict]] = []
    previous_limit = csv.field_size_limit(max_field_chars)
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if header is None:
                header = cells
                check_unique_columns(path, header)
                continue
            row: dict = dict(zip(header, cells, strict=False))
            row.update({name: None for name in header[len(cells) :]})
            if len(cells) > len(header):
                row[None] = cells[len(header) :]
            rows.append((line, row))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise too_long(path, reader.line_num, max_field_chars) from None
        raise UserError(f"{path}:{reader.line_num}: not a readable CSV ({error})") from None
    finally:
        csv.field_size_limit(previous_limit)
    return header or [], rows


def read_csv(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, dict]]]:
    """A CSV file's header and numbered rows (``csv_records``), read in ``encoding``."""
    return csv_records(path, decode(path, encoding))
