"""Datasets that keep every sample in memory and build a batch by tensor indexing.

A ``DataLoader`` over a dataset with ``__getitems__`` hands the sampler's whole list of indices to
the dataset at once, so a batch costs one indexing op per tensor instead of one Python call per
sample. Because it is still an ordinary ``DataLoader``, Lightning can swap in a
``DistributedSampler`` under DDP and each rank gets its own disjoint share.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from lightlab.batch import Batch
from lightlab.data.base import LabDataModule


class InMemoryDataset(Dataset):
    """Named tensors that share their first dimension; a batch is a dict of slices.

    The keys follow the batch format the task module expects: ``inputs`` and ``target``, plus any
    extra tensors a net needs (``lengths`` for sequences).
    """

    def __init__(self, **tensors: torch.Tensor) -> None:
        sizes = {name: len(t) for name, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"all tensors need the same first dimension, got {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> Batch:
        return {name: t[index] for name, t in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        return {name: t[index] for name, t in self.tensors.items()}


def already_batched(batch: Batch) -> Batch:
    """``collate_fn`` for a dataset or sampler that already builds whole batches."""
    return batch


def in_memory_loader(
    dataset: InMemoryDataset,
    batch_size: int,
    shuffle: bool,
    drop_last: bool = False,
    sampler: Sampler | None = None,
) -> DataLoader:
    """A single-process loader for an ``InMemoryDataset``: workers would only add IPC cost here.
    A ``sampler`` (a balanced draw) replaces shuffling."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        collate_fn=already_batched,
        num_workers=0,
    )


class InMemoryDataModule(LabDataModule):
    """A DataModule whose splits are ``InMemoryDataset``s in ``self.splits``, batched by indexing."""

    splits: dict[str, InMemoryDataset]

    def _loader(self, split: str, train: bool) -> DataLoader:
        sampler = self.balanced_sampler() if train and self.balanced else None
        return in_memory_loader(self.splits[split], self.batch_size, shuffle=train, sampler=sampler)

    def split_targets(self, split: str) -> torch.Tensor | None:
        dataset = getattr(self, "splits", {}).get(split)
        return dataset.tensors["target"].cpu() if dataset is not None else None
