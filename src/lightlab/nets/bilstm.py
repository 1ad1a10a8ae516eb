"""A bidirectional LSTM classifier whose output for a sequence does not depend on padding."""

from __future__ import annotations

import torch
from torch import nn


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps and leave its padding at the end.

    ``x`` is ``(B, T, ...)``. The permutation is its own inverse, so applying it twice restores
    the input.
    """
    steps = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
    lengths = lengths.to(x.device).unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


class BiLSTMLayer(nn.Module):
    """One bidirectional layer as two forward LSTMs: the second reads each sequence reversed within
    its length. Padding therefore always comes after the real steps in both directions and never
    reaches them, yet both directions use the fused, padded (not packed) LSTM kernel.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.forward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.backward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        forward_states, _ = self.forward_lstm(x)
        backward_states, _ = self.backward_lstm(reverse_within_length(x, lengths))
        return torch.cat([forward_states, reverse_within_length(backward_states, lengths)], dim=-1)


class BiLSTM(nn.Module):
    """Embedding (``<pad>`` = 0) -> bidirectional LSTM layers -> average and max pooling over the real
    tokens only -> hidden layer with dropout -> logits (one logit for two classes, else one per class).
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        head_size: int = 64,
        dropout: float = 0.2,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        sizes = [embedding_dim] + [2 * hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(BiLSTMLayer(size, hidden_size) for size in sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(
            nn.Linear(4 * hidden_size, head_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_size, 1 if num_classes == 2 else num_classes),
        )

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states = self.dropout(self.embedding(inputs))
        for i, layer in enumerate(self.layers):
            states = layer(states, lengths)
            if i < len(self.layers) - 1:
                states = self.dropout(states)
        mask = torch.arange(inputs.shape[1], device=inputs.device) < lengths.to(inputs.device).unsqueeze(1)
        mask = mask.unsqueeze(-1)
        average = (states * mask).sum(1) / lengths.to(states.device).unsqueeze(1).to(states.dtype)
        maximum = states.masked_fill(~mask, float("-inf")).amax(1)
        return self.head(torch.cat([average, maximum], dim=-1))
