"""Per-epoch cost of the template (Trainer + ClassificationTask) against a hand-written loop.

Three ways to train the same MLP on the same in-memory tabular data with Adam, each with a
validation pass every epoch:

- hand-written: a plain PyTorch loop that also sums training loss and accuracy;
- bare Lightning: a minimal LightningModule (loss only) under a Trainer with no logger,
  checkpointing or progress bar, i.e. the cost of Lightning's loop itself;
- template: ClassificationTask with its four torchmetrics per split, metrics.csv and best/last
  checkpoints saved every epoch, as real runs do.

Per-epoch time is the median interval between epoch starts after a warm-up epoch; each variant
runs REPEATS times interleaved and the best median counts.

    python benchmarks/bench_task_overhead.py [--rows 20000] [--batch-size 128] [--epochs 6]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
import warnings

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from lightlab.data.in_memory import InMemoryDataset, in_memory_loader
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask

REPEATS = 3


def synthetic_tabular(rows: int, features: int = 32, classes: int = 4) -> dict[str, InMemoryDataset]:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(rows, features, generator=generator)
    weights = torch.randn(features, classes, generator=generator)
    target = (inputs @ weights + 0.5 * torch.randn(rows, classes, generator=generator)).argmax(-1)
    cut = int(rows * 0.8)
    return {
        "train": InMemoryDataset(inputs=inputs[:cut], target=target[:cut]),
        "val": InMemoryDataset(inputs=inputs[cut:], target=target[cut:]),
    }


def make_net() -> MLP:
    torch.manual_seed(0)
    return MLP(num_classes=4, in_features=32, hidden_sizes=[128, 128])


def median_epoch(starts: list[float]) -> float:
    return statistics.median(b - a for a, b in itertools.pairwise(starts[1:]))


def hand_written(data: dict[str, InMemoryDataset], batch_size: int, epochs: int) -> float:
    net = make_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    train, val = (
        in_memory_loader(data["train"], batch_size, True),
        in_memory_loader(data["val"], batch_size, False),
    )
    starts = []
    for _ in range(epochs + 1):
        starts.append(time.perf_counter())
        net.train()
        loss_sum, correct, seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
        for batch in train:
            logits = net(batch["inputs"])
            loss = torch.nn.functional.cross_entropy(logits, batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(batch["target"])
            correct += (logits.argmax(-1) == batch["target"]).sum()
            seen += len(batch["target"])
        net.eval()
        with torch.inference_mode():
            val_correct = sum((net(b["inputs"]).argmax(-1) == b["target"]).sum() for b in val)
        _ = (loss_sum / seen).item(), (correct / seen).item(), int(val_correct)
    starts.append(time.perf_counter())
    return median_epoch(starts)


class EpochStarts(Callback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def on_fit_end(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())


class BareModule(LightningModule):
    """The least a LightningModule can do: loss in training, a forward pass in validation."""

    def __init__(self) -> None:
        super().__init__()
        self.net = make_net()

    def training_step(self, batch, batch_idx):
        return torch.nn.functional.cross_entropy(self.net(batch["inputs"]), batch["target"])

    def validation_step(self, batch, batch_idx):
        self.net(batch["inputs"])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def lightning(
    module: LightningModule, data: dict[str, InMemoryDataset], batch_size: int, epochs: int, root: str | None
) -> float:
    clock = EpochStarts()
    callbacks: list[Callback] = [clock]
    if root is not None:
        callbacks.append(ModelCheckpoint(dirpath=root, monitor="val/loss", save_last=True))
    trainer = Trainer(
        max_epochs=epochs + 1,
        accelerator="cpu",
        logger=CSVLogger(root) if root is not None else False,
        enable_checkpointing=root is not None,
        callbacks=callbacks,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(
        module,
        in_memory_loader(data["train"], batch_size, True),
        in_memory_loader(data["val"], batch_size, False),
    )
    return median_epoch(clock.starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    data = synthetic_tabular(args.rows)
    steps = -(-len(data["train"]) // args.batch_size)
    times: dict[str, list[float]] = {"hand-written loop": [], "bare Lightning": [], "template": []}
    with tempfile.TemporaryDirectory() as root:
        for repeat in range(REPEATS):
            times["hand-written loop"].append(hand_written(data, args.batch_size, args.epochs))
            times["bare Lightning"].append(lightning(BareModule(), data, args.batch_size, args.epochs, None))
            task = ClassificationTask(make_net(), num_classes=4, lr=1e-3)
            times["template"].append(lightning(task, data, args.batch_size, args.epochs, f"{root}/{repeat}"))
    best = {name: min(values) for name, values in times.items()}
    plain, bare = best["hand-written loop"], best["bare Lightning"]
    print(f"rows={args.rows} batch={args.batch_size} steps/epoch={steps} threads={args.threads}")
    for name, values in times.items():
        print(f"{name:18s}: {best[name] * 1e3:8.1f} ms/epoch  (runs: {[round(t * 1e3, 1) for t in values]})")
    print(f"ratio bare Lightning / hand-written: {bare / plain:.3f}x  (Lightning's own loop)")
    print(f"ratio template / hand-written:       {best['template'] / plain:.3f}x  (goal <= 1.15x)")
    print(f"ratio template / bare Lightning:     {best['template'] / bare:.3f}x  (what the template adds)")


if __name__ == "__main__":
    main()
