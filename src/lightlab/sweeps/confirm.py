"""A sweep's winner confirmed over seeds (``make sweep … CONFIRM=k SEEDS=3``): the k best trials
are trained again as seed groups, ``<sweep folder>/confirm-trial-NNN/seed-<n>/``, and ``best.yaml``
is the config of the trial with the best mean, not of the luckiest single run. Groups already
complete are kept, so running the sweep again only trains what is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table

from lightlab.atomic import atomic_write_text
from lightlab.errors import UserError
from lightlab.repeats.group import run_members, start_group
from lightlab.repeats.plan import read_seeds
from lightlab.run.folder import RunFolder, shown
from lightlab.run.groups import GroupFolder, mean_pm_std, summarise

CONFIRM_PREFIX = "confirm-trial-"


def best_trials(study: optuna.Study, k: int) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` complete trials with the best values, best first."""
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(complete, key=lambda trial: (sign * trial.value, trial.number))[:k]


def confirm_group(
    experiment: str, folder: Path, trial: optuna.trial.FrozenTrial, flags: list[str], seeds: str
) -> dict[str, Any]:
    """Train (or finish) the trial's seed group; its summarised ``group.json``."""
    stem = f"{CONFIRM_PREFIX}{trial.number:03d}"
    group = GroupFolder(folder / stem)
    if not group.is_group():
        group = start_group(experiment, seeds, None, flags, folder, stem, after_config_seed=True)
    elif (planned := group.read().get("seeds") or []) != read_seeds(seeds, planned[0] if planned else 0):
        raise UserError(
            f"{shown(group.path)} confirms trial {trial.number} over seeds {planned}, not SEEDS={seeds}: "
            "rerun with those seeds, or remove the folder to confirm over others"
        )
    run_members(group, group.members(), [])
    return summarise(group, final=True)


def confirm(
    study: optuna.Study,
    experiment: str,
    folder: Path,
    metric: str,
    k: int,
    seeds: str,
    trial_flags: Any,
) -> None:
    """Confirm the ``k`` best trials over ``seeds`` and write ``best.yaml`` from the best mean.
    ``trial_flags(params)`` gives the flags that train a trial's parameters."""
    chosen = best_trials(study, k)
    if not chosen:
        print("no trial has completed yet: nothing to confirm")
        return
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    rows = []
    for trial in chosen:
        record = confirm_group(experiment, folder, trial, trial_flags(trial.params), seeds)
        rows.append((trial, record))
    scored = [(trial, record) for trial, record in rows if metric in (record.get("metrics") or {})]
    if not scored:
        raise UserError(
            "no confirmation group completed a run; see the errors above, then run the sweep again"
        )
    best_trial, best_record = max(
        scored, key=lambda row: row[1]["metrics"][metric]["mean"] * (1 if maximize else -1)
    )
    table = Table(title=f"{study.study_name}: the {len(rows)} best trials over seeds, {metric}")
    for column in ("trial", "single run", "mean ± std (n)", "group"):
        table.add_column(column, justify="left" if column in ("trial", "group") else "right")
    for trial, record in rows:
        stats = (record.get("metrics") or {}).get(metric)
        mark = " (chosen)" if trial.number == best_trial.number else ""
        table.add_row(
            f"{trial.number}{mark}",
            f"{trial.value:.4f}",
            mean_pm_std(stats) if stats else "-",
            shown(folder / f"{CONFIRM_PREFIX}{trial.number:03d}"),
        )
    Console(width=max(Console().width, 120)).print(table)
    source = RunFolder(Path(best_trial.user_attrs["run_dir"])).config
    atomic_write_text(folder / "best.yaml", source.read_text())
    stats = best_record["metrics"][metric]
    print(f"best on the mean: trial {best_trial.number}, {metric} = {mean_pm_std(stats)} over seeds")
    print(f"rerun it: python -m lightlab fit --config {folder / 'best.yaml'}")
