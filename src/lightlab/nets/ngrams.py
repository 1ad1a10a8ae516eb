"""A fastText-style classifier: the mean of word and hashed word-pair embeddings, then a linear layer."""

import torch
from torch import nn

from lightlab.nets.word_vectors import StartsFromWordVectors
from lightlab.ranges import Fraction, PositiveInt

# Odd multiplier of the pair hash; any large odd number spreads pairs well over the buckets.
_PAIR_HASH = 1_000_003


class NGramClassifier(StartsFromWordVectors, nn.Module):
    """Bag of unigrams and bigrams: each token id and each adjacent pair (hashed into ``buckets``
    rows after the vocabulary's) has an embedding; a text is their mean (``EmbeddingBag``); one
    linear layer gives the logits. Padding (id 0) and pairs touching it count for nothing, so a
    text's output does not depend on how much padding its batch added.

    The linear baseline to beat on a few thousand texts: it trains in seconds (the table is kept
    small, 32 wide with 16 384 pair buckets, because its dense update dominates a step). Word
    order enters only through the pairs: on the negation demo, where moving a "not" to the other
    clause flips the label, it gets the pairs such as "not good" but not which clause is the
    film's, and stops well short of a model that reads the order.

    ``word_vectors``: a GloVe/word2vec/fastText text file to start the unigram rows from (its
    dimension must equal ``embedding_dim``); ``freeze_embeddings`` keeps the table fixed.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: PositiveInt = 32,
        buckets: PositiveInt = 16_384,
        dropout: Fraction = 0.0,
        word_vectors: str | None = None,
        freeze_embeddings: bool = False,
    ) -> None:
        super().__init__()
        self.vocab_size, self.buckets = vocab_size, buckets
        self.word_vectors, self.freeze_embeddings = word_vectors, freeze_embeddings
        self.embedding = nn.EmbeddingBag(vocab_size + buckets, embedding_dim, mode="mean", padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -1 / embedding_dim, 1 / embedding_dim)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, num_classes)

    def ngram_ids(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, 2T - 1)`` ids: the tokens, then one id per adjacent pair (0 where either is padding)."""
        first, second = inputs[:, :-1], inputs[:, 1:]
        pairs = self.vocab_size + (first * _PAIR_HASH + second) % self.buckets
        pairs = torch.where((first == 0) | (second == 0), torch.zeros_like(pairs), pairs)
        return torch.cat([inputs, pairs], dim=1)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        # Padding is id 0, which the bag leaves out: lengths are not needed.
        return self.head(self.dropout(self.embedding(self.ngram_ids(inputs))))
