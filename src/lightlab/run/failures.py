"""What a failed run leaves behind: nothing if it failed before training, else a summary saying why
(``"status": "interrupted"`` when the user stopped it).

A run that stops before its first training step (no data, a download that is impossible, a bad
file found in setup) holds nothing worth keeping, so its folder is removed; one that fails later
keeps its checkpoints and metrics and gets a ``summary.json`` with ``"status": "failed"`` and the
reason, so every folder that remains says what became of its run.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightlab.cluster.requeue import requeue_after
from lightlab.cluster.signals import StoppedBySignal, signal_name
from lightlab.errors import UserError, one_line
from lightlab.run import log as run_log
from lightlab.run.config import end_wandb_run
from lightlab.run.folder import RunFolder, Status, reserved_here, shown
from lightlab.run.groups import to_continue
from lightlab.run.summary import summary_record, write_summary


def discard(run_dir: Path | None) -> None:
    """Remove the folder of a run that failed before it trained. Only a folder this process made
    fresh is removed with its contents, and never one holding checkpoints; a folder named by the
    user or a job id is removed only when empty."""
    if run_dir is None or not run_dir.is_dir():
        return
    run_log.stop(remove_in=run_dir)
    if reserved_here(run_dir) and not any(run_dir.rglob("*.ckpt")):
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            run_dir.rmdir()


@contextlib.contextmanager
def discarded_on_failure(run_dir: Path | None) -> Iterator[None]:
    """For evaluation and prediction folders: if the command fails, its folder goes."""
    try:
        yield
    except BaseException:
        discard(run_dir)
        raise


def interrupted(error: BaseException) -> bool:
    """Whether the run was stopped from outside: by a signal (``StoppedBySignal``), or by a second
    Ctrl-C, which Lightning turns into a graceful stop and ``SystemExit``."""
    return isinstance(error, KeyboardInterrupt | SystemExit | StoppedBySignal)


def _reason(error: BaseException, run_dir: Path) -> str:
    if not interrupted(error):
        return one_line(f"{type(error).__name__}: {error}")
    if isinstance(error, StoppedBySignal):
        how = str(error)
    elif isinstance(error, SIGTERMException):  # Lightning's own, for a SIGTERM before the first step
        how = "stopped by SIGTERM"
    else:
        how = "stopped with Ctrl-C"
    return f"{how}; continue it with make train RESUME={shown(to_continue(run_dir))}"


def after_failed_fit(
    trainer: Trainer, run_dir: Path, facts: dict[str, Any], error: BaseException, resumed_at: int | None
) -> None:
    """Everything a ``fit`` that raised leaves: its folder removed or its failed summary (a resumed
    run that trained no further keeps its folder as it was), its wandb run ended, and either the
    SLURM job requeued or the line that continues the run."""
    if resumed_at is None or trainer.global_step > resumed_at:
        with contextlib.suppress(UserError):  # e.g. the disk that failed the run is still full
            record_failure(trainer, run_dir, facts, error)
    end_wandb_run(exit_code=1)
    if requeue_after(trainer, error):
        return
    if interrupted(error) and trainer.is_global_zero and RunFolder(run_dir).summary.is_file():
        print(
            f"interrupted: continue it with make train RESUME={shown(to_continue(run_dir))}", file=sys.stderr
        )


def drop_partial_row(metrics: Path) -> None:
    """Cut a row a failed append left half-written off ``metrics.csv`` (shrinking a file needs no
    space, so it works on a full disk), keeping every complete row."""
    with contextlib.suppress(OSError), metrics.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


def record_failure(trainer: Trainer, run_dir: Path, facts: dict[str, Any], error: BaseException) -> None:
    """Remove ``run_dir`` or write its failed ``summary.json``; the main process does it."""
    if not trainer.is_global_zero or not run_dir.is_dir():
        return
    if trainer.global_step == 0:
        # Its wandb run ends now, or wandb writes its log into the folder again when the process exits.
        end_wandb_run(exit_code=1, quiet=True)
        discard(run_dir)
        if not run_dir.is_dir():
            return
    drop_partial_row(RunFolder(run_dir).metrics)
    status = Status.INTERRUPTED if interrupted(error) else Status.FAILED
    summary = {
        **summary_record(trainer, run_dir, facts, status),
        "reason": _reason(error, run_dir),
        "failed_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if isinstance(error, StoppedBySignal):
        summary["signal"] = signal_name(error.signum)
    write_summary(run_dir, summary)
