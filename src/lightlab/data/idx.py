"""The IDX format of (Fashion-)MNIST: finding, checking and reading the four files, raw or gzipped.

An IDX file is two zero bytes, a type code (0x08 for unsigned bytes), the number of dimensions,
one big-endian 32-bit size per dimension, then the data. Files are recognised by their content,
not their name, so a ``.gz`` recompressed by any tool (a Linux distribution's package, a mirror)
reads the same as the original.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import torch

from lightlab.errors import UserError

FASHION_MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08


def find_idx_file(folders: list[Path], name: str) -> Path | None:
    """The first of ``name`` or ``name.gz`` that exists in ``folders``, searched in order."""
    for folder in folders:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_idx(path: Path) -> torch.Tensor:
    """An unsigned-byte IDX file (raw or gzipped) as a uint8 tensor; a damaged file is a ``UserError``
    naming it and what is wrong with it."""
    try:
        data = path.read_bytes()
        if data[:2] == GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise UserError(f"{path}: cannot read it ({error}); replace it with a good copy") from None
    if len(data) < 4 or data[:2] != b"\0\0":
        raise UserError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'none'})") from None
    type_code, rank = data[2], data[3]
    if type_code != UBYTE:
        raise UserError(f"{path}: IDX type code 0x{type_code:02x}, expected 0x08 (unsigned bytes)")
    header_size = 4 + 4 * rank
    if rank == 0 or len(data) < header_size:
        raise UserError(f"{path}: IDX header truncated or with {rank} dimensions")
    shape = struct.unpack(f">{rank}I", data[4:header_size])
    expected = header_size + int(torch.Size(shape).numel())
    if len(data) != expected:
        raise UserError(
            f"{path}: holds {len(data)} bytes but its header {tuple(shape)} needs {expected}; "
            "the file is truncated or damaged, replace it with a good copy"
        )
    return torch.frombuffer(bytearray(data[header_size:]), dtype=torch.uint8).reshape(shape)


def read_image_label_pair(
    images_path: Path, labels_path: Path, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 28, 28)`` and labels ``(N,)`` from a checked pair of IDX files."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise UserError(f"{images_path}: expected 28x28 images, found shape {tuple(images.shape)}")
    if labels.dim() != 1:
        raise UserError(f"{labels_path}: expected a list of labels, found shape {tuple(labels.shape)}")
    if len(images) != len(labels):
        raise UserError(
            f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels; "
            "the two files come from different sets"
        )
    if len(labels) and int(labels.max()) >= num_classes:
        raise UserError(f"{labels_path}: label {int(labels.max())} is outside 0..{num_classes - 1}")
    return images, labels.long()


def write_idx(path: str | Path, array: torch.Tensor) -> None:
    """Write a uint8 tensor as IDX: zero bytes, type code 0x08, rank, big-endian sizes, raw data."""
    if array.dtype != torch.uint8:
        raise ValueError(f"IDX writing supports uint8 only, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, UBYTE, array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
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
