"""Fashion-MNIST input pipeline: bulk in-memory tensors against per-sample PIL -> ToTensor loading.

Writes a synthetic Fashion-MNIST of the real shape (60 000 + 10 000 images, 28x28, raw IDX files)
to a temporary folder, then in one process:

1. reads one epoch of training batches through FashionMNISTDataModule and through torchvision's
   FashionMNIST with ``ToTensor() + Normalize()`` in a DataLoader (the usual tutorial pipeline),
   and prints samples/s and their ratio;
2. trains the fashion_mnist_mlp net through the template for a few epochs and prints the
   median epoch time.

    python benchmarks/bench_fashion_pipeline.py [--batch-size 256] [--workers 0] [--accelerator cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import torch
from bench_task_overhead import EpochStarts, median_epoch  # sibling script in benchmarks/
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import FashionMNIST

from lightlab.data import FashionMNISTDataModule
from lightlab.data.idx import write_fashion_mnist
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask


def synthetic(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 28, 28), generator=generator, dtype=torch.uint8)
    return images, torch.randint(0, 10, (count,), generator=generator, dtype=torch.uint8)


def samples_per_second(loader: DataLoader) -> float:
    start, seen = time.perf_counter(), 0
    for batch in loader:
        seen += len(batch["target"] if isinstance(batch, dict) else batch[1])
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=0, help="workers for the per-sample loader")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--device-resident", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as root:
        write_fashion_mnist(root, synthetic(60000, 0), synthetic(10000, 1))
        datamodule = FashionMNISTDataModule(data_dir=root, batch_size=args.batch_size, val_size=0)
        datamodule.setup("fit")
        tensors = samples_per_second(datamodule.train_dataloader())
        per_sample = samples_per_second(
            DataLoader(
                FashionMNIST(
                    root,
                    train=True,
                    transform=transforms.Compose(
                        [transforms.ToTensor(), transforms.Normalize((0.286,), (0.353,))]
                    ),
                ),
                batch_size=args.batch_size,
                shuffle=True,
                num_workers=args.workers,
            )
        )
        print(f"bulk tensors (template)   : {tensors:12,.0f} samples/s")
        print(f"per-sample ToTensor ({args.workers} w): {per_sample:12,.0f} samples/s")
        print(f"ratio: {tensors / per_sample:.1f}x  (goal >= 10x)")

        datamodule = FashionMNISTDataModule(
            data_dir=root, batch_size=args.batch_size, device_resident=args.device_resident
        )
        net = MLP(num_classes=10, input_shape=(1, 28, 28), hidden_sizes=[512, 256], dropout=0.2)
        clock = EpochStarts()
        trainer = Trainer(
            max_epochs=args.epochs,
            accelerator=args.accelerator,
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[clock],
            num_sanity_val_steps=0,
        )
        trainer.fit(ClassificationTask(net, num_classes=10), datamodule=datamodule)
        print(
            f"fashion_mnist_mlp epoch (55k train + 5k val, {args.accelerator}): "
            f"{median_epoch(clock.starts):.2f} s (median after a warm-up epoch)"
        )


if __name__ == "__main__":
    main()
