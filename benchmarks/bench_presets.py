"""Epoch time and accuracy of fashion_mnist_mlp and text_bilstm under each trainer preset and precision.

Runs the real experiments through the CLI on generated data of the real shape (Fashion-MNIST:
60 000 + 10 000 28x28 images with a class-dependent pattern; the negation sentences), so
accuracy can be compared across devices: it should match the CPU rows within noise. Rows whose
device is missing are skipped. With a GPU:

    python benchmarks/bench_presets.py                 # cpu, gpu, gpu + bf16-mixed, gpu + 16-mixed
    python benchmarks/bench_presets.py --epochs 5 --only gpu
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from lightlab.cli import main as lightlab
from lightlab.data.idx import write_fashion_mnist
from lightlab.data.negation import generate_negation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from synthetic_data import patterned_images  # noqa: E402  (test data makers live beside the tests)

VARIANTS = {  # name: (preset, precision, extra flags)
    "cpu": ("cpu", "32-true", []),
    "gpu": ("gpu", "32-true", []),
    "gpu bf16-mixed": ("gpu", "bf16-mixed", []),
    "gpu 16-mixed": ("gpu", "16-mixed", []),
    "gpu bf16-mixed, data on GPU": ("gpu", "bf16-mixed", ["--data.init_args.device_resident", "true"]),
}


def run(experiment: str, variant: str, data_flags: list[str], epochs: int, runs: Path) -> dict:
    preset, precision, extra = VARIANTS[variant]
    if experiment != "fashion_mnist_mlp" and "device_resident" in " ".join(extra):
        return {}
    lightlab(
        [
            "fit",
            "--config",
            str(ROOT / "experiments" / f"{experiment}.yaml"),
            "--config",
            str(ROOT / "experiments" / "trainer" / f"{preset}.yaml"),
            "--trainer.precision",
            precision,
            "--trainer.max_epochs",
            str(epochs),
            "--runs_dir",
            str(runs),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.enable_model_summary",
            "false",
            *data_flags,
            *extra,
        ]
    )
    summary = json.loads(max((runs / experiment).glob("*/summary.json"), key=os.path.getmtime).read_text())
    return {"epoch_s": summary["fit_seconds"] / summary["epochs"], "test_acc": summary["test"]["test/acc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", choices=["cpu", "gpu"], default=None)
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    variants = [v for v in VARIANTS if (VARIANTS[v][0] == "gpu") <= torch.cuda.is_available()]
    if args.only:
        variants = [v for v in variants if VARIANTS[v][0] == args.only]
    rows = []
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        write_fashion_mnist(root / "fashion", patterned_images(60000, 0), patterned_images(10000, 1))
        generate_negation(root / "negation.csv", count=4000)
        data = {
            "fashion_mnist_mlp": ["--data.init_args.data_dir", str(root / "fashion")],
            "text_bilstm": ["--data.init_args.path", str(root / "negation.csv")],
        }
        for experiment, flags in data.items():
            for variant in variants:
                result = run(experiment, variant, flags, args.epochs, root / "runs")
                if result:
                    rows.append((experiment, variant, result))
    print(f"\n{'experiment':20s} {'variant':30s} {'s/epoch':>8s} {'test acc':>9s}")
    for experiment, variant, result in rows:
        print(f"{experiment:20s} {variant:30s} {result['epoch_s']:8.2f} {result['test_acc']:9.4f}")


if __name__ == "__main__":
    main()
