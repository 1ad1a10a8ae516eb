"""Callbacks the distributed tests load into the training processes they start."""

import hashlib
import os
from pathlib import Path

from lightning.pytorch import Callback


class RecordFinalWeights(Callback):
    """Each process writes a digest of its final weights to ``<folder>/weights-rank<r>.txt``."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_fit_end(self, trainer, pl_module) -> None:
        digest = hashlib.sha256()
        for name, tensor in sorted(pl_module.state_dict().items()):
            digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        self.folder.mkdir(parents=True, exist_ok=True)
        text = f"{digest.hexdigest()} pid={os.getpid()} world={trainer.world_size}\n"
        (self.folder / f"weights-rank{trainer.global_rank}.txt").write_text(text)
