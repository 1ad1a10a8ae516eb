"""Random token sequences of random lengths: the classic padding/collate exercise, for throughput work."""

from __future__ import annotations

import torch

from lightlab.data.bucketing import SequenceDataset


def random_token_sequences(
    count: int,
    vocab_size: int = 10_000,
    min_length: int = 50,
    max_length: int = 300,
    num_classes: int = 2,
    seed: int = 0,
) -> SequenceDataset:
    """``count`` sequences of ids in ``[1, vocab_size)`` with lengths uniform in ``[min_length, max_length]``
    and random labels (id 0 is padding)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_length, max_length + 1, (count,), generator=generator).tolist()
    sequences = [torch.randint(1, vocab_size, (n,), generator=generator) for n in lengths]
    return SequenceDataset(sequences, torch.randint(0, num_classes, (count,), generator=generator).tolist())
