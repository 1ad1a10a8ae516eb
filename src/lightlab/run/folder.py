"""Fresh run directories: ``runs/<experiment>/<id>/``, never reused, agreed on by every process.

One training run may be several processes (DDP ranks, nodes). They must all write into the same
folder, and no run may ever land in an earlier run's folder. The id comes from, in order:

1. ``LIGHTLAB_RUN_DIR``: set by the user, or by the launching process for the DDP workers that
   Lightning starts, since they inherit its environment;
2. the job id of a multi-process launch that started every process at once (SLURM's
   ``SLURM_JOB_ID``, torchrun's ``--rdzv-id``), so independent nodes agree without talking; a
   SLURM batch job of one process too, so that the job, when requeued, finds its run again;
3. otherwise a timestamp, reserved atomically with ``mkdir`` (``-1``, ``-2``… on collision).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lightlab.atomic import disk_error
from lightlab.cluster.ranks import global_rank, requeued_job, shared_job_id, world_size
from lightlab.errors import UserError

RUN_DIR_ENV = "LIGHTLAB_RUN_DIR"

# The value this process exported for its DDP children; a later run in the same process (a test,
# a notebook) must not mistake it for an instruction and reuse the folder.
_exported_here: str | None = None


LAST_NAME = "last.ckpt"


class Status(str, Enum):
    """What became of a run, one meaning per value (``summary.json``'s ``status``)."""

    COMPLETED = "completed"  # trained to its end and evaluated
    FAILED = "failed"  # an error ended it after training began; ``reason`` says which
    INTERRUPTED = "interrupted"  # a signal or Ctrl-C stopped it, or it was killed after a checkpoint
    PRUNED = "pruned"  # a sweep's pruner stopped the trial
    RUNNING = "running"  # no summary and no checkpoint yet: running, or killed before its first


@dataclass(frozen=True)
class RunFolder:
    """Every path inside one run folder; the one place that spells them."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def log(self) -> Path:
        """What the run printed, as plain text (``run/log.py`` writes it)."""
        return self.path / "train.log"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last(self) -> Path:
        """The newest state of training (``callbacks.last_checkpoint`` writes it)."""
        return self.checkpoints / LAST_NAME

    @property
    def predictions(self) -> Path:
        return self.path / "predictions.csv"

    @property
    def export(self) -> Path:
        return self.path / "export"

    def evaluation(self, split: str) -> Path:
        return self.path / f"eval-{split}.json"

    def is_run(self) -> bool:
        return self.config.is_file()


def shown(path: Path | str) -> str:
    """A path as the user is shown it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _make_folder(path: Path, exist_ok: bool = True) -> None:
    """``mkdir -p``, with a file in the way or a disk's refusal as one line (FileExistsError is
    raised as is when ``exist_ok`` is false: the caller tries the next name)."""
    blocking = next((p for p in [path, *path.parents] if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise UserError(
            f"{shown(blocking)} is a file, not a folder, so no run folder can go under it; give "
            "--runs_dir a folder (or move the file)"
        )
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise
    except OSError as error:
        raise disk_error(shown(path), error, "no run folder was made") from None


def check_writable(folder: Path) -> None:
    """Write, sync and remove a small file in ``folder``: a read-only, full or forbidden disk is
    one line now, before anything is built, not a traceback in the middle of training."""
    probe = folder / f".write-check-{os.getpid()}"  # ranks of one job probe the same folder
    try:
        with probe.open("wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise disk_error(shown(folder), error, "nothing was written") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def reserve_folder(parent: Path, stem: str) -> Path:
    """A new folder ``parent/stem`` (``stem-1``, ``stem-2``… when taken), made atomically and checked
    writable; on failure no folder is left, nor the empty parents made for it."""
    made = [p for p in [parent, *parent.parents] if not p.exists()]
    try:
        return _reserve_in(parent, stem)
    except UserError:
        for folder in made:  # the folders made for this run, if they stayed empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _reserve_in(parent: Path, stem: str) -> Path:
    _make_folder(parent)
    for attempt in range(1000):
        path = parent / (stem if attempt == 0 else f"{stem}-{attempt}")
        try:
            _make_folder(path, exist_ok=False)
        except FileExistsError:
            continue
        try:
            check_writable(path)
        except UserError:
            with contextlib.suppress(OSError):
                path.rmdir()
            raise
        return path
    raise UserError(f"could not find a free run directory under {parent}; clean it up")


def resolve_run_dir(runs_root: str | Path, experiment: str, suffix: str = "") -> Path:
    """The directory for this run, created if this process is the one that decides it; absolute,
    so every path derived from it (checkpoints, loggers) is the same when the run is resumed."""
    global _exported_here
    explicit = os.environ.get(RUN_DIR_ENV)
    if explicit and explicit != _exported_here:
        path = Path(explicit)
        if global_rank() == 0 and RunFolder(path).is_run() and not requeued_job():
            raise UserError(f"{RUN_DIR_ENV}={explicit} already holds a run; point it at a new folder")
        _make_folder(path)
        check_writable(path)
        return path.resolve()
    parent = Path(runs_root) / experiment
    from lightning.fabric.plugins.environments import SLURMEnvironment  # not for readers of folders

    if world_size() > 1 or SLURMEnvironment.detect():
        job_id = shared_job_id()
        if job_id is None:
            raise UserError(
                "a multi-process launch needs one run directory for all processes: set "
                f"{RUN_DIR_ENV}=runs/<experiment>/<name> on every node, or pass torchrun --rdzv-id"
            )
        path = parent / f"job-{job_id}{suffix}"
        if global_rank() == 0 and RunFolder(path).is_run() and requeued_job() != job_id:
            raise UserError(
                f"{path} already holds a run of job {job_id}; start a new job (or torchrun --rdzv-id), "
                f"or set {RUN_DIR_ENV} to a new folder"
            )
        _make_folder(path)
        check_writable(path)
        return path.resolve()
    path = reserve_folder(parent, time.strftime("%Y%m%d-%H%M%S") + suffix).resolve()
    # Lightning's DDP launcher starts the other ranks as children of this process: they inherit this.
    os.environ[RUN_DIR_ENV] = _exported_here = str(path)
    return path


def reserved_here(path: Path) -> bool:
    """Whether this process made ``path`` as a fresh, timestamped folder (not one a user, a job id
    or a parent process named), so everything in it belongs to this run."""
    return _exported_here == str(path)


def release_run_dir() -> None:
    """Forget the folder this process exported for its DDP children once its run is over, so a
    later run or a child process started afterwards (a notebook's ``!make train``) gets its own."""
    global _exported_here
    if _exported_here is not None and os.environ.get(RUN_DIR_ENV) == _exported_here:
        del os.environ[RUN_DIR_ENV]
    _exported_here = None
