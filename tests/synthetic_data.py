"""Learnable stand-in data for tests and benchmarks: images of Fashion-MNIST's shape, random
token sequences, keyword-labelled texts and word-vector files. Not part of the package;
benchmarks put this folder on ``sys.path``."""

from __future__ import annotations

import csv
import random
from pathlib import Path

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


KEYWORDS = {
    "sports": ("match", "goal", "coach"),
    "science": ("atom", "theory", "lab"),
    "music": ("song", "band", "chord"),
}


def keyword_texts(path: Path, count: int = 3000, seed: int = 0) -> Path:
    """A ``text,label`` CSV whose label is given away by one keyword among random filler words:
    separable by a bag of words."""
    rng = random.Random(seed)
    fillers = [f"w{i}" for i in range(300)]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        for i in range(count):
            label = sorted(KEYWORDS)[i % len(KEYWORDS)]
            words = rng.sample(fillers, rng.randint(4, 20))
            words.insert(rng.randrange(len(words) + 1), rng.choice(KEYWORDS[label]))
            writer.writerow([" ".join(words), label])
    return path


def write_word_vectors(path: Path, vectors: dict[str, list[float]], header: bool = False) -> Path:
    """GloVe's ``word v1 v2 …`` lines, or word2vec/fastText ``.vec`` with its ``<count> <dim>`` header."""
    dim = len(next(iter(vectors.values())))
    lines = [f"{len(vectors)} {dim}"] if header else []
    lines += [" ".join([word, *(f"{v:.6f}" for v in values)]) for word, values in vectors.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def claimed_size_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds almost no data: what a
    decompression bomb looks like to a reader that checks the size before decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
