"""A bidirectional LSTM classifier whose output for a sequence does not depend on padding."""

import torch
from torch import nn

from lightlab.nets.word_vectors import StartsFromWordVectors
from lightlab.ranges import Fraction, NonNegativeInt, PositiveInt


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps and leave its padding at the end.

    ``x`` is ``(B, T, ...)``. The permutation is its own inverse, so applying it twice restores
    the input. One ``index_select`` on the flattened batch (cheaper than ``gather`` both ways).
    """
    batch, steps = x.shape[:2]
    position = torch.arange(steps, device=x.device).expand(batch, -1)
    lengths = lengths.to(x.device).unsqueeze(1)
    source = torch.where(position < lengths, lengths - 1 - position, position)
    source = source + torch.arange(batch, device=x.device).unsqueeze(1) * steps
    return x.reshape(batch * steps, *x.shape[2:]).index_select(0, source.flatten()).view_as(x)


class BiLSTMLayer(nn.Module):
    """One bidirectional layer as two forward LSTMs: the second reads each sequence reversed within
    its length. Padding therefore always comes after the real steps in both directions and never
    reaches them, yet both directions use the fused, padded (not packed) LSTM kernel.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.forward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.backward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, aligned: bool = True) -> torch.Tensor:
        """``(B, T, 2 * hidden)`` states. With ``aligned=False`` the backward half stays in reversed
        order within each length: enough for pooling over the real steps, and one gather cheaper.
        """
        forward_states, _ = self.forward_lstm(x)
        backward_states, _ = self.backward_lstm(reverse_within_length(x, lengths))
        if aligned:
            backward_states = reverse_within_length(backward_states, lengths)
        return torch.cat([forward_states, backward_states], dim=-1)


class BiLSTM(StartsFromWordVectors, nn.Module):
    """Embedding (``<pad>`` = 0) -> bidirectional LSTM layers -> average and max pooling over the real
    tokens only -> hidden layer with dropout -> one logit per class.

    ``word_vectors``: a GloVe/word2vec/fastText text file to start the embedding from (its
    dimension must equal ``embedding_dim``; words it lacks keep their random start);
    ``freeze_embeddings`` keeps the embedding fixed during training.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: PositiveInt = 64,
        hidden_size: PositiveInt = 64,
        num_layers: PositiveInt = 1,
        head_size: PositiveInt = 64,
        dropout: Fraction = 0.2,
        pad_id: NonNegativeInt = 0,
        word_vectors: str | None = None,
        freeze_embeddings: bool = False,
    ) -> None:
        super().__init__()
        self.word_vectors, self.freeze_embeddings = word_vectors, freeze_embeddings
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        sizes = [embedding_dim] + [2 * hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(BiLSTMLayer(size, hidden_size) for size in sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(
            nn.Linear(4 * hidden_size, head_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_size, num_classes),
        )

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states = self.dropout(self.embedding(inputs))
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            # Average and max pooling ignore order, so the last layer's steps need not be realigned.
            states = layer(states, lengths, aligned=not last)
            if not last:
                states = self.dropout(states)
        mask = torch.arange(inputs.shape[1], device=inputs.device) < lengths.to(inputs.device).unsqueeze(1)
        mask = mask.unsqueeze(-1)
        average = (states * mask).sum(1) / lengths.to(states.device).unsqueeze(1).to(states.dtype)
        maximum = states.masked_fill(~mask, float("-inf")).amax(1)
        return self.head(torch.cat([average, maximum], dim=-1))
