"""Random number generator states kept in every checkpoint, so a resumed run draws what the
uninterrupted one would have drawn: the same shuffles, the same dropout masks.

Lightning saves weights, optimizer, scheduler and loop progress, but not the generators: a resumed
run would reseed from ``seed_everything`` and repeat the first epoch's randomness instead.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback


def capture() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and every CUDA device's) generators."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        # Tensors and plain numbers only, so checkpoints still load with torch.load(weights_only=True).
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gaussian),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore(states: dict[str, Any]) -> None:
    """Put back what ``capture`` returned; CUDA states only where the same devices exist."""
    random.setstate(states["python"])
    kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian))
    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class RandomStateInCheckpoints(Callback):
    """Saves the generator states with each checkpoint and restores them when a run resumes.

    The checkpoint is written as an epoch ends; everything the resumed run does before its next
    training epoch either draws no random numbers (model summary) or does so inside
    ``isolate_rng`` (sanity check, sample grids), so training continues from the saved states.
    Under DDP every rank is seeded alike, and every rank restores the states rank 0 saved.
    """

    def state_dict(self) -> dict[str, Any]:
        return {"rank_states": capture()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        restore(state_dict["rank_states"])
