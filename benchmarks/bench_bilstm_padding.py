"""BiLSTM training epoch under three batching schemes, and the exact net against inexact ones.

One epoch (forward, backward, Adam) over random-token sequences (vocab 10k, lengths uniform in
50-300, batch 64), all in one process:

(a) random batches, every batch padded to the longest sequence overall;
(b) random batches, each padded to its own longest sequence;
(c) length-bucketed batches with the template's BiLSTM, exact under padding;
(d) the same bucketed batches through ``nn.LSTM(bidirectional=True)`` on padded input, whose
    backward direction reads the padding first (inexact);
(e) the same bucketed batches through ``pack_padded_sequence`` (exact).

The token-count limit is padded tokens in (a) / padded tokens in (c): the best speed-up padding
alone could give. Denormal flushing is the same for every row; (c) is also run without it.

    python benchmarks/bench_bilstm_padding.py [--count 1280] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lightlab.data.bucketing import BucketBatchSampler
from lightlab.nets import BiLSTM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_data import random_token_sequences


class PlainBiLSTM(BiLSTM):
    """The template's BiLSTM with one built-in bidirectional LSTM instead (``packed`` for exactness)."""

    def __init__(self, packed: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.packed = packed
        self.lstm = nn.LSTM(
            kwargs["embedding_dim"], kwargs["hidden_size"], batch_first=True, bidirectional=True
        )
        del self.layers

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states = self.dropout(self.embedding(inputs))  # the same work as the exact net, but the LSTM
        if self.packed:
            packed = pack_padded_sequence(states, lengths.cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(
                self.lstm(packed)[0], batch_first=True, total_length=inputs.shape[1]
            )
        else:
            states, _ = self.lstm(states)
        mask = (torch.arange(inputs.shape[1], device=inputs.device) < lengths.unsqueeze(1)).unsqueeze(-1)
        average = (states * mask).sum(1) / lengths.unsqueeze(1).to(states.dtype)
        maximum = states.masked_fill(~mask, float("-inf")).amax(1)
        return self.head(torch.cat([average, maximum], dim=-1))


def batches(dataset, batch_size: int, pool_batches: int, pad_to: int | None) -> list[dict[str, torch.Tensor]]:
    out = []
    for index in BucketBatchSampler(dataset.lengths, batch_size, seed=0, pool_batches=pool_batches):
        batch = dataset[index]
        if pad_to is not None:
            batch["inputs"] = nn.functional.pad(batch["inputs"], (0, pad_to - batch["inputs"].shape[1]))
        out.append(batch)
    return out


def epoch_seconds(net: nn.Module, data: list[dict[str, torch.Tensor]], device: torch.device) -> float:
    net.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    data = [{k: v.to(device) for k, v in b.items()} for b in data]
    for batch in data[:2]:  # warm-up
        nn.functional.cross_entropy(net(batch["inputs"], batch["lengths"]), batch["target"]).backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in data:
        loss = nn.functional.cross_entropy(net(batch["inputs"], batch["lengths"]), batch["target"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1280)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    dataset = random_token_sequences(args.count, num_classes=4)
    sizes = {"vocab_size": 10_000, "num_classes": 4, "embedding_dim": 64, "hidden_size": 64}
    global_max = max(dataset.lengths)
    data = {
        "a": batches(dataset, args.batch_size, 1, pad_to=global_max),
        "b": batches(dataset, args.batch_size, 1, pad_to=None),
        "c": batches(dataset, args.batch_size, 50, pad_to=None),
    }
    tokens = {k: sum(b["inputs"].numel() for b in v) for k, v in data.items()}

    def run(key: str, net_kind: str = "exact", flush: bool = True) -> float:
        torch.manual_seed(0)
        torch.set_flush_denormal(flush)
        net = BiLSTM(**sizes) if net_kind == "exact" else PlainBiLSTM(packed=net_kind == "packed", **sizes)
        return min(epoch_seconds(net, data[key], device) for _ in range(2))

    times = {
        "a": run("a"),
        "b": run("b"),
        "c": run("c"),
        "c, denormals kept": run("c", flush=False),
        "d": run("c", "plain"),
        "e": run("c", "packed"),
    }
    labels = {
        "a": "(a) global max, exact",
        "b": "(b) own max, exact",
        "c": "(c) bucketed, exact",
        "c, denormals kept": "(c) bucketed, exact, denormals kept",
        "d": "(d) bucketed, built-in bidirectional (inexact)",
        "e": "(e) bucketed, packed (exact)",
    }
    print(
        f"{args.count} sequences, lengths 50-300, batch {args.batch_size}, device {device}, "
        f"threads {torch.get_num_threads()}"
    )
    for key, seconds in times.items():
        print(f"{labels[key]:48s} {seconds:7.2f} s/epoch")
    limit = tokens["a"] / tokens["c"]
    speedup = times["a"] / times["c"]
    print(f"padded tokens (a)/(c): {limit:.2f}x   (a)/(b): {tokens['a'] / tokens['b']:.2f}x")
    print(f"speed-up (a)/(c): {speedup:.2f}x = {speedup / limit:.0%} of the token limit  (goal >= 90%)")
    print(f"exact (c) / inexact (d): {times['c'] / times['d']:.2f}x  (goal <= 1.0x)")
    print(f"packed (e) / exact (c): {times['e'] / times['c']:.2f}x")
    print(f"denormals kept / flushed, (c): {times['c, denormals kept'] / times['c']:.2f}x")


if __name__ == "__main__":
    main()
