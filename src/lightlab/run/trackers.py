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
TRACKING_ENV = "MLFLOW_TRACKING_URI"


def user_tracking_env() -> str | None:
    """The MLflow server (or store) the user named in the environment, if any."""
    return os.environ.get(TRACKING_ENV)


def restore_tracking_env(value: str | None) -> None:
    """``MLFLOW_TRACKING_URI`` as it was before the run: MLflow sets it to the store it used, which
    the next run in this process would take for the user's choice."""
    if value is None:
        os.environ.pop(TRACKING_ENV, None)
    else:
        os.environ[TRACKING_ENV] = value


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


def mlflow_uri(runs_root: Path, configured: str | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` (a server) when set, else the preset's own ``tracking_uri``, else a
    SQLite store in the runs folder. A saved config's store of that name is the one this code
    picked for it: it is picked again, so a moved runs folder or another checkout gets its own."""
    derived = configured and configured.startswith("sqlite:") and configured.endswith("/" + MLFLOW_STORE)
    uri = user_tracking_env() or (None if derived else configured)
    if uri:
        return uri
    return default_store(runs_root)


def default_store(runs_root: Path) -> str:
    return f"sqlite:///{Path(runs_root).resolve() / MLFLOW_STORE}"


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_mlflow_server(loggers: Any, runs_dir: str | Path) -> None:
    """A configured MLflow server that does not answer is one line before a folder is made (the
    client would retry for minutes, then fail with a traceback). A server that answers with an
    HTTP error or a certificate urllib cannot check answered: the MLflow client, with its own
    credentials and TLS settings, is the judge of those."""
    import ssl
    import urllib.error
    import urllib.request

    for logger in loggers if isinstance(loggers, list) else []:
        if not str(logger.class_path).endswith("MLFlowLogger"):
            continue
        uri = mlflow_uri(Path(runs_dir), logger.init_args.get("tracking_uri"))
        if not is_server(uri):
            continue
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=10):
                pass
        except urllib.error.HTTPError:
            continue
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ssl.SSLError):
                continue
            source = "unset MLFLOW_TRACKING_URI" if user_tracking_env() else "drop the logger's tracking_uri"
            raise UserError(
                f"the MLflow server at {uri} does not answer ({reason}): start it (mlflow server), "
                f"or {source} to log into {shown(Path(runs_dir) / MLFLOW_STORE)}"
            ) from None


def mlflow_settings(
    run_dir: Path, experiment: str, tags: dict[str, str], resuming: bool, configured_uri: str | None = None
) -> dict[str, Any]:
    """The ``MLFlowLogger`` arguments that file this run; a resumed run gets the id of the MLflow
    run that carries its folder's tag, if there is one. The experiment is made here, so that
    group members starting side by side (``JOBS=``) do not race to make it."""
    runs_root = experiment_folder(run_dir).parent
    uri = mlflow_uri(runs_root, configured_uri)
    settings: dict[str, Any] = {
        "experiment_name": experiment,
        "run_name": run_name(run_dir),
        "tracking_uri": uri,
        "tags": dict(tags),
        "run_id": None,
        "artifact_location": None,
    }
    if uri == default_store(runs_root):
        # Artifacts (log_model: true) beside the store rather than in the working directory.
        settings["artifact_location"] = (runs_root / "mlartifacts").resolve().as_uri()
    ensure_experiment(uri, experiment, settings["artifact_location"])
    if resuming:
        settings["run_id"] = earlier_mlflow_run(uri, experiment, tags[FOLDER_TAG])
    return settings


def ensure_experiment(uri: str, experiment: str, artifact_location: str | None) -> None:
    """Make the MLflow experiment unless it exists (or another process made it just now)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    if client.get_experiment_by_name(experiment) is not None:
        return
    try:
        client.create_experiment(experiment, artifact_location=artifact_location)
    except MlflowException:
        if client.get_experiment_by_name(experiment) is None:
            raise


def earlier_mlflow_run(uri: str, experiment: str, folder: str) -> str | None:
    """The id of the newest MLflow run of ``experiment`` tagged with ``folder``, or None."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    quoted = f'"{folder}"' if "'" in folder else f"'{folder}'"  # MLflow's filter does not unescape
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.{FOLDER_TAG} = {quoted}",
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
        uri = logger.experiment.tracking_uri
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
