"""What seed noise looks like on iris: two configurations of ``iris_mlp``, 10 seeds each, compared.

    python benchmarks/seed_noise_iris.py [--seeds 10] [--jobs 2]

A: ``make train EXP=iris_mlp SEEDS=10`` (the committed config). B: the same with dropout 0.3
instead of 0.1. Prints both groups' tables and ``make compare A=… B=…``: the figures quoted in
docs/repeats.md. Seeds 42… are shared, so the comparison is paired by seed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "WANDB_MODE": "offline"}


def group(runs: Path, seeds: int, jobs: int, args: str = "") -> Path:
    """Train one group with make, as a user does; its folder."""
    before = set((runs / "iris_mlp").glob("group-*"))
    command = ["make", "--no-print-directory", "train", "EXP=iris_mlp", f"SEEDS={seeds}", f"JOBS={jobs}"]
    command.append(f"ARGS=--runs_dir {runs} --trainer.enable_progress_bar false {args}")
    done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    (folder,) = set((runs / "iris_mlp").glob("group-*")) - before
    print(done.stdout[done.stdout.rfind("iris_mlp:") :].strip() if "iris_mlp:" in done.stdout else "")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        a = group(runs, args.seeds, args.jobs)
        b = group(runs, args.seeds, args.jobs, "--model.net.init_args.dropout 0.3")
        subprocess.run(
            ["make", "--no-print-directory", "compare", f"A={a}", f"B={b}"], cwd=ROOT, env=ENV, check=True
        )


if __name__ == "__main__":
    main()
