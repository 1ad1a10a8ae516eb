"""ONNX Runtime against eager PyTorch for the exported graph, on this CPU.

For the Fashion-MNIST MLP and CNN (the experiments' settings) and the text BiLSTM (vocab 10k,
texts of 50-300 tokens, padded to the batch's longest), the net followed by its probabilities is
exported exactly as ``make export`` does, then timed both ways in one process, interleaved
(eager, ONNX, eager, ONNX, ...):

- batch-1 latency: the median time of one single-input call;
- batch-256 throughput: inputs per second through 256-input calls.

Each round gives a ratio (eager time / ONNX Runtime time: above 1 means ONNX Runtime is faster);
the median ratio and its range over the rounds are printed. Both sides use every core (torch's
default threads, ONNX Runtime's default intra-op pool).

    python benchmarks/bench_onnx_runtime.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lightlab.deploy.export import ProbabilityNet, export_onnx, onnx_session
from lightlab.nets import CNN, MLP, BiLSTM


def image_batch(size: int) -> dict[str, torch.Tensor]:
    return {"inputs": torch.randn(size, 1, 28, 28)}


def text_batch(size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(50, 301, (size,), generator=generator)
    inputs = torch.randint(2, 10_000, (size, int(lengths.max())), generator=generator)
    inputs[torch.arange(inputs.shape[1]) >= lengths.unsqueeze(1)] = 0
    return {"inputs": inputs, "lengths": lengths}


def fashion_mlp() -> torch.nn.Module:
    return MLP(10, input_shape=(1, 28, 28), hidden_sizes=(512, 256), dropout=0.2)


def fashion_cnn() -> torch.nn.Module:
    return CNN(10, input_shape=(1, 28, 28), channels=(32, 64), hidden_size=256, dropout=0.1)


def text_bilstm() -> torch.nn.Module:
    return BiLSTM(10_000, 2, embedding_dim=32, hidden_size=32, head_size=32, dropout=0.1)


# The experiments' settings: name -> (net, a batch of a given size, input kind).
NETS = {
    "fashion MLP": (fashion_mlp, image_batch, "image"),
    "fashion CNN": (fashion_cnn, image_batch, "image"),
    "text BiLSTM": (text_bilstm, text_batch, "text"),
}


def seconds(call: Callable[[], object], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def compare(name: str, rounds: int, folder: Path) -> None:
    build, batch, kind = NETS[name]
    torch.manual_seed(0)
    example = batch(2)
    model = ProbabilityNet(build().eval(), list(example)).eval()
    path = folder / f"{name.replace(' ', '_')}.onnx"
    export_onnx(model, example, kind, path)
    session = onnx_session(path)
    names = {value.name for value in session.get_inputs()}

    for size, repeats in ((1, 200 if kind == "image" else 20), (256, 5 if kind == "image" else 1)):
        inputs = batch(size)
        arrays = {k: v.numpy() for k, v in inputs.items() if k in names}

        eager = torch.inference_mode()(lambda inputs=inputs: model(*inputs.values()))
        onnx = lambda arrays=arrays: session.run(None, arrays)  # noqa: E731

        np.testing.assert_allclose(onnx()[0], eager().numpy(), atol=1e-4)
        eager(), onnx()  # warm-up
        ratios, eager_times, onnx_times = [], [], []
        for _ in range(rounds):
            eager_times.append(seconds(eager, repeats))
            onnx_times.append(seconds(onnx, repeats))
            ratios.append(eager_times[-1] / onnx_times[-1])
        eager_s, onnx_s = statistics.median(eager_times), statistics.median(onnx_times)
        if size == 1:
            figures = f"eager {eager_s * 1e3:.3f} ms, ORT {onnx_s * 1e3:.3f} ms"
        else:
            figures = f"eager {size / eager_s:,.0f}/s, ORT {size / onnx_s:,.0f}/s"
        label = "batch-1 latency" if size == 1 else "batch-256 throughput"
        print(
            f"{name:12s} {label:21s} {figures:38s} ORT speed-up {statistics.median(ratios):.2f}x "
            f"(range {min(ratios):.2f}-{max(ratios):.2f}, {rounds} interleaved rounds)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as folder:
        for name in NETS:
            compare(name, args.rounds, Path(folder))


if __name__ == "__main__":
    main()
