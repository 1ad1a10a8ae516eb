"""The results table as a person reads it: numbers to 4 significant digits, dotted keys shortened
to the tail that tells them apart, run names on one line, and only as many differing settings as
fit the terminal; the others are named under the table (``--wide`` and the CSV show them all).
"""

from __future__ import annotations

import re

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# Columns always shown, before and after the differing settings; the SPARED ones only where they fit.
LEADING = ("run", "status")
TRAILING = ("best", "test acc", "test f1", "epochs", "fit s", "samples/s", "peak MB")
SPARED = ("samples/s", "peak MB", "epochs", "fit s")
SPARED_FIRST = ("samples/s", "peak MB")  # given room after the first differing setting; the rest last
FIRST_SHOWN = ("model", "data")  # the settings people change most, shown first when space is short
# A group's cell, "0.9167 ± 0.0236 (n=2)"; its n is already in the run's cell ("(2 runs)").
SPREAD = re.compile(r"^(\S+) ± (\S+) \(n=\d+\)$")
RUN_COUNT = re.compile(r" \((\d+) runs\)$")  # a group's run cell: "group-… (5 runs)" -> "group-… (n=5)"
# A decimal or exponent number inside a value ("0.028648679", "[0.1234567, 32]", "1e-05").
NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")


def significant(value: str) -> str:
    """Every decimal number in ``value`` to 4 significant digits: ``0.02864867`` -> ``0.02865``."""
    return NUMBER.sub(lambda match: f"{float(match.group()):.4g}", value)


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each dotted key by its shortest tail that no other key shares: ``model.net.dropout`` ->
    ``dropout``, but ``data.batch_size`` and ``model.batch_size`` keep their first part."""
    parts = {key: key.split(".") for key in keys}
    shortened = {}
    for key, pieces in parts.items():
        for length in range(1, len(pieces) + 1):
            tail = pieces[-length:]
            if not any(
                other != key and other_pieces[-length:] == tail for other, other_pieces in parts.items()
            ):
                break
        shortened[key] = ".".join(tail)
    return shortened


def compact(value: str) -> str:
    """A group's ``mean ± std (n=k)`` as ``mean±std``, the spread to 2 significant digits."""
    match = SPREAD.match(value)
    if match is None:
        return value
    return f"{float(match.group(1)):.4g}±{float(match.group(2)):.2g}"


def without_common_experiment(table: list[list[str]], title: str) -> tuple[list[list[str]], str]:
    """Rows of one experiment lose its ``<experiment>/`` prefix in the run column, which the title
    names instead."""
    prefixes = {line[0].split("/", 1)[0] for line in table}
    if len(prefixes) != 1 or not all("/" in line[0] for line in table):
        return table, title
    (experiment,) = prefixes
    return [[line[0].split("/", 1)[1], *line[1:]] for line in table], f"{experiment}: {title}"


def short_run(name: str) -> str:
    return RUN_COUNT.sub(r" (n=\1)", name)


def build(header: list[str], table: list[list[str]], optional: list[str], title: str) -> Table:
    """A rich table of the fixed columns and the given optional ones, every cell on one line."""
    fixed = [name for name in LEADING + TRAILING if name not in SPARED]
    keep = [i for i, name in enumerate(header) if name in fixed or name in optional]
    names = short_keys([header[i] for i in keep if header[i] not in LEADING + TRAILING])
    shown = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for i in keep:
        numeric = header[i] in TRAILING
        shown.add_column(
            names.get(header[i], header[i]), no_wrap=True, justify="right" if numeric else "left"
        )
    for line in table:
        shown.add_row(*[significant(line[i]) if header[i] in names else compact(line[i]) for i in keep])
    return shown


def natural_width(table: Table) -> int:
    """The width the table takes with no cell wrapped or cut."""
    console = Console(width=100_000)
    return Measurement.get(console, console.options, table).maximum


def fitting(header: list[str], table: list[list[str]], title: str, width: int) -> tuple[Table, list[str]]:
    """The table with as many differing settings as fit in ``width`` columns (the model's first,
    then the data's, then the rest; samples/s and peak memory come right after the first one),
    then epochs and fit time if they still fit, and the settings left out."""
    settings = [name for name in header if name not in LEADING and name not in TRAILING]
    settings.sort(
        key=lambda name: FIRST_SHOWN.index(name.split(".")[0]) if name.split(".")[0] in FIRST_SHOWN else 2
    )
    shown: list[str] = []
    late = [name for name in SPARED if name not in SPARED_FIRST]
    for name in [*settings[:1], *SPARED_FIRST, *settings[1:], *late]:
        if natural_width(build(header, table, [*shown, name], title)) <= width:
            shown.append(name)
    return build(header, table, shown, title), [name for name in settings if name not in shown]


def print_results(
    header: list[str], table: list[list[str]], title: str, console: Console, wide: bool = False
) -> None:
    """Print the table to ``console``: all of it when ``wide``, else what fits its width."""
    table, title = without_common_experiment(table, title)
    table = [[short_run(line[0]), *line[1:]] for line in table]
    if wide:
        shown = build(header, table, [n for n in header if n not in LEADING], title)
        console.width = max(console.width, natural_width(shown))
        console.print(shown)
        return
    shown, left_out = fitting(header, table, title, console.width)
    console.print(shown)
    if left_out:
        console.print(
            f"also differing, not shown at {console.width} columns (make results WIDE=1, or results.csv): "
            + ", ".join(left_out),
            soft_wrap=False,
        )
