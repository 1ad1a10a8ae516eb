"""Writing the IDX format of (Fashion-)MNIST, for synthetic data in the exact on-disk layout."""

from __future__ import annotations

import struct
from pathlib import Path

import torch

FASHION_MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def write_idx(path: str | Path, array: torch.Tensor) -> None:
    """Write a uint8 tensor as IDX: zero bytes, type code 0x08, rank, big-endian sizes, raw data."""
    if array.dtype != torch.uint8:
        raise ValueError(f"IDX writing supports uint8 only, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    Path(path).write_bytes(header + array.contiguous().numpy().tobytes())


def write_fashion_mnist(
    root: str | Path,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
) -> Path:
    """Write (images, labels) pairs where torchvision's ``FashionMNIST(root)`` reads them."""
    raw = Path(root) / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in (("train", train), ("test", test)):
        write_idx(raw / FASHION_MNIST_FILES[(split, "images")], images)
        write_idx(raw / FASHION_MNIST_FILES[(split, "labels")], labels)
    return raw


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
