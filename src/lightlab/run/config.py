"""Prepares a parsed run config for its run folder: trainer root, loggers, checkpoint directory,
callbacks switched off by flags.

Works on the ``class_path``/``init_args`` config LightningCLI parsed, before anything is built,
so the loggers and callbacks are created already pointing at the folder. Also writes the files a
DataModule asks for into the folder when training starts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ModelSummary, ProgressBar

from lightlab.atomic import atomic_write_text
from lightlab.cluster.environment import wandb_offline
from lightlab.data.base import LabDataModule
from lightlab.errors import UserError
from lightlab.run.folder import RunFolder, shown
from lightlab.run.trackers import mlflow_settings


def set_init_args(spec: Any, **values: Any) -> None:
    """Set ``init_args`` entries of a parsed ``class_path``/``init_args`` config node."""
    for key, value in values.items():
        spec.init_args[key] = value


def class_name(spec: Any) -> str:
    return str(spec.class_path).rsplit(".", 1)[-1]


def point_loggers_at(
    loggers: Any, run_dir: Path, experiment: str, resuming: bool = False, tags: dict[str, str] | None = None
) -> Any:
    """CSV into the run folder itself, TensorBoard into its ``tensorboard/``, wandb (unless
    disabled) inside it, MLflow under the experiment's name with ``tags``, CSV first.

    Each new run gets its own wandb id, stored in its ``config.yaml``: a resumed run keeps it, so
    wandb continues the same run.
    """
    if not isinstance(loggers, list):
        return loggers
    kept = []
    for logger in one_of_each(loggers):
        if class_name(logger) == "CSVLogger":
            # save_dir/name/version is exactly the run directory.
            set_init_args(logger, save_dir=str(run_dir.parent), name="", version=run_dir.name)
        elif class_name(logger) == "TensorBoardLogger":
            set_init_args(logger, save_dir=str(run_dir), name="", version="tensorboard")
        elif class_name(logger) == "MLFlowLogger":
            configured = logger.init_args.get("tracking_uri")
            set_init_args(logger, **mlflow_settings(run_dir, experiment, tags or {}, resuming, configured))
        elif class_name(logger) == "WandbLogger":
            if os.environ.get("WANDB_MODE") == "disabled":
                continue
            set_init_args(
                logger, save_dir=str(run_dir), offline=wandb_offline(), name=f"{experiment}/{run_dir.name}"
            )
            if not (resuming and logger.init_args.get("id")):
                set_init_args(logger, id=secrets.token_hex(8), version=None)
        kept.append(logger)
    # The first logger decides trainer.log_dir, where the config is saved: keep CSV first.
    return sorted(kept, key=lambda logger: class_name(logger) != "CSVLogger")


def one_of_each(loggers: list[Any]) -> list[Any]:
    """The first logger of each class: a resumed run's saved config already has the loggers it
    started with, and ``LOGGER=`` given again must not log every metric twice."""
    firsts: dict[str, Any] = {}
    for logger in loggers:
        firsts.setdefault(class_name(logger), logger)
    return list(firsts.values())


# A logger's class name -> the packages it can work with, any one of them, and the extra that has one.
LOGGER_PACKAGES = {
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),
    "MLFlowLogger": (("mlflow",), "mlflow"),
}


def check_logger_packages(loggers: Any) -> None:
    """A configured logger whose package is not installed is one line naming the extra, before a
    folder is made (Lightning would fail with a traceback from inside the logger)."""
    for logger in loggers if isinstance(loggers, list) else []:
        packages, extra = LOGGER_PACKAGES.get(class_name(logger), ((), ""))
        if packages and not any(importlib.util.find_spec(name) for name in packages):
            raise UserError(
                f"{class_name(logger)} needs the {packages[0]} package, which is not installed: "
                f"make install EXTRAS=dev,{extra} (and the other extras you use), "
                f"or pip install -e '.[{extra}]'"
            )


def end_wandb_run(exit_code: int, quiet: bool = False) -> None:
    """End the wandb run this process started, if any, so the next run in the same process (a
    sweep's next trial) starts its own instead of logging into this one. ``quiet`` drops wandb's
    closing lines (they would point at a folder about to be removed)."""
    wandb = sys.modules.get("wandb")  # not imported here: a run without the wandb logger never loads it
    if wandb is None or wandb.run is None:
        return
    run = wandb.run
    if quiet:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            wandb.finish(exit_code=exit_code)
        return
    wandb.finish(exit_code=exit_code)
    if run.offline:
        print(f"wandb: offline run; to upload it: wandb sync {shown(run.settings.sync_dir)}")
    elif run.url:
        print(f"wandb: {run.url}")


def point_trainer_at(
    trainer: Any, run_dir: Path, experiment: str, resuming: bool = False, tags: dict[str, str] | None = None
) -> None:
    """The trainer config's root, loggers and checkpoint directory, all in ``run_dir``; ``tags``
    (``trackers.run_tags``) for the trackers that take them."""
    trainer.default_root_dir = str(run_dir)
    trainer.logger = point_loggers_at(trainer.logger, run_dir, experiment, resuming, tags)
    # Always this run's folder: a re-run config.yaml still names the earlier run's. ``last.ckpt``
    # has one writer (last_checkpoint.LastCheckpoint); a second would leave a last-v1.ckpt.
    for callback in trainer.callbacks or []:
        if issubclass(load_class(callback), ModelCheckpoint):
            set_init_args(callback, dirpath=str(RunFolder(run_dir).checkpoints), save_last=False)


# A configured callback of this kind is left out when its trainer flag is false.
SWITCHED_OFF_BY = {"enable_progress_bar": ProgressBar, "enable_model_summary": ModelSummary}


def load_class(spec: Any) -> type:
    """The class a parsed ``class_path`` config node names."""
    module, _, name = str(spec.class_path).rpartition(".")
    return getattr(importlib.import_module(module), name)


def drop_switched_off_callbacks(trainer: Any) -> None:
    """``--trainer.enable_progress_bar/enable_model_summary false`` leave out the configured rich
    callbacks instead of clashing with them."""
    for flag, kind in SWITCHED_OFF_BY.items():
        if trainer.get(flag) is False and trainer.callbacks:
            trainer.callbacks = [c for c in trainer.callbacks if not issubclass(load_class(c), kind)]


def batch_size_line(trainer: Trainer, batch_size: int) -> str:
    """How many samples each optimizer step sees, across processes and accumulation."""
    processes, accumulate = trainer.num_devices * trainer.num_nodes, trainer.accumulate_grad_batches
    return (
        f"batch size: {batch_size} per process x {processes} process(es)"
        + (f" x {accumulate} accumulated" if accumulate > 1 else "")
        + f" = {batch_size * processes * accumulate} samples per optimizer step"
    )


def write_run_files(trainer: Trainer, datamodule: LabDataModule, run_dir: Path) -> None:
    """The files the DataModule asks for (e.g. ``vocab.json``), written by the main process."""
    if not trainer.is_global_zero:
        return
    for name, content in datamodule.run_files().items():
        atomic_write_text(run_dir / name, json.dumps(content))


def experiment_name(config_files: list | None, defaults: Path) -> str:
    """The stem of the first config file given, e.g. ``iris_mlp`` for ``--config experiments/iris_mlp.yaml
    --config experiments/trainer/ddp.yaml``: presets and overrides come after the experiment."""
    for path in config_files or []:
        path = Path(str(path))
        if path.resolve() != defaults.resolve():
            return path.stem
    return "default"
