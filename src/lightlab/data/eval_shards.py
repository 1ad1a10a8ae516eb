"""Each evaluation sample seen exactly once across processes.

Under DDP Lightning gives every process a ``DistributedSampler``, which repeats samples so that
all processes get the same number: right for training, wrong for a score, which then counts some
samples twice. For ``validate`` and ``test`` the template gives each process its own disjoint,
unpadded share instead; the processes may then run a different number of batches, which is safe
there because an evaluation step makes no collective call (metrics are synced once, at the end).
"""

from __future__ import annotations

from collections.abc import Iterator

from lightning.pytorch import Trainer
from lightning.pytorch.trainer.states import TrainerFn
from torch.utils.data import DistributedSampler


def evaluating_in_shards(trainer: Trainer | None) -> bool:
    """Whether loaders should give unpadded shares: a multi-process ``validate`` or ``test``. During
    ``fit`` the per-epoch validation keeps Lightning's even, padded shares."""
    return (
        trainer is not None
        and trainer.world_size > 1
        and trainer.state.fn in (TrainerFn.VALIDATING, TrainerFn.TESTING)
    )


class EvaluationShard(DistributedSampler):
    """Indices ``rank, rank + replicas, …`` of a dataset of ``size``: disjoint, never repeated.

    A ``DistributedSampler``, so Lightning keeps it instead of putting its own in its place.
    """

    def __init__(self, size: int, num_replicas: int, rank: int) -> None:
        super().__init__(range(size), num_replicas=num_replicas, rank=rank, shuffle=False)
        self.size = size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.size, self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, self.size, self.num_replicas))
