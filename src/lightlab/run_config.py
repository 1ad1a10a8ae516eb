"""Points a parsed run config at its run folder: trainer root, loggers, checkpoint directory.

Works on the ``class_path``/``init_args`` config LightningCLI parsed, before anything is built,
so the loggers and callbacks are created already pointing at the folder. Also writes the files a
DataModule asks for into the folder when training starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer

from lightlab.data.base import LabDataModule
from lightlab.environment import wandb_offline


def set_init_args(spec: Any, **values: Any) -> None:
    """Set ``init_args`` entries of a parsed ``class_path``/``init_args`` config node."""
    for key, value in values.items():
        spec.init_args[key] = value


def class_name(spec: Any) -> str:
    return str(spec.class_path).rsplit(".", 1)[-1]


def point_loggers_at(loggers: Any, run_dir: Path, experiment: str) -> Any:
    """CSV into the run folder itself, wandb (unless disabled) inside it, CSV first."""
    if not isinstance(loggers, list):
        return loggers
    kept = []
    for logger in loggers:
        if class_name(logger) == "CSVLogger":
            # save_dir/name/version is exactly the run directory.
            set_init_args(logger, save_dir=str(run_dir.parent), name="", version=run_dir.name)
        elif class_name(logger) == "WandbLogger":
            if os.environ.get("WANDB_MODE") == "disabled":
                continue
            set_init_args(
                logger, save_dir=str(run_dir), offline=wandb_offline(), name=f"{experiment}/{run_dir.name}"
            )
        kept.append(logger)
    # The first logger decides trainer.log_dir, where the config is saved: keep CSV first.
    return sorted(kept, key=lambda logger: class_name(logger) != "CSVLogger")


def point_trainer_at(trainer: Any, run_dir: Path, experiment: str) -> None:
    """The trainer config's root, loggers and checkpoint directory, all in ``run_dir``."""
    trainer.default_root_dir = str(run_dir)
    trainer.logger = point_loggers_at(trainer.logger, run_dir, experiment)
    # Always this run's folder: a re-run config.yaml still names the earlier run's.
    for callback in trainer.callbacks or []:
        if class_name(callback) == "ModelCheckpoint":
            set_init_args(callback, dirpath=str(run_dir / "checkpoints"))


def write_run_files(trainer: Trainer, datamodule: LabDataModule, run_dir: Path) -> None:
    """The files the DataModule asks for (e.g. ``vocab.json``), written by the main process."""
    if not trainer.is_global_zero:
        return
    for name, content in datamodule.run_files().items():
        (run_dir / name).write_text(json.dumps(content))
