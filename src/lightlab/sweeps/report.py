"""What a sweep leaves in its folder: a table of the trials, ``best.yaml`` and Optuna's plots."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table

from lightlab.atomic import atomic_write_text
from lightlab.run.folder import RunFolder


def trials_table(study: optuna.Study, metric: str) -> Table:
    """One row per trial: number, state, each parameter, the value, epochs and folder; best first."""
    trials = study.get_trials(deepcopy=False)
    keys = sorted({key for trial in trials for key in trial.params})
    table = Table(
        title=f"{study.study_name}: {len(trials)} trials, {metric} ({study.direction.name.lower()})"
    )
    for column in ["trial", "state", *(k.rsplit(".", 1)[-1] for k in keys), metric, "epochs", "folder"]:
        table.add_column(column, overflow="fold")
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1

    def order(trial: optuna.trial.FrozenTrial) -> tuple[int, float, int]:
        return (trial.value is None, sign * trial.value if trial.value is not None else 0.0, trial.number)

    for trial in sorted(trials, key=order):
        params = [_short(trial.params.get(key)) for key in keys]
        value = f"{trial.value:.4f}" if trial.value is not None else "-"
        epochs = trial.user_attrs.get("epochs")
        folder = Path(str(trial.user_attrs.get("run_dir", "-"))).name
        table.add_row(str(trial.number), trial.state.name.lower(), *params, value, str(epochs or "-"), folder)
    return table


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def save_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """``optimization_history.png`` and, with two or more complete trials, ``param_importances.png``."""
    written = []
    plots = [("optimization_history.png", optuna.visualization.matplotlib.plot_optimization_history)]
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= 2:
        plots.append(("param_importances.png", optuna.visualization.matplotlib.plot_param_importances))
    for name, plot in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the matplotlib backend is marked experimental
            try:
                axes = plot(study)
            except (ValueError, RuntimeError):
                continue  # e.g. importances of parameters that never varied
        figure = axes.figure
        figure.set_size_inches(7, 4.5)
        figure.tight_layout()
        figure.savefig(folder / name, dpi=100)
        plt.close(figure)
        written.append(folder / name)
    return written


def report(study: optuna.Study, folder: Path, metric: str) -> None:
    """Print the table; write ``best.yaml`` (the best trial's config) and the plots into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    console = Console()
    Console(width=max(console.width, 140)).print(trials_table(study, metric))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        print("no trial has completed yet")
        return
    best = study.best_trial
    best_dir = Path(best.user_attrs["run_dir"])
    # Atomic: several workers of one study may each finish with this report.
    atomic_write_text(folder / "best.yaml", RunFolder(best_dir).config.read_text())
    save_plots(study, folder)
    print(f"best: trial {best.number}, {metric} = {best.value:.4f}, {best_dir}")
    print(f"rerun it: python -m lightlab fit --config {folder / 'best.yaml'}")
