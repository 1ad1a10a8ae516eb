"""A seed group in one process against one fresh ``make train`` per seed.

    python benchmarks/bench_seed_group.py [--seeds 5] [--repeats 3]

A: ``make train EXP=iris_mlp ARGS=--seed_everything=<n>`` once per seed, each its own process.
B: ``make train EXP=iris_mlp SEEDS=<count>``: the seeds one after another in one process.
C: the same with ``JOBS=2`` (two worker processes, one torch thread each).
Default flags (the experiment's 60 epochs, its loggers, checkpoints and plots). Run A B C A B C…;
prints each round's ratios B/A and C/A, their medians with the range, and what one run costs in
B once torch and Lightning are imported (B's time less one start-up, over the seeds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "WANDB_MODE": "offline"}  # what make train does by default: wandb offline


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def make(runs: Path, *variables: str, args: str = "") -> list[str]:
    return [
        "make",
        "--no-print-directory",
        "train",
        "EXP=iris_mlp",
        *variables,
        f"ARGS=--runs_dir {runs} {args}",
    ]


def start_up() -> float:
    """Importing what a training process imports (the CLI, torch, Lightning, torchvision)."""
    return timed([sys.executable, "-c", "import lightlab.cli, lightlab.repeats.group"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seeds = range(42, 42 + args.seeds)
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            runs = Path(folder) / f"round-{repeat}"
            separate = sum(timed(make(runs / "a", args=f"--seed_everything={s}")) for s in seeds)
            grouped = timed(make(runs / "b", f"SEEDS={args.seeds}"))
            parallel = timed(make(runs / "c", f"SEEDS={args.seeds}", "JOBS=2"))
            imports = start_up()
            rounds.append((separate, grouped, parallel, imports))
            print(
                f"round {repeat + 1}: separate {separate:.1f} s, group {grouped:.1f} s "
                f"({grouped / separate:.2f}x), JOBS=2 {parallel:.1f} s ({parallel / separate:.2f}x), "
                f"imports {imports:.1f} s",
                flush=True,
            )
    for label, index in (("group, one process", 1), ("group, JOBS=2", 2)):
        ratios = [r[index] / r[0] for r in rounds]
        print(
            f"{label}: median {statistics.median(ratios):.2f}x of {args.seeds} separate runs "
            f"(range {min(ratios):.2f}-{max(ratios):.2f}, {len(rounds)} rounds)"
        )
    per_run = [(r[1] - r[3]) / args.seeds for r in rounds]
    per_separate = [r[0] / args.seeds for r in rounds]
    imports = statistics.median([r[3] for r in rounds])
    print(
        f"one separate run: median {statistics.median(per_separate):.1f} s; in the group, after one "
        f"start-up (imports {imports:.1f} s): {statistics.median(per_run):.1f} s per run"
    )


if __name__ == "__main__":
    main()
