"""Per-epoch cost of the template's loop against bare Lightning and a hand-written loop.

Two jobs, each trained three ways on the same DataModule's loaders with Adam and a validation
pass every epoch:

- small: an MLP (128, 128) on 20 000 rows of 32 numeric features (a generated CSV read by
  ``NumericCsvDataModule``), batch 128: 100 steps an epoch of a model so small that the loop's
  own cost shows;
- fashion: the ``fashion_mnist_mlp`` experiment on generated Fashion-MNIST IDX files of the real
  size (60 000 + 10 000 images), batch 128: 430 steps an epoch.

The three ways:

- hand-written: a plain PyTorch loop that also sums training loss and accuracy;
- bare Lightning: a minimal LightningModule (loss only) under a Trainer with no logger,
  checkpointing, progress bar or model summary: the cost of Lightning's loop itself;
- template: ``make train`` as shipped (``lightlab.cli.main`` with the experiment and
  ``configs/defaults.yaml``: every default callback, metrics.csv, offline wandb, best and last
  checkpoints), the progress bar off.

An epoch's time is the median interval between epoch starts after a warm-up epoch. The three run
interleaved (A B C A B C …) ``--repeats`` times; the figures are the medians of the per-repeat
ratios with their range.

    python benchmarks/bench_task_overhead.py [--jobs small fashion] [--repeats 5] [--epochs 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer

from lightlab.cli import main as train
from lightlab.data import FashionMNISTDataModule, NumericCsvDataModule
from lightlab.data.idx import write_fashion_mnist
from lightlab.nets import MLP

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def median_epoch(starts: list[float]) -> float:
    return statistics.median(b - a for a, b in itertools.pairwise(starts[1:]))


class EpochStarts(Callback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def on_fit_end(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())


class Job:
    """One training job: its data on disk, its DataModule and net, and the template's flags."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        if name == "small":
            self.csv = root / "rows.csv"
            write_rows(self.csv, rows=20000, features=32, classes=4)
            self.config = root / "small.yaml"
            self.config.write_text(SMALL_CONFIG.format(csv=self.csv))
            self.flags = ["--config", str(self.config)]
        else:
            write_fashion_mnist(root, synthetic_images(60000, 0), synthetic_images(10000, 1))
            config = EXPERIMENTS / "fashion_mnist_mlp.yaml"
            self.flags = ["--config", str(config), "--data.init_args.data_dir", str(root)]
            self.flags += ["--data.batch_size", "128", "--model.lr_scheduler", "null"]

    def datamodule(self) -> LightningDataModule:
        if self.name == "small":
            data: LightningDataModule = NumericCsvDataModule(str(self.csv), "label", batch_size=128)
        else:
            data = FashionMNISTDataModule(data_dir=str(self.root), batch_size=128, download=False)
        data.prepare_data()
        data.setup("fit")
        return data

    def net(self) -> MLP:
        torch.manual_seed(0)
        if self.name == "small":
            return MLP(num_classes=4, in_features=32, hidden_sizes=[128, 128], dropout=0.0)
        return MLP(num_classes=10, in_features=784, hidden_sizes=[512, 256], dropout=0.2)

    def lr(self) -> float:
        return 1e-3


SMALL_CONFIG = """\
data:
  class_path: lightlab.data.NumericCsvDataModule
  init_args:
    csv_path: {csv}
    label_column: label
    batch_size: 128
model:
  net:
    class_path: lightlab.nets.MLP
    init_args:
      hidden_sizes: [128, 128]
      dropout: 0.0
  lr: 0.001
"""


def write_rows(path: Path, rows: int, features: int, classes: int) -> None:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(rows, features, generator=generator)
    weights = torch.randn(features, classes, generator=generator)
    target = (inputs @ weights + 0.5 * torch.randn(rows, classes, generator=generator)).argmax(-1)
    header = ",".join([*(f"x{i}" for i in range(features)), "label"])
    lines = [
        ",".join([*(f"{v:.5f}" for v in row.tolist()), f"c{int(t)}"])
        for row, t in zip(inputs, target, strict=True)
    ]
    path.write_text("\n".join([header, *lines]) + "\n")


def synthetic_images(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 28, 28), generator=generator, dtype=torch.uint8)
    return images, torch.randint(0, 10, (count,), generator=generator, dtype=torch.uint8)


def hand_written(job: Job, epochs: int) -> float:
    data, net = job.datamodule(), job.net()
    optimizer = torch.optim.Adam(net.parameters(), lr=job.lr())
    train_loader, val_loader = data.train_dataloader(), data.val_dataloader()
    starts = []
    for _ in range(epochs + 1):
        starts.append(time.perf_counter())
        net.train()
        loss_sum, correct, seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
        for batch in train_loader:
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
            val_correct = sum((net(b["inputs"]).argmax(-1) == b["target"]).sum() for b in val_loader)
        _ = (loss_sum / seen).item(), (correct / seen).item(), int(val_correct)
    starts.append(time.perf_counter())
    return median_epoch(starts)


class BareModule(LightningModule):
    """The least a LightningModule can do: loss in training, a forward pass in validation."""

    def __init__(self, net: torch.nn.Module, lr: float) -> None:
        super().__init__()
        self.net, self.lr = net, lr

    def training_step(self, batch, batch_idx):
        return torch.nn.functional.cross_entropy(self.net(batch["inputs"]), batch["target"])

    def validation_step(self, batch, batch_idx):
        self.net(batch["inputs"])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def bare_lightning(job: Job, epochs: int) -> float:
    clock = EpochStarts()
    trainer = Trainer(
        max_epochs=epochs + 1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        callbacks=[clock],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(BareModule(job.net(), job.lr()), datamodule=job.datamodule())
    return median_epoch(clock.starts)


def template(job: Job, epochs: int, runs_dir: Path) -> float:
    clock = EpochStarts()
    flags = [*job.flags, "--runs_dir", str(runs_dir), "--trainer.max_epochs", str(epochs + 1)]
    train(["fit", *flags, "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false"], [clock])
    return median_epoch(clock.starts)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}x (range {min(values):.3f}-{max(values):.3f})"


def measure(job: Job, repeats: int, epochs: int) -> None:
    ways: dict[str, Callable[[], float]] = {
        "hand-written": lambda: hand_written(job, epochs),
        "bare Lightning": lambda: bare_lightning(job, epochs),
        "template": lambda: template(job, epochs, job.root / "runs"),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            times[name].append(way())
    hand, bare, lab = times["hand-written"], times["bare Lightning"], times["template"]
    print(f"\n{job.name}: median ms/epoch over {repeats} interleaved repeats of {epochs} epochs")
    for name, values in times.items():
        print(
            f"  {name:15s} {statistics.median(values) * 1e3:8.1f}  (runs: {[round(t * 1e3) for t in values]})"
        )
    print(f"  bare Lightning / hand-written: {spread([b / h for b, h in zip(bare, hand, strict=True)])}")
    print(f"  template / hand-written:       {spread([t / h for t, h in zip(lab, hand, strict=True)])}")
    print(f"  template / bare Lightning:     {spread([t / b for t, b in zip(lab, bare, strict=True)])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=["small", "fashion"], default=["small", "fashion"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("WANDB_SILENT", "true")
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}")
    for name in args.jobs:
        with tempfile.TemporaryDirectory() as root:
            measure(Job(name, Path(root)), args.repeats, args.epochs)


if __name__ == "__main__":
    main()
