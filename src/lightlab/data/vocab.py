"""Tokenising text and mapping tokens to integer ids."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

PAD, UNK = "<pad>", "<unk>"


class Tokenizer:
    """Turns a string into a list of tokens. Subclass it and name yours in the experiment file."""

    def __call__(self, text: str) -> list[str]:
        raise NotImplementedError


class SimpleTokenizer(Tokenizer):
    """Lower-cases, then splits into runs of letters/digits (apostrophes kept inside words) and
    single punctuation marks: ``"Don't stop, ok?"`` -> ``["don't", "stop", ",", "ok", "?"]``.
    """

    pattern = re.compile(r"\w+(?:'\w+)*|[^\w\s]")

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        return self.pattern.findall(text.lower() if self.lowercase else text)


class Vocabulary:
    """Token <-> id maps with ``<pad>`` = 0 and ``<unk>`` = 1, built from training texts only."""

    def __init__(self, tokens: list[str]) -> None:
        if tokens[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad> and <unk>")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(
        cls, tokenized: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """Most frequent tokens first (ties alphabetically, so the result is deterministic)."""
        counts = Counter(token for tokens in tokenized for token in tokens)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in (PAD, UNK)),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.index.get(token, 1) for token in tokens]
