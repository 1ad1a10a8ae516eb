"""The template's own start-up: a ``fast_dev_run`` of ``iris_mlp`` against merely importing what
it stands on.

Two commands, each a fresh Python process, run interleaved (A B A B …) ``--repeats`` times:

- imports: ``python -c "import lightning, torchvision, torchmetrics, rich"``;
- template: ``python -m lightlab fit --config experiments/iris_mlp.yaml --trainer.fast_dev_run true``
  (one training and one validation batch, through every default callback and logger).

The template's own start-up is the median of the per-pair differences (with their range).
``--profile`` instead writes ``python -X importtime`` of the template command to
``startup-imports.txt`` and prints the slowest imports it adds to the bare ones.

    python benchmarks/bench_startup.py [--repeats 7] [--profile]
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
IMPORTS = [sys.executable, "-c", "import lightning, torchvision, torchmetrics, rich"]


def template_command(runs_dir: str) -> list[str]:
    config = str(ROOT / "experiments" / "iris_mlp.yaml")
    fit = ["-m", "lightlab", "fit", "--config", config, "--trainer.fast_dev_run", "true"]
    return [sys.executable, *fit, "--runs_dir", runs_dir]


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, check=True, capture_output=True, cwd=ROOT, env={**os.environ, "WANDB_SILENT": "true"}
    )
    return time.perf_counter() - start


def import_times(command: list[str]) -> dict[str, float]:
    """Cumulative import time in seconds of each top-level package ``command`` imports."""
    result = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True, cwd=ROOT, check=True
    )
    times: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if cumulative.isdigit() and not name.startswith(" ") and "." not in name:
            times[name] = times.get(name, 0.0) + int(cumulative) / 1e6
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs_dir:
        if args.profile:
            bare, template = import_times(IMPORTS), import_times(template_command(runs_dir))
            added = sorted(((t, n) for n, t in template.items() if n not in bare), reverse=True)[:15]
            for taken, name in added:
                print(f"  {name:30s} {taken:6.3f} s")
            return
        seconds(IMPORTS), seconds(template_command(runs_dir))  # warm the file cache
        pairs = [(seconds(IMPORTS), seconds(template_command(runs_dir))) for _ in range(args.repeats)]
    bare = statistics.median(p[0] for p in pairs)
    total = statistics.median(p[1] for p in pairs)
    own = [t - b for b, t in pairs]
    print(f"imports only: {bare:.2f} s, fast_dev_run: {total:.2f} s (medians of {args.repeats} pairs)")
    print(
        f"the template's own start-up: {statistics.median(own):.2f} s "
        f"(range {min(own):.2f}-{max(own):.2f}; goal <= 0.5 s)"
    )


if __name__ == "__main__":
    main()
