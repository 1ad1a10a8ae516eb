"""A group's statistics: written into ``group.json`` once its members ran, and printed as one table
of mean ± std, 95 % interval, min and max per metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lightlab.run.folder import shown
from lightlab.run.groups import mean_pm_std


def group_table(record: dict[str, Any], title: str) -> Table:
    """One row per metric: mean ± std (n), its 95 % interval, min and max."""
    table = Table(title=title)
    for column in ("metric", "mean ± std (n)", "95 % interval", "min", "max"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, stats in (record.get("metrics") or {}).items():
        interval = stats.get("ci95")
        shown_interval = f"[{interval[0]:.4f}, {interval[1]:.4f}]" if interval else "-"
        table.add_row(name, mean_pm_std(stats), shown_interval, f"{stats['min']:.4f}", f"{stats['max']:.4f}")
    return table


def print_group(record: dict[str, Any], path: Path) -> None:
    done = len(record.get("completed") or [])
    title = f"{record.get('experiment')}: {done} of {len(record.get('members') or [])} runs completed"
    if record.get("folds"):
        title += f", {record['folds']}-fold cross-validation"
    Console().print(group_table(record, title))
    print(f"group folder: {shown(path)}  (statistics: group.json)")
