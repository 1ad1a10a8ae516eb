"""Forward+backward cost of ``CustomLinear`` against ``nn.Linear`` with identical weights.

python benchmarks/bench_custom_linear.py [--batch 256] [--in 512] [--out 512]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from lightlab.nets import CustomLinear


def seconds_per_step(layer: nn.Module, inputs: torch.Tensor, steps: int) -> float:
    for _ in range(10):
        layer(inputs).sum().backward()
    start = time.perf_counter()
    for _ in range(steps):
        layer(inputs).sum().backward()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--in", dest="in_features", type=int, default=512)
    parser.add_argument("--out", dest="out_features", type=int, default=512)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    builtin = nn.Linear(args.in_features, args.out_features)
    custom = CustomLinear(args.in_features, args.out_features)
    with torch.no_grad():
        custom.weight.copy_(builtin.weight)
        custom.bias.copy_(builtin.bias)
    inputs = torch.randn(args.batch, args.in_features, requires_grad=True)
    times = {"nn.Linear": [], "CustomLinear": []}
    for _ in range(5):  # interleaved, best of five
        times["nn.Linear"].append(seconds_per_step(builtin, inputs, args.steps))
        times["CustomLinear"].append(seconds_per_step(custom, inputs, args.steps))
    best = {name: min(values) for name, values in times.items()}
    print(
        f"batch={args.batch} in={args.in_features} out={args.out_features} threads={torch.get_num_threads()}"
    )
    for name, value in best.items():
        print(f"{name:12s}: {value * 1e6:8.1f} us per forward+backward")
    print(f"ratio CustomLinear / nn.Linear: {best['CustomLinear'] / best['nn.Linear']:.3f}x  (goal <= 1.1x)")


if __name__ == "__main__":
    main()
