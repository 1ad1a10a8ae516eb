"""``--model.compile_net``: compiled against eager training steps (forward, backward, Adam).

For each net, an eager copy and a compiled copy (``net.compile()``, as the task does) train on the
same batches: the Fashion-MNIST MLP (784 -> 512 -> 256 -> 10) and CNN (28x28, channels 32/64) at
batch 128, and the BiLSTM on token batches of 4 lengths (bucketed batches, 64 sequences of 40-160
tokens, so the compiled net meets several shapes). The compiled copy's first pass over the batches
(compilation) is timed on its own; then ``--repeats`` interleaved rounds (eager, compiled, …) of
``--steps`` steps each give the median step time of each and the median of the per-round ratios
with their range.

    python benchmarks/bench_compile.py [--nets mlp cnn bilstm] [--steps 30] [--repeats 5] [--mode default]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import torch
from torch import nn

from lightlab.nets import CNN, MLP, BiLSTM


def batches_for(name: str) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    if name == "mlp":
        return [{"inputs": torch.randn(128, 784, generator=generator)} for _ in range(4)]
    if name == "cnn":
        return [{"inputs": torch.randn(128, 1, 28, 28, generator=generator)} for _ in range(4)]
    batches = []
    for longest in (40, 80, 120, 160):
        lengths = torch.randint(longest // 2, longest + 1, (64,), generator=generator)
        lengths[0] = longest
        tokens = torch.randint(2, 5000, (64, longest), generator=generator)
        tokens[torch.arange(longest) >= lengths[:, None]] = 0
        batches.append({"inputs": tokens, "lengths": lengths})
    return batches


def net_for(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "mlp":
        return MLP(num_classes=10, in_features=784, hidden_sizes=[512, 256], dropout=0.2)
    if name == "cnn":
        return CNN(num_classes=10, input_shape=(1, 28, 28))
    return BiLSTM(vocab_size=5000, num_classes=5)


class Trainee:
    """A net with its optimizer and the batches it trains on, one step at a time."""

    def __init__(self, net: nn.Module, batches: list[dict[str, torch.Tensor]]) -> None:
        self.net, self.batches = net, batches
        self.optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        self.targets = [torch.randint(0, 5, (len(b["inputs"]),)) for b in batches]

    def steps(self, count: int) -> float:
        """Seconds per step over ``count`` steps."""
        self.net.train()
        start = time.perf_counter()
        for i in range(count):
            batch, target = self.batches[i % len(self.batches)], self.targets[i % len(self.batches)]
            loss = nn.functional.cross_entropy(self.net(**batch), target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return (time.perf_counter() - start) / count


def measure(name: str, steps: int, repeats: int, mode: str) -> None:
    net = net_for(name)
    eager = Trainee(net, batches_for(name))
    compiled_net = copy.deepcopy(net)
    compiled_net.compile(mode=mode)
    compiled = Trainee(compiled_net, eager.batches)
    start = time.perf_counter()
    compiled.steps(len(compiled.batches))  # compiles, once per batch shape
    first = time.perf_counter() - start
    eager.steps(len(eager.batches))
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):
        times["eager"].append(eager.steps(steps))
        times["compiled"].append(compiled.steps(steps))
    ratios = [c / e for c, e in zip(times["compiled"], times["eager"], strict=True)]
    print(
        f"{name:6s} eager {statistics.median(times['eager']) * 1e3:7.2f} ms/step, "
        f"compiled {statistics.median(times['compiled']) * 1e3:7.2f} ms/step, "
        f"compiled/eager {statistics.median(ratios):.3f}x (range {min(ratios):.3f}-{max(ratios):.3f}), "
        f"compiling ({len(eager.batches)} batches) {first:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nets", nargs="+", choices=["mlp", "cnn", "bilstm"], default=["mlp", "cnn", "bilstm"]
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mode", default="default")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} mode={args.mode} torch={torch.__version__}")
    for name in args.nets:
        measure(name, args.steps, args.repeats, args.mode)


if __name__ == "__main__":
    main()
