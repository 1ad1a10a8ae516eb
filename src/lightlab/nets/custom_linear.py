"""A linear layer written from ``nn.Parameter``s, with the classic initialisation schemes spelled out.

This is the worked example for going below ``nn.Linear``: the weight and bias are tensors made
by hand and registered as parameters, the initialisation is the formula from its paper, and the
forward pass is one fused matmul-plus-bias, so it costs what ``nn.Linear`` costs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

INIT_SCHEMES = (
    "zeros",
    "constant",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
)


def init_weight_(
    weight: torch.Tensor,
    scheme: str,
    *,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    std: float = 0.01,
    value: float = 0.0,
) -> torch.Tensor:
    """Fill a ``(fan_out, fan_in)`` weight in place with ``scheme``; returns it.

    - ``xavier_*`` (Glorot & Bengio, 2010): Var = 2 / (fan_in + fan_out), keeping the variance of
      activations and of gradients equal across layers for symmetric activations.
    - ``kaiming_*`` (He et al., 2015): Var = gain² / fan, with fan = fan_in (``mode="fan_in"``,
      preserves forward activations) or fan_out (preserves backward gradients) and the
      nonlinearity's gain (√2 for ReLU).
    - uniform variants draw from U(-a, a) with a = √3·std, which has the same variance.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of: {', '.join(INIT_SCHEMES)}")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"unknown fan mode {mode!r}; choose fan_in or fan_out")
    fan_out, fan_in = weight.shape
    with torch.no_grad():
        if scheme == "zeros":
            return weight.zero_()
        if scheme == "constant":
            return weight.fill_(value)
        if scheme == "normal":
            return weight.normal_(0.0, std)
        if scheme.startswith("xavier"):
            target_std = math.sqrt(2.0 / (fan_in + fan_out))
        else:
            gain = nn.init.calculate_gain(nonlinearity)
            target_std = gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
        if scheme.endswith("uniform"):
            bound = math.sqrt(3.0) * target_std
            return weight.uniform_(-bound, bound)
        return weight.normal_(0.0, target_std)


class CustomLinear(nn.Module):
    """``y = x Wᵀ + b`` with ``W`` and ``b`` as hand-made ``nn.Parameter``s and a chosen init scheme.

    The bias starts at zero (the usual choice with Xavier/Kaiming weights). Inputs whose last
    dimension is not ``in_features`` are rejected with a message naming both sizes.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "kaiming_uniform",
        mode: str = "fan_in",
        nonlinearity: str = "relu",
        std: float = 0.01,
        value: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.init = init
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        init_weight_(self.weight, init, mode=mode, nonlinearity=nonlinearity, std=std, value=value)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[-1] != self.in_features:
            raise ValueError(
                f"CustomLinear expected inputs with last dimension {self.in_features}, got "
                f"{inputs.shape[-1]} (shape {tuple(inputs.shape)}); set in_features to match the data"
            )
        if self.bias is not None and inputs.dim() == 2:
            return torch.addmm(self.bias, inputs, self.weight.t())  # one fused kernel
        out = inputs.matmul(self.weight.t())
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, init={self.init}"
        )
