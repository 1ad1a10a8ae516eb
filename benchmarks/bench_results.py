"""Time to build the run comparison table from 1 000 run folders (goal: at most 2 s), as single
runs and as 100 seed groups of 10 runs.

Writes 1 000 folders that look like finished iris runs (a real resolved config.yaml, summary.json,
a checkpoint placeholder) with a few settings varied, then times ``make results``'s work —
finding, reading, comparing and writing the table — three times and prints the median. Then the
same 1 000 runs as members of 100 groups (each with the ``group.json`` a group writes), shown as
one row per group and, with ``--expand``, one row per run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from lightlab.run.groups import GroupFolder, summarise
from lightlab.run.results import as_csv, as_markdown, find_runs, rows

ROOT = Path(__file__).resolve().parents[1]


def make_history(runs: Path, count: int, group_size: int = 0) -> None:
    """``count`` finished runs; with ``group_size``, as members of groups of that many seeds."""
    config = yaml.safe_load((ROOT / "experiments" / "iris_mlp.yaml").read_text())
    defaults = yaml.safe_load((ROOT / "src" / "lightlab" / "configs" / "defaults.yaml").read_text())
    config = {**defaults, **config, "trainer": {**defaults["trainer"], **config["trainer"]}}
    for i in range(count):
        folder = runs / "iris_mlp" / f"20260101-{i:06d}"
        if group_size:
            seed = 42 + i % group_size
            folder = runs / "iris_mlp" / f"group-{i // group_size:04d}" / f"seed-{seed}"
            config["seed_everything"] = seed
        (folder / "checkpoints").mkdir(parents=True)
        config["model"]["lr"] = [0.1, 0.01, 0.001][i % 3]
        config["trainer"]["max_epochs"] = 20 + i % 5
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        summary = {
            "status": "completed",
            "best_score": 0.1 + (i % 97) / 100,
            "epochs": 20,
            "fit_seconds": 6.0,
            "test": {"test/acc": 0.9, "test/f1": 0.89},
        }
        (folder / "summary.json").write_text(json.dumps(summary))
        (folder / "checkpoints" / "last.ckpt").write_bytes(b"")
        if group_size and i % group_size == group_size - 1:
            seeds = list(range(42, 42 + group_size))
            group = GroupFolder(folder.parent)
            group.write(
                {
                    "experiment": "iris_mlp",
                    "seeds": seeds,
                    "folds": None,
                    "mode": "min",
                    "members": [{"name": f"seed-{s}", "seed": s, "fold": None} for s in seeds],
                    "config": {**config, "seed_everything": seeds},
                }
            )
            summarise(group)


def time_table(runs: Path, expand: bool = False) -> tuple[float, list[float], int, int]:
    """The median and every time of three builds of the table, its rows and columns."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        header, table = rows(find_runs(runs, "iris_mlp", expand))
        (runs / "results.csv").write_text(as_csv(header, table))
        (runs / "results.md").write_text(as_markdown(header, table))
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, len(table), len(header)


def main() -> None:
    for label, group_size, expand in (
        ("1000 runs", 0, False),
        ("1000 runs in 100 groups", 10, False),
        ("1000 runs in 100 groups, --expand", 10, True),
    ):
        runs = Path(tempfile.mkdtemp()) / "runs"
        try:
            make_history(runs, 1000, group_size)
            median, times, count, columns = time_table(runs, expand)
        finally:
            shutil.rmtree(runs.parent)
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"{label} -> {count} rows, {columns} columns: median {median:.2f} s (runs: {shown}; goal <= 2 s)"
        )


if __name__ == "__main__":
    main()
