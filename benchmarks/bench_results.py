"""Time to build the run comparison table from 1 000 run folders (goal: at most 2 s).

Writes 1 000 folders that look like finished iris runs (a real resolved config.yaml, summary.json,
a checkpoint placeholder) with a few settings varied, then times ``make results``'s work —
finding, reading, comparing and writing the table — three times and prints the median.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from lightlab.run.results import as_csv, as_markdown, find_runs, rows

ROOT = Path(__file__).resolve().parents[1]


def make_history(runs: Path, count: int) -> None:
    config = yaml.safe_load((ROOT / "experiments" / "iris_mlp.yaml").read_text())
    defaults = yaml.safe_load((ROOT / "src" / "lightlab" / "configs" / "defaults.yaml").read_text())
    config = {**defaults, **config, "trainer": {**defaults["trainer"], **config["trainer"]}}
    for i in range(count):
        folder = runs / "iris_mlp" / f"20260101-{i:06d}"
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


def main() -> None:
    runs = Path(tempfile.mkdtemp()) / "runs"
    make_history(runs, 1000)
    times = []
    try:
        for _ in range(3):
            start = time.perf_counter()
            header, table = rows(find_runs(runs, "iris_mlp"))
            (runs / "results.csv").write_text(as_csv(header, table))
            (runs / "results.md").write_text(as_markdown(header, table))
            times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(runs.parent)
    print(
        f"1000 runs -> table of {len(table)} rows, {len(header)} columns: "
        f"median {statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}; goal <= 2 s)"
    )


if __name__ == "__main__":
    main()
