"""``last.ckpt`` written during long epochs too, so a crash loses minutes, not an epoch.

Set on the command line: ``--save_last_every.minutes 10`` or ``--save_last_every.steps 500``
(``make train ... ARGS="--save_last_every.minutes 10"``). Off by default: the epoch-end
``last.ckpt`` is enough when epochs are short.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from lightlab.errors import UserError


class PeriodicCheckpoint(ModelCheckpoint):
    """Rewrites ``last.ckpt`` every ``minutes`` of training or every ``steps`` optimizer steps.

    A run resumed from such a checkpoint continues from its step; the rest of that epoch sees a
    fresh pass over the data, so only a resume from an epoch-end checkpoint repeats the
    uninterrupted run exactly.
    """

    def __init__(
        self, minutes: float | None = None, steps: int | None = None, dirpath: str | None = None
    ) -> None:
        if minutes is not None and steps is not None:
            raise UserError("give save_last_every.minutes or save_last_every.steps, not both")
        if (minutes is not None and minutes <= 0) or (steps is not None and steps <= 0):
            raise UserError("save_last_every.minutes and .steps must be positive")
        self.active = minutes is not None or steps is not None
        super().__init__(
            dirpath=dirpath,
            monitor=None,
            save_top_k=0,
            save_last=True,
            every_n_train_steps=steps,
            train_time_interval=timedelta(minutes=minutes) if minutes is not None else None,
            every_n_epochs=0 if self.active else None,
        )

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        if self.active:
            super().on_train_batch_end(trainer, pl_module, *args, **kwargs)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.active:
            super().on_train_epoch_end(trainer, pl_module)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.active:
            super().on_validation_end(trainer, pl_module)
