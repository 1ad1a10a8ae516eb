"""SLURM requeue: a job that stopped for its time limit continues as the same job, in the same folder.

A run under SLURM lives in ``runs/<experiment>/job-<SLURM_JOB_ID>`` (or ``LIGHTLAB_RUN_DIR``).
When the job's warning signal arrives, the run stops with a checkpoint (``cluster.signals``) and
the main process asks SLURM to requeue the job. The requeued job keeps its id and sees
``SLURM_RESTART_COUNT`` > 0: it is recognised here as the continuation of that run and resumes
from the newest intact checkpoint in the folder (``run.resume.newest_resume_point``, as
``--resume``), with the run's own ``config.yaml`` (the command line is the one the first start
already recorded).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

from lightning.pytorch import Trainer

from lightlab.cluster.ranks import requeued_job
from lightlab.cluster.signals import StoppedBySignal
from lightlab.errors import UserError
from lightlab.run.folder import RUN_DIR_ENV, RunFolder, Status, shown
from lightlab.run.groups import experiment_of
from lightlab.run.resume import (
    ResumePoint,
    newest_resume_point,
    resume_candidates,
    resume_line,
    say,
)
from lightlab.run.summary import read_summary, status_of

JOB_KEY = "slurm_job_id"


def slurm_job_id() -> str | None:
    """This job's id as ``scontrol`` names it (``<array job>_<task>`` for an array task), or None."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array_job and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def job_folder(runs_root: Path, experiment: str) -> Path:
    """Where this job's run lives: ``LIGHTLAB_RUN_DIR`` if given, else ``runs/<experiment>/job-<id>``."""
    explicit = os.environ.get(RUN_DIR_ENV)
    return Path(explicit) if explicit else runs_root / experiment / f"job-{os.environ['SLURM_JOB_ID']}"


def check_owner(run_dir: Path, experiment: str) -> None:
    """A requeued job continues only its own run: not another job's, not another experiment's."""
    job = os.environ["SLURM_JOB_ID"]
    if experiment_of(run_dir) != experiment:
        raise UserError(
            f"{run_dir} is a run of {experiment_of(run_dir)}, not {experiment}; point {RUN_DIR_ENV} at this "
            "experiment's folder or a new one"
        )
    named = re.fullmatch(r"job-(\d+)", run_dir.name)
    recorded = (read_summary(run_dir) or {}).get(JOB_KEY)
    owner = recorded or (named.group(1) if named else None)
    if owner is not None and str(owner) != job:
        raise UserError(
            f"{run_dir} holds a run of job {owner}, not of this job {job}; "
            f"point {RUN_DIR_ENV} at a new folder"
        )


def continuation(runs_root: Path, experiment: str) -> ResumePoint | None:
    """Where a requeued job continues its run, or None when it has nothing to continue (not requeued,
    or stopped before its first checkpoint: it starts over in its own folder)."""
    job = requeued_job()
    if job is None:
        return None
    run_dir = job_folder(runs_root, experiment)
    if not RunFolder(run_dir).is_run():
        return None
    check_owner(run_dir, experiment)
    point = newest_resume_point(run_dir)
    if point is None and resume_candidates(run_dir):
        say(f"warning: no checkpoint in {shown(run_dir)} can be read; starting over", warning=True)
    if point is not None:
        say(f"requeued job {job}: {resume_line(point)}")
    return point


def continued_args(point: ResumePoint) -> list[str]:
    """The requeued job's command line: the run's recorded config, from the checkpoint."""
    return ["fit", "--config", str(point.config), "--ckpt_path", str(point.checkpoint)]


def already_completed(point: ResumePoint) -> bool:
    return status_of(point.run_dir) == Status.COMPLETED


def requeue_after(trainer: Trainer, error: BaseException) -> bool:
    """After a run stopped by the requeue signal inside a SLURM job: the main process requeues the
    job and every process waits for it. Whether it did."""
    if not (isinstance(error, StoppedBySignal) and error.requeue and slurm_job_id()):
        return False
    if trainer.is_global_zero:
        requeue()
    with contextlib.suppress(Exception):  # the others wait until the job is requeued
        trainer.strategy.barrier()
    return True


def requeue() -> None:
    """Ask SLURM to put this job back in the queue; it starts again with the same id."""
    job = slurm_job_id()
    if job is None:
        return
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"warning: could not requeue job {job} ({error}); resubmit it to continue", file=sys.stderr)
        return
    if result.returncode != 0:
        print(
            f"warning: scontrol requeue {job} failed: {result.stderr.strip()}; resubmit it to continue",
            file=sys.stderr,
        )
    else:
        print(f"requeued job {job}: it continues from the checkpoint when it starts again", file=sys.stderr)
