"""Pretrained word vectors (GloVe, word2vec, fastText ``.vec``) for a net's embedding table.

Vector files are often gigabytes: they are read line by line and only the rows of words in the
training vocabulary are kept. Both text layouts work: GloVe's ``word v1 v2 …`` on every line and
word2vec/fastText's, which starts with a ``<count> <dimension>`` header line.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

import torch
from torch import nn

from lightlab.errors import UserError


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def check_readable(path: str | Path) -> None:
    """One line if the vectors file cannot be opened."""
    try:
        with _open(Path(path)) as file:
            file.readline()
    except OSError as error:
        raise UserError(f"cannot read word vectors {path}: {error.strerror or error}") from None


def read_word_vectors(path: str | Path, tokens: list[str], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(vectors, found)``: a ``(len(tokens), dim)`` table with the file's vector in each row whose
    token the file has (compared as written, then lower-cased), and a boolean mask of those rows."""
    path = Path(path)
    wanted: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        wanted.setdefault(token, []).append(i)
    vectors = torch.zeros(len(tokens), dim)
    found = torch.zeros(len(tokens), dtype=torch.bool)
    try:
        with _open(path) as file:
            for number, line in enumerate(file, start=1):
                word, _, rest = line.rstrip("\n").partition(" ")
                values = rest.split()
                if number == 1 and len(values) == 1 and word.isdigit() and values[0].isdigit():
                    if int(values[0]) != dim:
                        raise UserError(
                            f"{path} holds {values[0]}-dimensional vectors but the embedding has {dim}; "
                            f"set the net's embedding_dim to {values[0]}"
                        )
                    continue  # word2vec/fastText header: <count> <dimension>
                rows = wanted.get(word) or wanted.get(word.lower())
                if not rows:
                    continue
                if len(values) != dim:
                    raise UserError(
                        f"{path}:{number}: {len(values)} values for {word!r}, the embedding has {dim}; "
                        f"set the net's embedding_dim to the file's dimension"
                    )
                try:
                    vector = torch.tensor([float(v) for v in values])
                except ValueError:
                    message = f"{path}:{number}: not a word vector line (a word, then numbers)"
                    raise UserError(message) from None
                for row in rows:
                    if not found[row]:
                        vectors[row], found[row] = vector, True
    except OSError as error:
        raise UserError(f"cannot read word vectors {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text file of word vectors") from None
    return vectors, found


def init_embedding(
    embedding: nn.Embedding | nn.EmbeddingBag, path: str, tokens: list[str], freeze: bool, skip: int = 2
) -> None:
    """Copy the file's vectors into the first ``len(tokens)`` rows of ``embedding``; the other rows
    (words the file lacks, ``<pad>`` and ``<unk>``: the first ``skip`` tokens) keep their random
    initialisation. ``freeze`` keeps the whole table fixed during training."""
    dim = embedding.embedding_dim
    vectors, found = read_word_vectors(path, tokens, dim)
    found[:skip] = False
    with torch.no_grad():
        embedding.weight[: len(tokens)][found] = vectors[found]
    embedding.weight.requires_grad_(not freeze)
    words = len(tokens) - skip
    print(
        f"word vectors: {int(found.sum())} of {words} vocabulary words found in {path}"
        + (" (embeddings frozen)" if freeze else "")
    )


class StartsFromWordVectors:
    """For a net whose ``embedding`` may start from a vectors file (``word_vectors``) and stay fixed
    (``freeze_embeddings``): the two methods of ``LoadsPretrained`` the task calls. Mixed in
    before ``nn.Module``; the net sets the two attributes from its constructor arguments."""

    embedding: nn.Embedding | nn.EmbeddingBag
    word_vectors: str | None = None
    freeze_embeddings: bool = False

    def fetch_pretrained(self) -> None:
        if self.word_vectors:
            check_readable(self.word_vectors)

    def load_pretrained(self, vocabulary: list[str] | None = None) -> None:
        """Start the embedding from ``word_vectors`` for ``vocabulary`` (the token of each id)."""
        if self.word_vectors and vocabulary:
            init_embedding(self.embedding, self.word_vectors, vocabulary, self.freeze_embeddings)
