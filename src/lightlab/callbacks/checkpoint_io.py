"""Lightning's checkpoint saving through ``atomic_write``, and reading that forgets what older
versions of the template stored and no longer use."""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from lightlab.atomic import atomic_write

# States of callbacks older versions configured: the switched-off writer of last.ckpt, whose job
# last_checkpoint.LastCheckpoint does now and which held nothing to restore.
RETIRED_CALLBACK_STATES = ("PeriodicCheckpoint",)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint saving, made durable: each ``.ckpt`` is written with ``atomic_write``,
    so an interrupted or failed save keeps the previous ``last.ckpt``/best checkpoint loadable."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)  # remote storage: Lightning's own way
            return
        atomic_write(path, lambda f: torch.save(checkpoint, f))

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        # Lightning's own defaults (map_location keeps tensors on the CPU) pass through unchanged.
        checkpoint = super().load_checkpoint(path, *args, **kwargs)
        states = checkpoint.get("callbacks") if isinstance(checkpoint, dict) else None
        for key in [k for k in states or {} if str(k).startswith(RETIRED_CALLBACK_STATES)]:
            del states[key]  # else Lightning asks for the callback to be added back
        return checkpoint
