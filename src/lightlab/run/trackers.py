"""Where an outside tracker (MLflow) files a run, and the line a run ends with to find it there.

A run is filed under its experiment's name, named by its path under the experiment folder
(``2026-…``, ``group-…/seed-3``, ``sweep-…/trial-2``), and tagged with what it belongs to: its
folder, its group, seed and fold, its sweep. Those tags are what a tracker's UI groups by. A
resumed run continues the tracker's run that carries its folder's tag.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightlab.errors import UserError
from lightlab.run.folder import shown
from lightlab.run.groups import SWEEP_PREFIX, experiment_folder, group_of

# Tag keys, as a tracker's UI lists them.
FOLDER_TAG = "folder"
GROUP_TAG = "group"
SWEEP_TAG = "sweep"
MLFLOW_STORE = "mlflow.db"  # in the runs folder when no MLFLOW_TRACKING_URI names a server


def run_tags(run_dir: Path, seed: int | None, fold: int | None) -> dict[str, str]:
    """The folder (absolute: the key a resumed run is found by), and for a group's member its
    group, seed and fold, for a sweep's trial its sweep."""
    run_dir = Path(run_dir).resolve()
    experiment_dir = experiment_folder(run_dir)
    tags = {FOLDER_TAG: str(run_dir)}
    group = group_of(run_dir)
    if group is not None:
        tags[GROUP_TAG] = str(group.path.relative_to(experiment_dir))
        if seed is not None:
            tags["seed"] = str(seed)
        if fold is not None:
            tags["fold"] = str(fold)
    sweep = next((p for p in run_dir.parents if p.name.startswith(SWEEP_PREFIX)), None)
    if sweep is not None and experiment_dir in sweep.parents:
        tags[SWEEP_TAG] = sweep.name
    return tags


def run_name(run_dir: Path) -> str:
    """The run's path under its experiment folder."""
    run_dir = Path(run_dir).resolve()
    return str(run_dir.relative_to(experiment_folder(run_dir)))


def mlflow_uri(run_dir: Path, configured: str | None = None) -> str:
    """The preset's own ``tracking_uri``, else ``MLFLOW_TRACKING_URI`` (a server), else a SQLite
    store beside the experiments."""
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{experiment_folder(run_dir).parent / MLFLOW_STORE}"


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_mlflow_server(loggers: Any, runs_dir: str | Path) -> None:
    """A configured MLflow server that does not answer is one line before a folder is made (the
    client would retry for minutes, then fail with a traceback)."""
    import urllib.error
    import urllib.request

    for logger in loggers if isinstance(loggers, list) else []:
        if not str(logger.class_path).endswith("MLFlowLogger"):
            continue
        uri = logger.init_args.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI") or ""
        if not is_server(uri):
            continue
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=10):
                pass
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(
                f"the MLflow server at {uri} does not answer ({reason}): start it (mlflow server), "
                f"or unset MLFLOW_TRACKING_URI to log into {shown(Path(runs_dir) / MLFLOW_STORE)}"
            ) from None


def mlflow_settings(
    run_dir: Path, experiment: str, tags: dict[str, str], resuming: bool, configured_uri: str | None = None
) -> dict[str, Any]:
    """The ``MLFlowLogger`` arguments that file this run; a resumed run gets the id of the MLflow
    run that carries its folder's tag, if there is one."""
    uri = mlflow_uri(run_dir, configured_uri)
    settings: dict[str, Any] = {
        "experiment_name": experiment,
        "run_name": run_name(run_dir),
        "tracking_uri": uri,
        "tags": dict(tags),
        "run_id": None,
    }
    if not is_server(uri):
        # Artifacts (log_model: true) beside the store rather than in the working directory.
        settings["artifact_location"] = (experiment_folder(run_dir).parent / "mlartifacts").resolve().as_uri()
    if resuming:
        settings["run_id"] = earlier_mlflow_run(uri, experiment, tags[FOLDER_TAG])
    return settings


def earlier_mlflow_run(uri: str, experiment: str, folder: str) -> str | None:
    """The id of the newest MLflow run of ``experiment`` tagged with ``folder``, or None."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    quoted = folder.replace("'", "\\'")
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.{FOLDER_TAG} = '{quoted}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def tags_as_text(loggers: list[Any]) -> None:
    """MLflow takes text tags; the parser reads a tag like ``seed: "3"`` back as a number."""
    for logger in loggers:
        if type(logger).__name__ == "MLFlowLogger" and logger.tags:
            logger.tags = {key: str(value) for key, value in logger.tags.items()}


def tracker_lines(loggers: list[Any]) -> list[str]:
    """One line per MLflow logger of a finished run: the run's page on a server, or the command
    that opens a local store."""
    lines = []
    for logger in loggers:
        if type(logger).__name__ != "MLFlowLogger" or logger.run_id is None:
            continue
        import mlflow  # the logger pointed mlflow at its store when it started the run

        uri = mlflow.get_tracking_uri()
        if is_server(uri):
            page = f"{uri.rstrip('/')}/#/experiments/{logger.experiment_id}/runs/{logger.run_id}"
            lines.append(f"mlflow: {page}")
        elif uri.startswith("sqlite:///"):
            store = shown(uri.removeprefix("sqlite:///"))
            lines.append(
                f"mlflow: run {logger.run_id}; to browse: .venv/bin/mlflow ui --backend-store-uri sqlite:///{store}"
            )
        else:
            lines.append(f"mlflow: run {logger.run_id} in {uri}")
    return lines
