"""Continue a run in its own folder:
``python -m lightlab fit --resume latest|<run folder>|<.ckpt>``.

The run's own ``config.yaml`` is the config (flags and further ``--config`` files still override,
e.g. a larger ``--trainer.max_epochs``); training continues from ``checkpoints/last.ckpt`` (or
the checkpoint named): weights, optimizer, scheduler, loop progress and random states. The
history stays one: ``metrics.csv`` keeps the rows logged up to that checkpoint and the resumed
run appends to it, so every epoch appears once.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger

from lightlab.errors import UserError

RESUME_FLAG = "--resume"
LAST = Path("checkpoints") / "last.ckpt"


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run continues: its folder, the checkpoint, and the step that holds."""

    run_dir: Path
    checkpoint: Path
    epoch: int
    global_step: int

    @property
    def config(self) -> Path:
        return self.run_dir / "config.yaml"


def run_status(run_dir: Path) -> str | None:
    """The ``status`` in a run's ``summary.json``; None while it has none (running or killed)."""
    try:
        return json.loads((run_dir / "summary.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def latest_unfinished(runs_root: Path, experiment: str) -> Path:
    """The run of ``experiment`` that was checkpointed most recently and has not completed."""
    folder = runs_root / experiment
    candidates = [
        run
        for run in (folder.iterdir() if folder.is_dir() else [])
        if (run / LAST).is_file() and (run / "config.yaml").is_file() and run_status(run) != "completed"
    ]
    if not candidates:
        raise UserError(
            f"no unfinished {experiment} run with a checkpoints/last.ckpt under {folder} to resume; "
            f"start one with make train EXP={experiment}, or give RESUME=<run folder>"
        )
    return max(candidates, key=lambda run: (run / LAST).stat().st_mtime)


def find_resume_point(target: str, runs_root: Path, experiment: str | None) -> ResumePoint:
    """``latest`` (needs ``experiment``), a run folder, or a checkpoint file inside one."""
    if target == "latest":
        if not experiment:
            raise UserError("RESUME=latest needs the experiment: make train EXP=<name> RESUME=latest")
        run_dir, checkpoint = latest_unfinished(runs_root, experiment), None
    elif Path(target).is_file():
        checkpoint = Path(target)
        run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    elif Path(target).is_dir():
        run_dir, checkpoint = Path(target), None
    else:
        raise UserError(f"nothing to resume at {target}: give latest, a run folder or its .ckpt file")
    if not (run_dir / "config.yaml").is_file():
        raise UserError(
            f"{run_dir} is not a run folder (no config.yaml); give a folder under runs/<experiment>/"
        )
    checkpoint = checkpoint or run_dir / LAST
    if not checkpoint.is_file():
        raise UserError(
            f"{run_dir} has no {LAST} to resume from (it stopped before its first epoch ended); "
            "start a new run instead"
        )
    if experiment and run_dir.parent.name != experiment:
        raise UserError(f"{run_dir} is a run of {run_dir.parent.name}, not {experiment}; drop EXP or fix it")
    return read_resume_point(run_dir, checkpoint)


def read_resume_point(run_dir: Path, checkpoint: Path) -> ResumePoint:
    """The epoch and step ``checkpoint`` holds (memory-mapped: the weights are not read)."""
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
        epoch, step = int(saved["epoch"]), int(saved["global_step"])
    except Exception:  # any way a file fails to load (truncated, not a checkpoint) makes it unusable
        raise UserError(f"{checkpoint} cannot be read as a checkpoint; resume from another one") from None
    return ResumePoint(run_dir.resolve(), checkpoint.resolve(), epoch, step)


def take_resume_flag(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` without ``--resume X`` (or ``--resume=X``), and X."""
    rest, target = [], None
    items = iter(args)
    for arg in items:
        if arg == RESUME_FLAG:
            target = next(items, None)
            if target is None:
                raise UserError("--resume needs a value: latest, a run folder or a checkpoint")
        elif arg.startswith(RESUME_FLAG + "="):
            target = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, target


def resumed_args(args: list[str], point: ResumePoint) -> list[str]:
    """The command line that continues ``point``: its config first, so everything given overrides it."""
    if not args or args[0] != "fit":
        raise UserError("--resume continues training: use it with fit (make train ... RESUME=...)")
    return [args[0], "--config", str(point.config), *args[1:], "--ckpt_path", str(point.checkpoint)]


def check_more_to_train(trainer: Trainer, point: ResumePoint) -> None:
    """A completed run resumes only to train longer than it did."""
    max_epochs = trainer.max_epochs
    if run_status(point.run_dir) == "completed" and max_epochs is not None and point.epoch + 1 >= max_epochs:
        raise UserError(
            f"{point.run_dir} already completed its {point.epoch + 1} epochs; give a larger "
            "--trainer.max_epochs to train it longer"
        )


def kept_rows(metrics_csv: Path, point: ResumePoint) -> list[dict[str, str]]:
    """The rows logged before the checkpoint was written; test results come again at the end."""
    if not metrics_csv.is_file():
        return []
    rows = csv.DictReader(io.StringIO(metrics_csv.read_text(), newline=""))
    return [
        row
        for row in rows
        if row.get("step", "").isdigit()
        and int(row["step"]) < point.global_step
        and not any(value for key, value in row.items() if key.startswith("test/"))
    ]


def continue_metrics(trainer: Trainer, point: ResumePoint) -> None:
    """Rewrite ``metrics.csv`` to the rows up to the checkpoint; the resumed run appends to them.

    The CSV logger deletes an existing ``metrics.csv`` when it starts, so the kept rows are handed
    to it and saved at once.
    """
    for logger in trainer.loggers:
        if isinstance(logger, CSVLogger) and trainer.is_global_zero:
            rows = kept_rows(Path(logger.log_dir) / "metrics.csv", point)
            writer = logger.experiment
            writer.metrics[:0] = [{key: value for key, value in row.items() if value != ""} for row in rows]
            writer.save()
