"""A group's statistics: written into ``group.json`` once its members ran, and printed as one table
of mean ± std, 95 % interval, min and max per metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lightlab.repeats.stats import describe
from lightlab.run.folder import Status, shown
from lightlab.run.groups import GroupFolder, completed_members, group_metrics, mean_pm_std, member_states


def summarise(group: GroupFolder) -> dict[str, Any]:
    """``group.json`` with each member's status and the statistics over the completed ones; the
    group is completed when every member is."""
    record = group.read()
    done = completed_members(group)
    states = member_states(group)
    values = group_metrics([summary for _, summary in done])
    record["member_status"] = states
    record["completed"] = [member.name for member, _ in done]
    record["metrics"] = {name: describe(sample) for name, sample in sorted(values.items())}
    best = [float(s["best_score"]) for _, s in done if s.get("best_score") is not None]
    record["best_score"] = describe(best) if best else None
    record["fit_seconds"] = round(sum(float(s.get("fit_seconds") or 0) for _, s in done), 2)
    everyone = all(state == Status.COMPLETED.value for state in states.values())
    record["status"] = Status.COMPLETED.value if everyone else Status.INTERRUPTED.value
    group.write(record)
    return record


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
