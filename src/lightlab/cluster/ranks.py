"""Who this process is in its launch, from the launcher's environment (torchrun, SLURM,
Lightning's DDP launcher), readable before Lightning has set anything up."""

from __future__ import annotations

import os


def global_rank() -> int:
    """This process's rank in its launch, from the launcher's environment (0 when alone)."""
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def world_size() -> int:
    for name in ("WORLD_SIZE", "SLURM_NTASKS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def shared_job_id() -> str | None:
    """An id every process of one multi-process launch sees, or None."""
    rdzv_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if rdzv_id and rdzv_id != "none":
        return rdzv_id
    return os.environ.get("SLURM_JOB_ID")


def requeued_job() -> str | None:
    """The SLURM job id if this process belongs to a job that was requeued at least once: its
    folder is its own earlier start's, to be continued (``requeue``) or started over."""
    restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
    return os.environ.get("SLURM_JOB_ID") if restarts.isdigit() and int(restarts) > 0 else None
