"""Stop cleanly when asked to: SIGTERM, SIGINT (Ctrl-C) and SLURM's warning signal.

Schedulers stop jobs with a signal: ``kill``, Docker, Kubernetes and SLURM's ``scancel`` send
SIGTERM; SLURM sends the signal a job asks for (``--signal=USR1@90``) some time before its limit.
A signal handler only notes the request. At the next training-step boundary inside an epoch, or
the next epoch's start, every process agrees on it (one small all-reduce), ``checkpoints/last.ckpt``
holds that step (written from the ordinary loop; at an epoch start the epoch's end wrote it), and
``StoppedBySignal`` ends the run on every process together: no collective call ever runs inside
a signal handler, so no process is left waiting for another. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from lightlab.callbacks.last_checkpoint import LastCheckpoint, last_checkpoint_of, step_boundary_inside_epoch


class StoppedBySignal(Exception):
    """A run stopped at a step boundary because a signal asked it to; ``last.ckpt`` holds that step."""

    def __init__(self, signum: int, global_step: int, requeue: bool) -> None:
        self.signum, self.global_step, self.requeue = signum, global_step, requeue
        super().__init__(f"stopped by {signal_name(signum)} at step {global_step}")

    @property
    def exit_status(self) -> int:
        """What a process killed by the signal would report to a shell: 128 + its number."""
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopOnSignal(Callback):
    """Turns SIGTERM, SIGINT and ``requeue_signal`` into a checkpointed stop at the next step.

    ``requeue_signal`` (SIGUSR1 by default, the one ``experiments/launch/slurm_ddp.sbatch`` asks
    SLURM for) also asks for the job to be requeued once the run has stopped; the requeued job
    continues from the checkpoint in the same folder.
    """

    def __init__(self, requeue_signal: str = "SIGUSR1") -> None:
        self.requeue_signal = signal.Signals[requeue_signal]
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def signals(self) -> tuple[signal.Signals, ...]:
        return (signal.SIGTERM, signal.SIGINT, self.requeue_signal)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt  # the second Ctrl-C: Lightning's own immediate shutdown
        if self.requested is None:
            self.requested = signum
            print(
                f"{signal_name(signum)} received: stopping after this training step with a checkpoint"
                + (" (Ctrl-C again stops at once)" if signum == signal.SIGINT else ""),
                file=sys.stderr,
                flush=True,
            )

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit":
            self.requested = None

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signals:
            previous = signal.signal(signum, self._note)
            self._previous.setdefault(signum, previous)

    # Installed once Lightning has registered its own handlers (after ``setup``), which these
    # replace for the run; Lightning puts back what was there before it when the run ends.
    def on_sanity_check_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._install()

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._install()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._restore()

    def _agreed_signal(self, trainer: Trainer) -> int:
        """The signal any process received (the largest number if several), the same on all; 0 if none."""
        requested = self.requested or 0
        if trainer.world_size == 1:
            return requested
        flag = torch.tensor(requested, device=trainer.strategy.root_device)
        return int(trainer.strategy.reduce(flag, reduce_op="max"))

    def _stop(self, trainer: Trainer) -> None:
        signum = self._agreed_signal(trainer)
        if not signum:
            return
        # Every process calls it; the main one writes (atomically, through the checkpoint plugin).
        (last_checkpoint_of(trainer) or LastCheckpoint()).keep_newest(trainer)
        raise StoppedBySignal(signum, trainer.global_step, requeue=signum == self.requeue_signal)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if step_boundary_inside_epoch(trainer, batch_idx):
            self._stop(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # A signal during the last epoch's last step or its validation: the run stops before its
        # evaluation, as interrupted, instead of going on as if nothing had been asked.
        self._stop(trainer)
        self._restore()

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # A signal that came during an epoch's last step or its validation: the epoch's end has
        # written last.ckpt. Without this, epochs of one step would never stop.
        if trainer.global_step > 0:
            self._stop(trainer)
