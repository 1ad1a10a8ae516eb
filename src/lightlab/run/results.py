"""``python -m lightlab results [--experiment NAME] [--expand]``: one table comparing runs.

Each run folder under ``runs/<experiment>/`` gives a row from its ``summary.json`` and
``config.yaml``: status, the hyperparameters that differ among the listed runs (dotted keys;
what differs by construction, such as paths, a group member's seed and unset switches, is left
out), the best monitored value, test accuracy and F1, epochs, fit time, training samples/s and
peak memory, sorted best first by the monitored metric (``--sort COLUMN``: by another column). A
group folder (seeds, folds) is one row from its ``group.json``, each value the mean ± std over its
completed runs (n); ``--expand`` lists its runs instead. The table is printed and written as
``results.csv`` and ``results.md`` next to the runs it lists, with every column; the terminal
shows what fits its width (``run/results_view.py``) and ``--wide`` all of it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from lightlab.atomic import atomic_write_text
from lightlab.errors import CommandParser, UserError, command
from lightlab.run.folder import RunFolder
from lightlab.run.groups import GroupFolder, experiment_folder, find_groups, mean_pm_std
from lightlab.run.resolved import checkpoint_monitor
from lightlab.run.results_view import print_results, significant
from lightlab.run.summary import read_summary, status_of

Loader = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)  # libyaml when present: 1 000 configs in well under 2 s
# Keys that name places or plumbing rather than choices that change a result.
NOT_HYPERPARAMETERS = (
    "trainer.logger",
    "trainer.callbacks",
    "trainer.default_root_dir",
    "runs_dir",
    "experiment",
    "save_last_every.dirpath",
    "ckpt_path",
)
# Columns from summary.json's speed record, by the summary key each shows.
SPEED_COLUMNS = {"samples/s": "samples_per_second", "peak MB": "peak_memory_mb"}
# Columns where a higher value is the better one (--sort puts it first).
HIGHER_FIRST = ("test acc", "test f1", "samples/s")
# What a group's members differ in by construction: the group's row and the run's name say it.
SET_BY_THE_GROUP = ("seed_everything", "data.fold")


@dataclass
class Run:
    """One run folder as the table shows it."""

    folder: Path
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    mode: str = "min"
    group: dict[str, Any] | None = None  # a group's record: the row shows its statistics


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """Nested config as dotted keys without ``init_args``: ``{"model.net.hidden_sizes": "[32, 32]"}``.
    Unset values (None) are left out, so a switch left unset does not differ from a missing one."""
    if node is None:
        return {}
    if isinstance(node, dict):
        flat: dict[str, str] = {}
        for key, value in node.items():
            dotted = prefix if key == "init_args" else f"{prefix}.{key}" if prefix else str(key)
            if not dotted.startswith(NOT_HYPERPARAMETERS):
                flat.update(flatten(value, dotted))
        return flat
    return {prefix: json.dumps(node) if isinstance(node, list | dict) else str(node)}


def read_run(folder: Path, in_group: bool = False) -> Run:
    summary, config_path = read_summary(folder) or {}, RunFolder(folder).config
    config = yaml.load(config_path.read_text(), Loader=Loader) if config_path.is_file() else {}
    status = status_of(folder).value
    settings = flatten(config or {})
    if in_group:
        settings = {key: value for key, value in settings.items() if key not in SET_BY_THE_GROUP}
    return Run(folder, status, summary, settings, checkpoint_monitor(config or {})[1])


def read_group(group: GroupFolder) -> Run:
    record = group.read()
    config = record.get("config") or {}
    summary = {
        "best_score": (record.get("best_score") or {}).get("mean"),
        "fit_seconds": record.get("fit_seconds"),
    }
    status = record.get("status", "running")
    return Run(group.path, status, summary, flatten(config), record.get("mode", "min"), record)


def find_runs(runs_dir: Path, experiment: str | None, expand: bool = False) -> list[Run]:
    if experiment:
        parents = [runs_dir / experiment]
        if not parents[0].is_dir():
            known = sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
            choices = ", ".join(known) or "none"
            raise UserError(f"no runs of {experiment!r} in {runs_dir} (experiments with runs: {choices})")
    else:
        parents = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    # A sweep's trials are run folders one level down: runs/<exp>/sweep-<space>/trial-NNN/.
    entries = [f for parent in parents for f in sorted(parent.iterdir())]
    entries += [t for f in entries if f.name.startswith("sweep-") and f.is_dir() for t in sorted(f.iterdir())]
    groups = [group for parent in parents for group in find_groups(parent)]
    members = [member for group in groups for member in group.member_folders()] if expand else []
    folders = [f for f in entries if RunFolder(f).is_run()]
    if not folders and not groups:
        raise UserError(f"no run folders under {runs_dir}; train one with make train EXP=<name>")
    listed = [read_run(folder) for folder in folders]
    listed += [read_run(member, in_group=True) for member in members if RunFolder(member).is_run()]
    return listed + ([] if expand else [read_group(g) for g in groups])


def differing_keys(runs: list[Run]) -> list[str]:
    """The dotted keys whose values are not the same in every listed run."""
    keys = sorted({key for run in runs for key in run.settings})
    return [key for key in keys if len({run.settings.get(key, "-") for run in runs}) > 1]


def rows(runs: list[Run], sort_by: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows, best monitored value first (or by the column ``sort_by``); runs without
    one last."""
    varying = differing_keys(runs)

    def order(run: Run) -> tuple[int, float]:
        score = run.summary.get("best_score")
        if score is None:
            return (1, 0.0)
        return (0, score if run.mode == "min" else -score)

    header = ["run", "status", *varying, "best", "test acc", "test f1", "epochs", "fit s", *SPEED_COLUMNS]
    table = []
    for run in sorted(runs, key=order):
        fit_seconds = run.summary.get("fit_seconds")
        table.append(
            [
                run_name(run),
                run.status,
                *[run.settings.get(key, "-") for key in varying],
                *result_cells(run),
                f"{fit_seconds:.0f}" if fit_seconds is not None else "-",
                *speed_cells(run),
            ]
        )
    if sort_by is not None:
        table = sorted_by(header, table, sort_by)
    return header, table


def speed_cells(run: Run) -> list[str]:
    """A run's training samples/s and peak memory in MB (``callbacks/speed.py``); a group shows none."""
    speed = run.summary.get("speed") or {}
    return [
        f"{speed[key]:.0f}" if isinstance(speed.get(key), int | float) else "-"
        for key in SPEED_COLUMNS.values()
    ]


def sorted_by(header: list[str], table: list[list[str]], column: str) -> list[list[str]]:
    """Rows ordered by ``column``, best first (higher accuracy and samples/s, lower time and memory),
    rows without a value last."""
    if column not in header:
        raise UserError(f"--sort {column!r} is no column; choose one of: {', '.join(header)}")
    index, descending = header.index(column), column in HIGHER_FIRST

    def key(line: list[str]) -> tuple[int, float | str]:
        cell = line[index].split(" ", 1)[0]  # a group's "mean ± std (n)" sorts by its mean
        if cell == "-":
            return (2, "")
        try:
            return (0, -float(cell) if descending else float(cell))
        except ValueError:
            return (1, cell)  # a setting's text, alphabetically after the numbers

    return sorted(table, key=key)


def run_name(run: Run) -> str:
    """``<experiment>/<folder>``, the folders between them included (a sweep's, a group's)."""
    above = experiment_folder(run.folder)
    name = f"{above.name}/{run.folder.resolve().relative_to(above)}"
    return f"{name} ({len(run.group.get('completed') or [])} runs)" if run.group is not None else name


def result_cells(run: Run) -> list[str]:
    """best, test acc, test f1 and epochs: a run's values, or a group's mean ± std (n)."""
    if run.group is not None:
        stats = run.group.get("metrics") or {}
        best = run.group.get("best_score")
        cells = [best, stats.get("test/acc"), stats.get("test/f1")]
        return [mean_pm_std(cell) if cell else "-" for cell in cells] + ["-"]
    test = run.summary.get("test") or {}
    best = run.summary.get("best_score")
    return [
        f"{best:.4f}" if best is not None else "-",
        f"{test['test/acc']:.4f}" if "test/acc" in test else "-",
        f"{test['test/f1']:.4f}" if "test/f1" in test else "-",
        str(run.summary.get("epochs", "-")),
    ]


def as_csv(header: list[str], table: list[list[str]]) -> str:
    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *table])
    return text.getvalue()


def as_markdown(header: list[str], table: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *[[significant(cell) for cell in line] for line in table]]
    return "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |\n" for line in lines)


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default=None, help="only this experiment's runs")
    parser.add_argument("--runs_dir", "--runs-dir", type=Path, default=Path("runs"), help="default: runs")
    parser.add_argument(
        "--expand", action="store_true", help="a group's runs, each a row, instead of the group"
    )
    parser.add_argument(
        "--wide", action="store_true", help="every differing setting, however wide the table gets"
    )
    parser.add_argument(
        "--sort", default=None, metavar="COLUMN", help="order by this column, best first (e.g. samples/s)"
    )
    args = parser.parse_args(argv)
    runs = find_runs(args.runs_dir, args.experiment, args.expand)
    header, table = rows(runs, args.sort)
    where = args.runs_dir / args.experiment if args.experiment else args.runs_dir
    atomic_write_text(where / "results.csv", as_csv(header, table))
    atomic_write_text(where / "results.md", as_markdown(header, table))
    groups = sum(run.group is not None for run in runs)
    counted = f"{len(runs) - groups} run(s)" + (f" and {groups} group(s)" if groups else "")
    order = f"by {args.sort}" if args.sort else "by the monitored metric"
    print_results(header, table, f"{counted}, best first {order}", Console(), args.wide)
    print(f"also written: {where / 'results.csv'}, {where / 'results.md'}")


if __name__ == "__main__":
    main()
