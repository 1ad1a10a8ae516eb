"""A small convolutional net for images of any size and channel count."""

from collections.abc import Sequence

import torch
from torch import nn

from lightlab.ranges import Fraction, PositiveInt


def conv_block(in_channels: int, out_channels: int, dropout: float) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, then 2x2 max pooling (halves height and width)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
    )


class CNN(nn.Module):
    """Conv blocks (``channels`` sets their widths), then a dense classifier head.

    ``input_shape`` is ``(channels, height, width)`` and comes from the DataModule; the head's
    input size is found by running a zero image through the blocks once at construction.
    ``channels_last`` runs the convolutions in NHWC memory layout, which the CPU (oneDNN) and GPU
    (cuDNN, tensor cores) kernels handle faster than NCHW; the results are the same.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        channels: Sequence[PositiveInt] = (32, 64),
        hidden_size: PositiveInt = 128,
        dropout: Fraction = 0.25,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"CNN needs input_shape (channels, height, width), got {tuple(input_shape)}")
        in_channels, height, width = input_shape
        if min(height, width) < 2 ** len(channels):
            raise ValueError(
                f"{len(channels)} conv blocks halve a {height}x{width} image to nothing; "
                f"use at most {max(min(height, width).bit_length() - 1, 1)} channels entries"
            )
        blocks, width_in = [], in_channels
        for width_out in channels:
            blocks.append(conv_block(width_in, width_out, dropout / 2))
            width_in = width_out
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *input_shape)).numel()
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden_size),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, num_classes),
        )
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.features.to(memory_format=self.memory_format)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.features(inputs.contiguous(memory_format=self.memory_format))
        return self.classifier(features)
