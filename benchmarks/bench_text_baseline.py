"""Epoch time of the n-gram baseline against the BiLSTM on the same texts and batches.

python benchmarks/bench_text_baseline.py [--texts 1000] [--min-length 50] [--max-length 300]

Both nets, at their default sizes, train (forward, backward, Adam step) over the same
length-bucketed batches of review-length texts (random ids from a 10 000-word vocabulary); the
two are timed in turn (A B A B …) and the ratio of each pair is reported as a median with its
range, since timings on a shared machine drift.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from lightlab.data.bucketing import BucketBatchSampler
from lightlab.nets import BiLSTM, NGramClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_data import random_token_sequences


def epoch_seconds(net: nn.Module, batches: list[dict[str, torch.Tensor]]) -> float:
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    start = time.perf_counter()
    for batch in batches:
        optimizer.zero_grad()
        logits = net(batch["inputs"], batch["lengths"])
        nn.functional.cross_entropy(logits, batch["target"]).backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--min-length", type=int, default=50)
    parser.add_argument("--max-length", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    vocab_size = 10_000
    dataset = random_token_sequences(args.texts, vocab_size, args.min_length, args.max_length, num_classes=2)
    sampler = BucketBatchSampler(dataset.lengths, args.batch, seed=0)
    batches = [dataset[indices] for indices in sampler]
    sizes = {"vocab_size": vocab_size, "num_classes": 2}
    nets = {"bilstm": BiLSTM(**sizes), "ngrams": NGramClassifier(**sizes)}  # the nets' defaults
    for net in nets.values():  # warm-up
        epoch_seconds(net, batches[:3])
    ratios, times = [], {name: [] for name in nets}
    for _ in range(args.repeats):
        for name, net in nets.items():
            times[name].append(epoch_seconds(net, batches))
        ratios.append(times["bilstm"][-1] / times["ngrams"][-1])
    print(
        f"{len(batches)} batches of {args.batch} texts of {args.min_length}-{args.max_length} tokens, "
        f"threads={torch.get_num_threads()}"
    )
    for name, values in times.items():
        print(f"{name:7s}: {statistics.median(values):.3f} s per epoch (median of {args.repeats})")
    print(
        f"BiLSTM / n-gram epoch time: {statistics.median(ratios):.1f}x "
        f"(range {min(ratios):.1f}-{max(ratios):.1f}x; goal >= 10x)"
    )


if __name__ == "__main__":
    main()
