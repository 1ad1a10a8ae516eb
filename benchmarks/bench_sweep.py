"""Trials inside one worker process against one fresh ``make train`` per trial.

    python benchmarks/bench_sweep.py [--trials 20] [--epochs 3] [--repeats 2]

A: ``python -m lightlab sweep iris_mlp`` with ``--trials N`` (torch and Lightning imported once).
B: the same N configurations, each as its own ``make train EXP=iris_mlp`` process. Run A B A B…;
prints each pair's ratio B/A and the median with its spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "WANDB_MODE": "disabled"}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def sweep(runs: Path, trials: int, epochs: int) -> tuple[float, list[dict]]:
    seconds = timed(
        [
            sys.executable,
            "-m",
            "lightlab",
            "sweep",
            "iris_mlp",
            "--trials",
            str(trials),
            "--runs_dir",
            str(runs),
            f"--args=--trainer.max_epochs {epochs}",
        ]
    )
    journal = runs / "iris_mlp" / "sweep-iris_mlp" / "study.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="iris_mlp-iris_mlp", storage=storage)
    return seconds, [t.params for t in study.trials]


def separate_runs(runs: Path, configurations: list[dict], epochs: int) -> float:
    total = 0.0
    for params in configurations:
        # List choices are stored as JSON text; written without spaces they survive make's word splitting.
        values = {
            k: json.loads(v) if isinstance(v, str) and v.startswith("[") else v for k, v in params.items()
        }
        flags = [f"--{k}={json.dumps(v, separators=(',', ':'))}" for k, v in values.items()]
        flags += [
            "--trainer.max_epochs",
            str(epochs),
            "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false",
            "--runs_dir",
            str(runs),
        ]
        total += timed(["make", "--no-print-directory", "train", "EXP=iris_mlp", f"ARGS={' '.join(flags)}"])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    ratios = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            in_process, configurations = sweep(Path(folder) / "a", args.trials, args.epochs)
            fresh = separate_runs(Path(folder) / "b", configurations, args.epochs)
        ratios.append(fresh / in_process)
        print(
            f"pair {repeat + 1}: sweep {in_process:.1f} s, separate runs {fresh:.1f} s, "
            f"ratio {ratios[-1]:.2f}"
        )
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
    print(
        f"{args.trials} trials of {args.epochs} epochs: separate runs take {statistics.median(ratios):.2f}x "
        f"the sweep's time (median of {len(ratios)}, range {spread})"
    )


if __name__ == "__main__":
    main()
