"""What a finished run leaves behind: ``summary.json`` and a metrics table on the console."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lightlab.atomic import atomic_write_text


def git_commit() -> str | None:
    """The commit the code ran from, with ``-dirty`` if the tree had changes; None outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def plain_numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Tensors and numpy scalars as plain floats, sorted by name."""
    return {name: float(value) for name, value in sorted(metrics.items())}


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` atomically, so a reader never sees half a file."""
    return atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")


def metrics_table(title: str, columns: Mapping[str, Mapping[str, float]]) -> Table:
    """One row per metric name (``acc``, ``loss``…), one column per split (``val``, ``test``)."""
    table = Table(title=title)
    table.add_column("metric")
    for split in columns:
        table.add_column(split, justify="right")
    names = sorted({key.split("/", 1)[-1] for values in columns.values() for key in values})
    for name in names:
        cells = [
            f"{values[f'{split}/{name}']:.4f}" if f"{split}/{name}" in values else "-"
            for split, values in columns.items()
        ]
        table.add_row(name, *cells)
    return table


def print_table(table: Table) -> None:
    Console().print(table)
