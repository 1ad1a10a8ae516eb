"""``summary.json``: its one reader and writer, the record every run's summary starts from, and the
metrics table a finished run prints."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning.pytorch import Trainer

from rich.console import Console
from rich.table import Table

from lightlab.atomic import atomic_write_text
from lightlab.run.folder import RunFolder, Status


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


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """A run's summary, or None when it has none yet or the file cannot be read (cut short)."""
    try:
        summary = json.loads(RunFolder(run_dir).summary.read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` atomically, so a reader never sees half a file."""
    text = json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write_text(RunFolder(run_dir).summary, text)


def update_summary(run_dir: Path, **changes: Any) -> Path:
    """The summary with ``changes`` (a summary that cannot be read starts empty)."""
    return write_summary(run_dir, {**(read_summary(run_dir) or {}), **changes})


def status_of(run_dir: Path) -> Status:
    """What became of the run: its summary's status; without a summary, interrupted if a
    ``last*.ckpt`` was written (a killed process), else running. A summary that names no status
    (none is written without one) counts as completed."""
    summary = read_summary(run_dir)
    if summary is not None:
        return Status(summary.get("status", Status.COMPLETED.value))
    if any(RunFolder(run_dir).checkpoints.glob("last*.ckpt")):
        return Status.INTERRUPTED
    return Status.RUNNING


def summary_record(
    trainer: Trainer, run_dir: Path, facts: Mapping[str, Any], status: Status
) -> dict[str, Any]:
    """What every summary holds: the run's facts (experiment, seed, fit time…), its status, how far
    it trained, and its best checkpoint (relative to the folder) by the monitored metric."""
    from lightlab.run.checkpoints import best_checkpoint_callback, in_run_folder  # imports torch

    checkpoint = best_checkpoint_callback(trainer)
    best = checkpoint.best_model_path if checkpoint is not None else ""
    written = bool(best) and Path(best).is_file()  # not when its write failed (a full disk)
    score = checkpoint.best_model_score if written else None
    return {
        **facts,
        "status": status.value,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": in_run_folder(best, run_dir) if written else None,
        "best_score": float(score) if score is not None else None,
        "monitor": checkpoint.monitor if checkpoint is not None else None,
    }


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
