"""Training several runs one after another in one process (a sweep's trials, a seed group's
members): torch, Lightning and the data are loaded once, and each run still gets a process state
of its own."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lightlab.run import log as run_log
from lightlab.run.folder import RUN_DIR_ENV

if TYPE_CHECKING:
    from lightning.pytorch import Callback

WANDB_GROUP_ENV = "WANDB_RUN_GROUP"  # wandb's own: the group of each run started while it is set


@contextlib.contextmanager
def own_process_state() -> Iterator[None]:
    """The environment as it was before, and no process group left, once the run is over.

    Lightning's DDP launcher leaves LOCAL_RANK, WORLD_SIZE… set in this process; the next run
    would take them for a launch by someone else and start no processes of its own.
    """
    import torch

    environment = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()  # the next run's processes form their own


def fit_here(
    args: list[str],
    run_dir: Path,
    callbacks: list[Callback] | None = None,
    environment: dict[str, str] | None = None,
    quiet: bool = False,
) -> int:
    """``python -m lightlab fit ARGS`` in this process, into ``run_dir`` (also for the DDP
    processes it starts, which inherit ``environment`` too). Its exit status: 0 when it trained to
    its end, else what the command would have exited with (its error is already printed).
    ``quiet``: what the run prints goes into its ``train.log`` only, warnings and errors aside."""
    from lightlab.cli import main as train  # the CLI imports the data and nets

    with own_process_state(), run_log.stdout_to_log_only() if quiet else contextlib.nullcontext():
        os.environ.update({RUN_DIR_ENV: str(run_dir), **(environment or {})})
        try:
            train(args, callbacks=callbacks)
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 1
    return 0
