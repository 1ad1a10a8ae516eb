"""A multilayer perceptron: the baseline net for tabular data and flattened images."""

import math
from collections.abc import Sequence

import torch
from torch import nn

from lightlab.ranges import Fraction, PositiveInt

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str) -> nn.Module:
    """An activation layer by name, with a clear error naming the choices."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def flat_size(net: str, in_features: int | None, input_shape: Sequence[int] | None) -> int:
    """Input width of a net on flat features: ``in_features``, else the flattened ``input_shape``."""
    if in_features is not None:
        return in_features
    if input_shape is None:
        raise ValueError(f"{net} needs in_features or input_shape")
    return math.prod(input_shape)


class MLP(nn.Module):
    """Hidden layers of Linear → [BatchNorm] → activation → [Dropout], then a Linear to the logits.

    ``in_features`` may be left unset when the input is an image: ``input_shape`` is flattened.
    Both are normally filled in from the DataModule by the CLI.
    """

    def __init__(
        self,
        num_classes: int,
        in_features: int | None = None,
        input_shape: Sequence[int] | None = None,
        hidden_sizes: Sequence[PositiveInt] = (64, 64),
        activation: str = "relu",
        dropout: Fraction = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        in_features = flat_size("MLP", in_features, input_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for hidden in hidden_sizes:
            layers.append(nn.Linear(width, hidden, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers(inputs)
