"""``checkpoints/last.ckpt``: the newest state of training, written by one callback.

Lightning's ``ModelCheckpoint(save_last=True)`` rewrites ``last.ckpt`` only in a step where it
also saved a top-k checkpoint, so after the best epoch ``last.ckpt`` stops following training and
a resume goes back to the best epoch. Here the best checkpoints stay Lightning's and ``last.ckpt``
has its own writer: at every epoch end, after validation (so it always holds the newest completed
epoch), optionally every few minutes or steps inside long epochs
(``--save_last_every.minutes 10`` or ``--save_last_every.steps 500``), and at a signal stop
(``cluster.signals``). The CLI switches ``save_last`` off on every configured ``ModelCheckpoint``,
so no second writer can make a ``last-v1.ckpt``.
"""

import time
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn

from lightlab.errors import UserError
from lightlab.ranges import PositiveFloat, PositiveInt
from lightlab.run.folder import LAST_NAME, RunFolder


def step_boundary_inside_epoch(trainer: Trainer, batch_idx: int) -> bool:
    """After a batch that ended an optimizer step, and not the epoch's last one: a checkpoint at the
    last batch would resume past the epoch's validation; the epoch's end writes its own instead."""
    accumulated = (batch_idx + 1) % trainer.accumulate_grad_batches == 0
    return accumulated and batch_idx + 1 != trainer.num_training_batches


class LastCheckpoint(Checkpoint):
    """Keeps ``<dirpath>/last.ckpt`` equal to the newest state of training.

    A ``Checkpoint``, so Lightning runs it after the other callbacks and after any configured
    ``ModelCheckpoint``: the file it writes holds that epoch's best-checkpoint bookkeeping too.
    ``minutes`` or ``steps`` add saves inside epochs; a run resumed from one of those continues
    from its step (the rest of that epoch sees a fresh pass over the data), so only a resume from
    an epoch-end checkpoint repeats the uninterrupted run exactly.
    """

    def __init__(
        self,
        minutes: PositiveFloat | None = None,
        steps: PositiveInt | None = None,
        dirpath: str | None = None,
    ) -> None:
        if minutes is not None and steps is not None:
            raise UserError("give save_last_every.minutes or save_last_every.steps, not both")
        self.minutes, self.steps, self.dirpath = minutes, steps, dirpath
        self.last_model_path = ""  # read by Lightning's ``ckpt_path="last"``
        self._saved_step: int | None = None
        self._saved_at = time.monotonic()

    def path(self, trainer: Trainer) -> Path:
        if self.dirpath:
            return Path(self.dirpath) / LAST_NAME
        return RunFolder(Path(trainer.default_root_dir)).last

    def save(self, trainer: Trainer) -> Path:
        """Write ``last.ckpt`` now (every process calls it; the main one writes)."""
        path = self.path(trainer)
        trainer.save_checkpoint(path, weights_only=False)
        self.last_model_path = str(path)
        self._saved_step, self._saved_at = trainer.global_step, time.monotonic()
        return path

    def keep_newest(self, trainer: Trainer) -> None:
        """Write ``last.ckpt`` unless it already holds this step (every process calls it)."""
        if self._saved_step != trainer.global_step:
            self.save(trainer)

    def _may_save(self, trainer: Trainer) -> bool:
        return (
            trainer.state.fn == TrainerFn.FITTING
            and not trainer.sanity_checking
            and not trainer.fast_dev_run  # as Lightning's checkpoints: a dev run leaves none
            and self._saved_step != trainer.global_step
        )

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._saved_step, self._saved_at = None, time.monotonic()

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """A run folder moved or copied since the checkpoint was written (or recorded relative to
        the working directory by an older version) keeps its best checkpoints: their paths are
        moved to this folder, where Lightning would otherwise forget the best score and take the
        next epoch for the best."""
        states = checkpoint.get("callbacks") or {}
        for callback in trainer.checkpoint_callbacks:
            state = states.get(callback.state_key) if isinstance(callback, ModelCheckpoint) else None
            if state and state.get("dirpath") and callback.dirpath and state["dirpath"] != callback.dirpath:
                states[callback.state_key] = relocated(state, Path(state["dirpath"]), Path(callback.dirpath))

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._saved_step = trainer.global_step  # a resumed run's checkpoint already holds this step

    def _periodic_due(self, trainer: Trainer) -> bool:
        if self.steps is not None:
            return trainer.global_step % self.steps == 0
        if self.minutes is None:
            return False
        due = time.monotonic() - self._saved_at >= 60 * self.minutes
        return bool(trainer.strategy.broadcast(due))  # the main process's clock decides for all

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        periodic = step_boundary_inside_epoch(trainer, batch_idx) and self._periodic_due(trainer)
        if periodic and self._may_save(trainer):
            self.save(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # After the epoch's validation and the best checkpoint's update. A checkpoint saved here
        # resumes exactly; one saved at validation end would repeat the end of its epoch.
        if self._may_save(trainer):
            self.save(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._may_save(trainer):  # stopped inside an epoch by max_steps or an early stop
            self.save(trainer)


def relocated(state: dict[str, Any], old: Path, new: Path) -> dict[str, Any]:
    """A ``ModelCheckpoint`` state with the paths inside ``old`` moved into ``new``."""

    def move(path: Any) -> Any:
        if not path or not isinstance(path, str) or not Path(path).is_relative_to(old):
            return path
        return str(new / Path(path).relative_to(old))

    moved = {key: move(value) for key, value in state.items()}
    moved["dirpath"] = str(new)
    if isinstance(state.get("best_k_models"), dict):
        moved["best_k_models"] = {move(path): score for path, score in state["best_k_models"].items()}
    return moved


def last_checkpoint_of(trainer: Trainer) -> LastCheckpoint | None:
    """The trainer's ``LastCheckpoint``, if it has one."""
    return next((c for c in trainer.callbacks if isinstance(c, LastCheckpoint)), None)
