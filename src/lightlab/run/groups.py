"""Group folders: one configuration trained several times, ``runs/<experiment>/<group>/<member>/``.

A group holds one ordinary run folder per member (``seed-3``, ``fold-2-seed-3``) and
``group.json``: what the group is (experiment, seeds, folds, the flags every member got), each
member's state, and the statistics of every val and test metric over its completed members. The
file is written when the group starts, so a killed group is recognised and continued. This module
is the one place that spells a group's paths and ``group.json``'s schema; which folder a run
belongs to (``experiment_of``) is answered here for plain runs, sweep trials and group members.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightlab.atomic import atomic_write_text
from lightlab.errors import UserError
from lightlab.run.folder import RunFolder, Status
from lightlab.run.summary import read_summary, status_of

GROUP_FILE = "group.json"
CONFIDENCE = 0.95  # of the interval of each mean
SWEEP_PREFIX = "sweep-"


@dataclass(frozen=True)
class Member:
    """One run of a group: its seed, its fold (None without folds) and its folder's name."""

    seed: int
    fold: int | None = None

    @property
    def name(self) -> str:
        return f"seed-{self.seed}" if self.fold is None else f"fold-{self.fold}-seed-{self.seed}"


@dataclass(frozen=True)
class GroupFolder:
    """Every path of one group folder."""

    path: Path

    @property
    def record(self) -> Path:
        return self.path / GROUP_FILE

    def is_group(self) -> bool:
        return self.record.is_file()

    def member(self, member: Member) -> Path:
        return self.path / member.name

    def read(self) -> dict[str, Any]:
        """``group.json``; a file that cannot be read is an empty record."""
        try:
            record = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def write(self, record: dict[str, Any]) -> Path:
        text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
        return atomic_write_text(self.record, text)

    def members(self) -> list[Member]:
        """The members ``group.json`` plans, in order."""
        return [Member(int(m["seed"]), m.get("fold")) for m in self.read().get("members", [])]

    def member_folders(self) -> list[Path]:
        """The run folders of the planned members that exist."""
        return [path for m in self.members() if RunFolder(path := self.member(m)).is_run()]


def is_group(path: Path) -> bool:
    return GroupFolder(path).is_group()


def group_of(run_dir: Path) -> GroupFolder | None:
    """The group a run folder belongs to, or None for a run of its own."""
    parent = GroupFolder(Path(run_dir).resolve().parent)
    return parent if parent.is_group() else None


def experiment_folder(run_dir: Path) -> Path:
    """``runs/<experiment>`` of a run folder: its parent, or one level up for a sweep's trial or a
    group's member (a group of a sweep's confirmation is two levels deeper)."""
    folder = Path(run_dir).resolve().parent
    while is_group(folder) or folder.name.startswith(SWEEP_PREFIX):
        folder = folder.parent
    return folder


def experiment_of(run_dir: Path) -> str:
    """The experiment a run folder belongs to, by where it lies."""
    return experiment_folder(run_dir).name


def completed_members(group: GroupFolder) -> list[tuple[Member, dict[str, Any]]]:
    """Each planned member whose run completed, with its summary."""
    done = []
    for member in group.members():
        folder = group.member(member)
        if RunFolder(folder).is_run() and status_of(folder) == Status.COMPLETED:
            done.append((member, read_summary(folder) or {}))
    return done


def member_states(group: GroupFolder) -> dict[str, str]:
    """Each planned member's status: a run's own, or ``missing`` before it started."""
    states = {}
    for member in group.members():
        folder = group.member(member)
        states[member.name] = status_of(folder).value if RunFolder(folder).is_run() else "missing"
    return states


def group_metrics(summaries: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Every val and test metric's values over ``summaries``, in order (a metric a run lacks is
    left out of that run's values)."""
    values: dict[str, list[float]] = {}
    for summary in summaries:
        for split in ("val", "test"):
            for name, value in (summary.get(split) or {}).items():
                values.setdefault(name, []).append(float(value))
    return values


def find_groups(experiment_dir: Path) -> list[GroupFolder]:
    """The group folders directly under ``runs/<experiment>`` and in its sweep folders."""
    if not experiment_dir.is_dir():
        return []
    found = []
    for entry in sorted(experiment_dir.iterdir()):
        if is_group(entry):
            found.append(GroupFolder(entry))
        elif entry.name.startswith(SWEEP_PREFIX) and entry.is_dir():
            found += [GroupFolder(inner) for inner in sorted(entry.iterdir()) if is_group(inner)]
    return found


def to_continue(run_dir: Path) -> Path:
    """What ``RESUME=`` should name to continue ``run_dir``: its group when it is a member (the
    group continues it and trains its missing runs), else the run itself."""
    group = group_of(run_dir)
    return group.path if group is not None else run_dir


def check_is_run(run_dir: Path) -> None:
    """One line when ``run_dir`` is not a run folder; a group folder is named as one, with a member
    to give instead."""
    if RunFolder(run_dir).is_run():
        return
    if is_group(run_dir):
        members = GroupFolder(run_dir).member_folders()
        example = f", e.g. {members[0]}" if members else ""
        raise UserError(f"{run_dir} is a group of runs, not a run: give one of its run folders{example}")
    runs = sorted(p for p in run_dir.iterdir() if RunFolder(p).is_run()) if run_dir.is_dir() else []
    if runs:  # an experiment's folder: its newest run is the likely one
        raise UserError(f"{run_dir} is not a run folder but holds runs: give one of them, e.g. {runs[-1]}")
    raise UserError(f"{run_dir} is not a run folder (no config.yaml); give a folder under runs/<experiment>/")


def mean_pm_std(description: dict[str, Any], digits: int = 4) -> str:
    """``0.9533 ± 0.0180 (n=5)``; a single run is its value with ``(n=1)``."""
    text = f"{description['mean']:.{digits}f}"
    if description.get("std") is not None:
        text += f" ± {description['std']:.{digits}f}"
    return f"{text} (n={description['n']})"


def describe(values: list[float]) -> dict[str, Any]:
    """n, mean, standard deviation (n - 1), min, max and the 95 % t interval of the mean (None
    for one value: a single run has no spread to speak of)."""
    import numpy as np
    from scipy import stats  # only where statistics are computed: reading groups needs neither

    sample = np.asarray(values, dtype=float)
    n = len(sample)
    mean = float(sample.mean())
    std = float(sample.std(ddof=1)) if n > 1 else None
    interval = None
    if n > 1:
        if std == 0:
            interval = [mean, mean]
        else:
            low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=std / math.sqrt(n))
            interval = [float(low), float(high)]
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "min": float(sample.min()),
        "max": float(sample.max()),
        "ci95": interval,
    }


def summarise(group: GroupFolder, final: bool = False) -> dict[str, Any]:
    """``group.json`` with each member's status and the statistics over the completed ones,
    written again whenever a member completes. The group is completed when every member is; else
    it is running until the group command ends (``final``), then interrupted."""
    record = group.read()
    done = completed_members(group)
    states = member_states(group)
    values = group_metrics([summary for _, summary in done])
    record["member_status"] = states
    record["completed"] = [member.name for member, _ in done]
    record["metrics"] = {name: describe(sample) for name, sample in sorted(values.items())}
    best = [float(s["best_score"]) for _, s in done if s.get("best_score") is not None]
    record["best_score"] = describe(best) if best else None
    record["fit_seconds"] = round(sum(float(s.get("fit_seconds") or 0) for _, s in done), 2)
    everyone = all(state == Status.COMPLETED.value for state in states.values())
    if everyone:
        record["status"] = Status.COMPLETED.value
    elif final:
        record["status"] = Status.INTERRUPTED.value
    group.write(record)
    return record
