"""Lightning's checkpoint saving through ``atomic_write``."""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from lightlab.atomic import atomic_write


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
