"""Continue a run in its own folder:
``python -m lightlab fit --resume latest|<run folder>|<.ckpt>``.

The run's own ``config.yaml`` is the config (flags and further ``--config`` files still override,
e.g. a larger ``--trainer.max_epochs``); training continues from the newest intact checkpoint
(by the epoch and step it records: ``checkpoints/last.ckpt``, and in folders written by older
versions also ``last-v1.ckpt``…) or from the checkpoint named: weights, optimizer, scheduler, loop
progress and random states. One line says which file, epoch and step it continues from. The
history stays one: ``metrics.csv`` keeps the rows logged up to that checkpoint and the resumed
run appends to it, so every epoch appears once.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger

from lightlab.argv_checks import take_flag
from lightlab.cluster.ranks import global_rank
from lightlab.errors import UserError
from lightlab.run.checkpoints import CheckpointProgress, furthest, training_progress
from lightlab.run.folder import LAST_NAME, RunFolder, Status, shown
from lightlab.run.groups import check_is_run, experiment_of, find_groups, is_group
from lightlab.run.summary import status_of

RESUME_FLAG = "--resume"
LAST = RunFolder(Path()).last  # as messages name it: checkpoints/last.ckpt


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run continues: its folder, the checkpoint, and the step that holds."""

    run_dir: Path
    checkpoint: Path
    epoch: int
    global_step: int

    @property
    def config(self) -> Path:
        return RunFolder(self.run_dir).config

    def describe(self) -> str:
        """Which file, relative to its run folder, and how far training had got in it."""
        inside = self.checkpoint.is_relative_to(self.run_dir)
        name = self.checkpoint.relative_to(self.run_dir) if inside else shown(self.checkpoint)
        return f"{name} (epoch {self.epoch}, step {self.global_step})"


def resume_line(point: ResumePoint) -> str:
    """What a resumed run says first: the folder and the file, epoch and step it continues from,
    and the other checkpoints it could have taken, when there are any."""
    others = [
        ResumePoint(point.run_dir, progress.path, progress.epoch, progress.global_step).describe()
        for path in resume_candidates(point.run_dir)
        if path.resolve() != point.checkpoint and (progress := training_progress(path)) is not None
    ]
    line = f"continuing {shown(point.run_dir)} from {point.describe()}"
    return line + (f"; also there: {', '.join(others)}" if others else "")


def say(message: str, warning: bool = False) -> None:
    """A note of the main process: on stdout, or on stderr for a warning."""
    if global_rank() == 0:
        print(message, file=sys.stderr if warning else sys.stdout, flush=True)


def resume_candidates(run_dir: Path) -> list[Path]:
    """The files a run could continue from: ``last.ckpt``, the ``last-v<n>.ckpt`` that older
    versions left beside it, and Lightning's SLURM ``hpc_ckpt_<n>.ckpt``."""
    folder = RunFolder(run_dir).checkpoints
    found = [*folder.glob(LAST_NAME), *folder.glob("last-v*.ckpt")]
    found += [*run_dir.glob("hpc_ckpt_*.ckpt"), *folder.glob("hpc_ckpt_*.ckpt")]
    return sorted(found)


def newest_resume_point(run_dir: Path) -> ResumePoint | None:
    """Where the run continues: its intact checkpoint furthest into training (a warning names the
    candidates skipped because they cannot be read). None if none can be read."""
    progress = {path: training_progress(path) for path in resume_candidates(run_dir)}
    newest = furthest(progress.values())
    damaged = [path for path, p in progress.items() if p is None]
    if newest is None:
        return None
    if damaged:
        names = ", ".join(shown(path) for path in damaged)
        say(f"warning: {names} cannot be read; continuing from {newest.path.name}", warning=True)
    return as_resume_point(run_dir, newest)


def as_resume_point(run_dir: Path, progress: CheckpointProgress) -> ResumePoint:
    return ResumePoint(run_dir.resolve(), progress.path.resolve(), progress.epoch, progress.global_step)


def latest_unfinished(runs_root: Path, experiment: str) -> Path:
    """The run of ``experiment`` that was checkpointed most recently and has not completed, or the
    group folder whose unfinished member (or group.json) is newest."""
    folder = runs_root / experiment
    times: dict[Path, float] = {}
    for run in folder.iterdir() if folder.is_dir() else []:
        if not is_group(run) and RunFolder(run).is_run() and status_of(run) != Status.COMPLETED:
            times.update({run: newest_write(run)} if resume_candidates(run) else {})
    for group in find_groups(folder):
        if group.read().get("status") != Status.COMPLETED.value:
            written = [group.record.stat().st_mtime, *map(newest_write, group.member_folders())]
            times[group.path] = max(written)
    if not times:
        raise UserError(
            f"no unfinished {experiment} run with a checkpoints/last.ckpt under {folder} to resume; "
            f"start one with make train EXP={experiment}, or give RESUME=<run folder>"
        )
    return max(times, key=times.__getitem__)


def newest_write(run: Path) -> float:
    """When the run last wrote a checkpoint it could continue from (0 for none)."""
    return max((p.stat().st_mtime for p in resume_candidates(run)), default=0.0)


def group_to_continue(target: str, runs_root: Path, experiment: str | None) -> Path | None:
    """The group folder ``RESUME=`` continues: the one named, or for ``latest`` the group of the
    newest unfinished work; None when the target is a run."""
    if target == "latest" and experiment:
        newest = latest_unfinished(runs_root, experiment)
        return newest if is_group(newest) else None
    if is_group(Path(target)):
        return Path(target)
    return None


def find_resume_point(target: str, runs_root: Path, experiment: str | None) -> ResumePoint:
    """``latest`` (needs ``experiment``), a run folder, or a checkpoint file inside one."""
    if target == "latest":
        if not experiment:
            raise UserError("RESUME=latest needs the experiment: make train EXP=<name> RESUME=latest")
        run_dir, checkpoint = latest_unfinished(runs_root, experiment), None
    elif Path(target).is_file():
        checkpoint = Path(target)
        inside = checkpoint.parent == RunFolder(checkpoint.parent.parent).checkpoints
        run_dir = checkpoint.parent.parent if inside else checkpoint.parent
    elif Path(target).is_dir():
        run_dir, checkpoint = Path(target), None
    else:
        raise UserError(f"nothing to resume at {target}: give latest, a run folder or its .ckpt file")
    check_is_run(run_dir)
    owner = experiment_of(run_dir)
    if experiment and owner != experiment:
        raise UserError(f"{run_dir} is a run of {owner}, not {experiment}; drop EXP or fix it")
    if checkpoint is not None:
        return read_resume_point(run_dir, checkpoint)
    if not resume_candidates(run_dir):
        raise UserError(
            f"{run_dir} has no {LAST} to resume from (it stopped before its first epoch ended); "
            "start a new run instead"
        )
    point = newest_resume_point(run_dir)
    if point is None:
        raise UserError(
            f"no checkpoint in {RunFolder(run_dir).checkpoints} can be read; start a new run instead"
        )
    return point


def read_resume_point(run_dir: Path, checkpoint: Path) -> ResumePoint:
    """The epoch and step ``checkpoint`` holds, or one line saying it cannot be used."""
    progress = training_progress(checkpoint)
    if progress is None:
        raise UserError(f"{checkpoint} cannot be read as a checkpoint; resume from another one")
    return as_resume_point(run_dir, progress)


def take_resume_flag(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` without ``--resume X`` (or ``--resume=X``), and X."""
    return take_flag(args, RESUME_FLAG, "--resume needs a value: latest, a run folder or a checkpoint")


def resumed_args(args: list[str], point: ResumePoint) -> list[str]:
    """The command line that continues ``point``: its config first, so everything given overrides it."""
    if not args or args[0] != "fit":
        raise UserError("--resume continues training: use it with fit (make train ... RESUME=...)")
    return [args[0], "--config", str(point.config), *args[1:], "--ckpt_path", str(point.checkpoint)]


def check_more_to_train(trainer: Trainer, point: ResumePoint) -> None:
    """A completed run resumes only to train longer than it did."""
    max_epochs = trainer.max_epochs
    if (
        status_of(point.run_dir) == Status.COMPLETED
        and max_epochs is not None
        and point.epoch + 1 >= max_epochs
    ):
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
            rows = kept_rows(RunFolder(Path(logger.log_dir)).metrics, point)
            writer = logger.experiment
            writer.metrics[:0] = [{key: value for key, value in row.items() if value != ""} for row in rows]
            writer.save()
