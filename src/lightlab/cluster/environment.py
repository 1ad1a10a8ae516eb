"""What the machine and the launcher say: GPUs, node count, whether wandb may sync."""

from __future__ import annotations

import os
from typing import Any

import torch

from lightlab.errors import UserError


def check_accelerator(accelerator: Any) -> None:
    """Fail early, in one line, when a GPU is asked for and there is none."""
    if str(accelerator) in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(
            f"no GPU found (accelerator: {accelerator}); use TRAINER=cpu, or TRAINER=ddp_cpu for two CPU "
            "processes (--trainer.accelerator cpu)"
        )


def nodes_from_environment() -> int:
    """Machines in this launch, as SLURM or torchrun report them; 1 when neither does."""
    if os.environ.get("SLURM_NNODES", "").isdigit() and os.environ.get("SLURM_NTASKS"):
        return int(os.environ["SLURM_NNODES"])
    world, local = os.environ.get("WORLD_SIZE", ""), os.environ.get("LOCAL_WORLD_SIZE", "")
    if world.isdigit() and local.isdigit() and int(local) > 0:
        return max(1, int(world) // int(local))
    return 1


def wandb_offline() -> bool:
    """Offline unless the user asked to sync: ``WANDB_MODE=online``, or an API key without a mode."""
    mode = os.environ.get("WANDB_MODE")
    if mode:
        return mode != "online"
    return not os.environ.get("WANDB_API_KEY")
