"""Training step of a pretrained-size backbone: frozen (head only) against fully trainable.

python benchmarks/bench_backbone_freeze.py [--name resnet18] [--size 112] [--batch 16] [--repeats 5]

A frozen backbone needs no gradients of its own, so its backward pass stops at the head. Both
variants run the same step (forward, backward, Adam) on the same batch, timed in turn (A B A B …);
the ratio of each pair is reported as a median with its range.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from lightlab.nets import TorchvisionNet


def seconds_per_step(net: nn.Module, images: torch.Tensor, targets: torch.Tensor, steps: int) -> float:
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(images), targets).backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="resnet18")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    nets = {
        freeze: TorchvisionNet(args.name, 10, weights=None, freeze=freeze).to(device).train()
        for freeze in ("backbone", "none")
    }
    images = torch.randn(args.batch, 3, args.size, args.size, device=device)
    targets = torch.randint(0, 10, (args.batch,), device=device)
    for net in nets.values():
        seconds_per_step(net, images, targets, 1)  # warm-up
    times, ratios = {k: [] for k in nets}, []
    for _ in range(args.repeats):
        for freeze, net in nets.items():
            times[freeze].append(seconds_per_step(net, images, targets, args.steps))
        ratios.append(times["none"][-1] / times["backbone"][-1])
    threads = torch.get_num_threads()
    print(f"{args.name} {args.size}x{args.size} batch {args.batch} on {device}, threads={threads}")
    for freeze, values in times.items():
        label = "frozen backbone" if freeze == "backbone" else "all trainable"
        print(f"{label:16s}: {statistics.median(values) * 1e3:8.1f} ms per step")
    print(
        f"trainable / frozen step time: {statistics.median(ratios):.2f}x "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    main()
