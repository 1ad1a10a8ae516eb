"""A network of ``CustomLinear`` layers with residual connections and the input fed in again."""

from collections.abc import Sequence

import torch
from torch import nn

from lightlab.nets.custom_linear import CustomLinear
from lightlab.nets.mlp import flat_size, make_activation
from lightlab.ranges import Fraction, PositiveInt


class SkipNet(nn.Module):
    """Input layer, ``depth`` residual hidden layers ``h ← h + f(W h + b)``, then an output layer
    that sees both the last hidden state and the original input (re-injected by concatenation).

    The residual path lets gradients reach early layers unchanged; re-injecting the input lets
    the output layer use raw features the hidden layers did not keep. Every layer is a
    ``CustomLinear`` with the same ``init`` scheme. Image inputs are flattened.
    """

    def __init__(
        self,
        num_classes: int,
        in_features: int | None = None,
        input_shape: Sequence[int] | None = None,
        hidden_size: PositiveInt = 64,
        depth: PositiveInt = 2,
        activation: str = "relu",
        dropout: Fraction = 0.0,
        init: str = "kaiming_uniform",
    ) -> None:
        super().__init__()
        in_features = flat_size("SkipNet", in_features, input_shape)
        self.flatten = nn.Flatten()
        self.input = CustomLinear(in_features, hidden_size, init=init)
        # Registered one by one (not in a ModuleList) so the model summary lists each layer.
        self.hidden_names = [f"hidden{i}" for i in range(1, depth + 1)]
        for name in self.hidden_names:
            self.add_module(name, CustomLinear(hidden_size, hidden_size, init=init))
        self.output = CustomLinear(hidden_size + in_features, num_classes, init="xavier_uniform")
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.flatten(inputs)
        h = self.activation(self.input(x))
        for name in self.hidden_names:
            h = h + self.dropout(self.activation(getattr(self, name)(h)))
        return self.output(torch.cat([h, x], dim=-1))
