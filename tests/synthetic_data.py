"""Learnable stand-in data for tests and benchmarks: images of Fashion-MNIST's shape and random
token sequences. Not part of the package; benchmarks put this folder on ``sys.path``."""

from __future__ import annotations

import torch

from lightlab.data.bucketing import SequenceDataset


def patterned_images(count: int, seed: int, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Learnable stand-in data of Fashion-MNIST's shape: 28x28 uint8 noise with a bright 6x6 square
    whose position is set by the class. For tests and benchmarks where the real files are absent.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.arange(count) % classes)[torch.randperm(count, generator=generator)]
    images = torch.randint(0, 60, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        row, col = 3 + 11 * (label // 4), 2 + 6 * (label % 4)
        images[index, row : row + 6, col : col + 6] = 220
    return images, labels.to(torch.uint8)


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
