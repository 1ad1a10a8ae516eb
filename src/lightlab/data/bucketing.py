"""Batches of similar-length sequences, padded to their own longest member."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset, DistributedSampler

from lightlab.data.balance import balanced_draw


class BucketBatchSampler(DistributedSampler):
    """Yields lists of indices whose sequences have similar lengths, so padding stays small.

    Training order (``shuffle=True``), redrawn every epoch from ``seed + epoch``: shuffle all
    indices, cut them into pools of ``pool_batches`` batches, sort each pool by length, cut it
    into batches, then shuffle the batches. Sorting inside pools (not globally) keeps batches
    different from epoch to epoch. Without shuffling, batches follow a global sort by length.

    It is a ``DistributedSampler`` of batches: rank ``r`` of ``num_replicas`` takes every
    ``num_replicas``-th batch. With ``drop_last`` the few batches that do not divide evenly are
    left out (every rank gets a disjoint share of the same size); without it, batches from the
    start are repeated to even the shares, so every sample is seen; with ``even=False`` too, the
    shares are left uneven and nothing repeats (for scoring). With ``balanced_targets`` (each
    sample's class) the training order is a balanced draw with replacement instead of a shuffle.
    Lightning leaves a DistributedSampler in place under DDP and calls ``set_epoch`` on it, also
    for the epoch a resumed run continues with.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        drop_last: bool = False,
        pool_batches: int = 50,
        even: bool = True,
        balanced_targets: torch.Tensor | None = None,
    ) -> None:
        super().__init__(
            lengths, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last
        )
        self.lengths = torch.as_tensor(lengths)
        self.batch_size = batch_size
        self.pool_batches = pool_batches
        self.even = even
        self.balanced_targets = balanced_targets

    def _all_batches(self) -> list[list[int]]:
        if not self.shuffle:
            order = torch.argsort(self.lengths, stable=True)
            return [chunk.tolist() for chunk in order.split(self.batch_size)]
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.balanced_targets is None:
            order = torch.randperm(len(self.lengths), generator=generator)
        else:  # every class equally likely, with replacement (``data/balance.py``), bucketed alike
            order = balanced_draw(self.balanced_targets, len(self.lengths), generator)
        batches: list[list[int]] = []
        for pool in order.split(self.batch_size * self.pool_batches):
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches.extend(chunk.tolist() for chunk in pool.split(self.batch_size))
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in shuffled]

    def _shared(self, batches: list[list[int]]) -> list[list[int]]:
        if self.drop_last:
            return batches[: len(batches) - len(batches) % self.num_replicas]
        if not self.even and sum(map(len, batches)) >= self.num_replicas:
            # Every process needs at least one batch (Lightning refuses an empty loader on a rank).
            while len(batches) < self.num_replicas:
                largest = max(range(len(batches)), key=lambda i: len(batches[i]))
                half = len(batches[largest]) // 2
                batches[largest : largest + 1] = [batches[largest][:half], batches[largest][half:]]
            return batches
        short = -len(batches) % self.num_replicas
        return batches + batches[:short]

    def __iter__(self) -> Iterator[list[int]]:
        # Drawn when the first batch is asked for, not when the iterator is made: a resumed run
        # makes its iterator before Lightning calls set_epoch for the epoch it resumes into.
        yield from self._shared(self._all_batches())[self.rank :: self.num_replicas]

    def __len__(self) -> int:
        batches = -(-len(self.lengths) // self.batch_size)
        if self.drop_last:
            return batches // self.num_replicas
        if not self.even and len(self.lengths) >= self.num_replicas:
            return len(range(self.rank, max(batches, self.num_replicas), self.num_replicas))
        return -(-batches // self.num_replicas)


class SequenceDataset(Dataset):
    """Token-id sequences with labels; indexing with a list of indices returns a padded batch."""

    def __init__(self, sequences: Sequence[Sequence[int]], targets: Sequence[int]) -> None:
        self.sequences = [torch.as_tensor(s, dtype=torch.long) for s in sequences]
        self.targets = torch.as_tensor(targets, dtype=torch.long)
        self.lengths = [len(s) for s in self.sequences]

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int | list[int]) -> dict[str, torch.Tensor]:
        if isinstance(index, int):
            return {
                "inputs": self.sequences[index],
                "lengths": torch.tensor(self.lengths[index]),
                "target": self.targets[index],
            }
        return pad_batch([self.sequences[i] for i in index], self.targets[index])


def pad_batch(
    sequences: Sequence[torch.Tensor], targets: torch.Tensor, pad_id: int = 0
) -> dict[str, torch.Tensor]:
    """``inputs`` (B, this batch's longest length) padded with ``pad_id``; ``lengths`` and ``target`` (B,)."""
    lengths = torch.tensor([len(s) for s in sequences])
    inputs = pad_sequence(list(sequences), batch_first=True, padding_value=pad_id)
    return {"inputs": inputs, "lengths": lengths, "target": targets}
