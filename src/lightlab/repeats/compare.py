"""``python -m lightlab compare <A> <B>`` (``make compare A=… B=…``): is B better than A, or is the
difference seed noise?

A and B are run folders or group folders of one experiment with one monitored metric. For the
monitored metric and every test metric it prints each side's mean ± std (n), B - A with its 95 %
interval, the p-value and a verdict that honours the metric's direction. Sides that share their
seeds (and folds) are paired: a paired t-test, with the exact sign-flip permutation test beside
it for few pairs; otherwise Welch's t-test. A single run on either side allows no conclusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from lightlab.errors import CommandParser, UserError, command
from lightlab.repeats.stats import Difference, compare_paired, compare_unpaired
from lightlab.run.folder import RunFolder, Status, shown
from lightlab.run.groups import GroupFolder, completed_members, describe, experiment_of, is_group, mean_pm_std
from lightlab.run.summary import read_summary, status_of

Key = tuple[int | None, int | None]  # (seed, fold): what pairs a run of A with a run of B


@dataclass
class Side:
    """One side of a comparison: its runs' summaries by seed and fold."""

    path: Path
    experiment: str
    monitor: str
    runs: dict[Key, dict[str, Any]]

    def values(self, metric: str, keys: list[Key] | None = None) -> list[float]:
        chosen = keys if keys is not None else sorted(self.runs, key=_order)
        return [value for key in chosen if (value := metric_value(self.runs[key], metric)) is not None]


def _order(key: Key) -> tuple[int, int]:
    return (key[0] if key[0] is not None else -1, key[1] if key[1] is not None else -1)


def metric_value(summary: dict[str, Any], metric: str) -> float | None:
    split = metric.split("/", 1)[0]
    value = (summary.get(split) or {}).get(metric)
    return float(value) if value is not None else None


def run_fold(run_dir: Path) -> int | None:
    """The fold a run validated on (None without folds), from its config."""
    try:
        config = yaml.safe_load(RunFolder(run_dir).config.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    fold_args = (config.get("data") or {}).get("init_args") or {}
    return fold_args.get("fold") if fold_args.get("folds") else None


def read_side(path: Path, name: str) -> Side:
    """A run folder or a group folder as one side; one line when it is neither or has no result."""
    if is_group(path):
        group = GroupFolder(path)
        record = group.read()
        runs: dict[Key, dict[str, Any]] = {(m.seed, m.fold): s for m, s in completed_members(group)}
        if not runs:
            raise UserError(f"{name}={shown(path)} is a group with no completed run yet; train it first")
        return Side(path, record.get("experiment") or experiment_of(path), record.get("monitor") or "", runs)
    if not path.exists():
        raise UserError(f"{name}={path} does not exist; give runs/<experiment>/<run or group>")
    if not RunFolder(path).is_run():
        raise UserError(
            f"{name}={path} is neither a run folder nor a group folder; give runs/<experiment>/<run or group>"
        )
    summary = read_summary(path) or {}
    if status_of(path) != Status.COMPLETED or not summary.get("val"):
        raise UserError(f"{name}={shown(path)} has not completed (no results in its summary); train it first")
    experiment = summary.get("experiment") or experiment_of(path)
    key = (summary.get("seed"), run_fold(path))
    return Side(path, experiment, summary.get("monitor") or "", {key: summary})


def check_comparable(a: Side, b: Side) -> None:
    """One experiment, one monitor, one kind of validation split, and two different things."""
    same = a.path.resolve() == b.path.resolve()
    inside = a.path.resolve() in b.path.resolve().parents or b.path.resolve() in a.path.resolve().parents
    if same or inside:
        raise UserError("A and B are the same runs (or one holds the other): compare two configurations")
    if a.experiment != b.experiment:
        raise UserError(
            f"A is {a.experiment} and B is {b.experiment}: compare two configurations of one experiment "
            "(its ARGS changed), so both are scored on the same data"
        )
    folds = [any(key[1] is not None for key in side.runs) for side in (a, b)]
    if folds[0] != folds[1]:
        crossed = "A" if folds[0] else "B"
        raise UserError(
            f"{crossed} is cross-validated (FOLDS) and the other is not: their validation splits differ; "
            "compare groups of the same kind"
        )
    if a.monitor != b.monitor:
        raise UserError(
            f"A monitors {a.monitor} and B {b.monitor}: their best checkpoints were chosen differently; "
            "compare runs with the same ModelCheckpoint monitor"
        )


def compare_sides(a: Side, b: Side) -> list[Difference]:
    """The monitored metric, then every test metric both sides have."""
    metrics = [a.monitor]
    test_names = {name for s in (a, b) for summary in s.runs.values() for name in summary.get("test") or {}}
    metrics += sorted(test_names - {a.monitor})
    same_runs = set(a.runs) == set(b.runs)
    results = []
    for metric in metrics:
        # Pairs where both runs logged the metric; without shared seeds or folds, all runs apart.
        shared = [k for k in sorted(a.runs, key=_order) if has(a, k, metric) and has(b, k, metric)]
        if same_runs and len(shared) > 1:
            results.append(compare_paired(metric, a.values(metric, shared), b.values(metric, shared)))
            continue
        left, right = a.values(metric), b.values(metric)
        if left and right:
            results.append(compare_unpaired(metric, left, right))
    return results


def has(side: Side, key: Key, metric: str) -> bool:
    return key in side.runs and metric_value(side.runs[key], metric) is not None


def comparison_table(a: Side, b: Side, results: list[Difference]) -> Table:
    """One row per metric: each side's mean ± std (n), B - A with its interval, p, the verdict."""
    paired = bool(results) and results[0].paired
    folds = any(key[1] is not None for key in a.runs)
    if paired:
        how = f"paired t-test by seed{' and fold' if folds else ''}, exact sign-flip p in brackets"
    else:
        how = "Welch's t-test" if results and results[0].p_value is not None else "no test"
    table = Table(title=f"{a.experiment}: B - A ({how})")
    for column in ("metric", "A", "B", "B - A", "95 % interval", "p", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for result in results:
        sides = [mean_pm_std(describe(s.values(result.metric))) for s in (a, b)]
        low_high = f"[{result.interval[0]:+.4f}, {result.interval[1]:+.4f}]" if result.interval else "-"
        p = "-" if result.p_value is None else f"{result.p_value:.3g}"
        if result.permutation_p is not None:
            p += f" [{result.permutation_p:.3g}]"
        verdict = result.verdict if result.p_value is not None else "no conclusion: a single run"
        table.add_row(result.metric, *sides, f"{result.difference:+.4f}", low_high, p, verdict)
    return table


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", metavar="A", type=Path, help="a run folder or a group folder")
    parser.add_argument("b", metavar="B", type=Path, help="another of the same experiment")
    args = parser.parse_args(argv)
    a, b = read_side(args.a, "A"), read_side(args.b, "B")
    check_comparable(a, b)
    results = compare_sides(a, b)
    console = Console()
    Console(width=max(console.width, 160)).print(comparison_table(a, b, results))
    print(f"A = {shown(a.path)}, B = {shown(b.path)}")
    if min(len(a.runs), len(b.runs)) < 2:
        hint = f"make train EXP={a.experiment} SEEDS=5"
        print(f"a single run has no spread: train each configuration as a group, {hint}")


if __name__ == "__main__":
    main()
