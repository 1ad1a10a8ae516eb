"""Test accuracy of the Fashion-MNIST experiments on the real data, trained as ``make train`` does.

Each experiment runs with its committed config and seed in its own process (so peak memory is
its own), from a folder holding the four real files, raw or gzipped. Debian's
``dataset-fashion-mnist`` package puts them in ``/usr/share/datasets/fashion-mnist``, which is
used when present; otherwise ``data/`` (where ``make train`` downloads them). Prints a table of
test accuracy, epochs, seconds per epoch and peak memory against each experiment's target:

    python benchmarks/bench_fashion_accuracy.py
    python benchmarks/bench_fashion_accuracy.py --only fashion_mnist_mlp --data-dir ~/fashion
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from lightlab.data import FashionMNISTDataModule

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_COPY = Path("/usr/share/datasets/fashion-mnist")
TARGETS = {"fashion_mnist_mlp": 0.89, "fashion_mnist_cnn": 0.93, "fashion_mnist_custom": 0.88}


def holds_the_files(folder: Path) -> bool:
    return not FashionMNISTDataModule(data_dir=str(folder), download=False).missing_files()


def train(experiment: str, data_dir: Path, runs: Path, extra: list[str]) -> dict:
    """One ``lightlab fit`` in a child process; its summary plus the child's peak resident memory."""
    command = [
        sys.executable,
        "-m",
        "lightlab",
        "fit",
        "--config",
        str(ROOT / "experiments" / f"{experiment}.yaml"),
        "--data.init_args.data_dir",
        str(data_dir),
        "--runs_dir",
        str(runs),
        *extra,
    ]
    log = runs / f"{experiment}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{experiment} failed; see {log}")
    newest = max((runs / experiment).iterdir(), key=lambda p: p.stat().st_mtime)
    summary = json.loads((newest / "summary.json").read_text())
    summary["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=SYSTEM_COPY if holds_the_files(SYSTEM_COPY) else Path("data")
    )
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "bench-fashion-accuracy")
    parser.add_argument("--only", nargs="+", choices=sorted(TARGETS), default=sorted(TARGETS))
    parser.add_argument(
        "--epochs", type=int, help="override max_epochs (quick checks; targets assume the config's)"
    )
    args = parser.parse_args()
    if not holds_the_files(args.data_dir):
        raise SystemExit(
            f"error: no Fashion-MNIST files in {args.data_dir}: install Debian's dataset-fashion-mnist, "
            "run make train EXP=fashion_mnist_mlp once to download them, or give --data-dir"
        )
    extra = ["--trainer.max_epochs", str(args.epochs)] if args.epochs else []
    print(f"data: {args.data_dir}   runs: {args.runs_dir}   CPU cores: {os.cpu_count()}")
    print("| experiment | test acc | target | val acc | epochs | s/epoch | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for experiment in args.only:
        summary = train(experiment, args.data_dir, args.runs_dir, extra)
        accuracy, target = summary["test"]["test/acc"], TARGETS[experiment]
        print(
            f"| `{experiment}` | {accuracy:.4f} {'met' if accuracy >= target else 'MISSED'} | {target:.2f} "
            f"| {summary['val']['val/acc']:.4f} | {summary['epochs']} "
            f"| {summary['fit_seconds'] / max(summary['epochs'], 1):.1f} | {summary['peak_rss_mb']:.0f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
