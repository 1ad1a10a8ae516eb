"""What makes a checkpoint file usable: intact (whole, loadable, its progress recorded), found in a
run folder by name, and fitting the model it is loaded into."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

from lightlab.errors import UserError
from lightlab.run.folder import RunFolder
from lightlab.run.groups import check_is_run
from lightlab.run.summary import read_summary

KEYWORDS = {"best", "last", "hpc", "registry"}  # Lightning's names for checkpoints it finds itself


def check_checkpoint_file(ckpt_path: str | None) -> None:
    """The file exists and is a complete torch archive (a truncated copy has no zip directory)."""
    if not ckpt_path or ckpt_path in KEYWORDS:
        return
    path = Path(ckpt_path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {ckpt_path} (give --ckpt_path an existing .ckpt file)")
    if not zipfile.is_zipfile(path):
        intact = newest_intact_checkpoint(p for p in path.parent.glob("*.ckpt") if p != path)
        offer = f"the newest intact one here is {intact.path}" if intact else "use another one"
        raise UserError(
            f"checkpoint {ckpt_path} is damaged or not a checkpoint (not a complete torch archive, "
            f"{path.stat().st_size} bytes); {offer}"
        )


@dataclass(frozen=True)
class CheckpointProgress:
    """An intact checkpoint file and how far training had got when it was written."""

    path: Path
    epoch: int
    global_step: int


def training_progress(path: Path) -> CheckpointProgress | None:
    """The epoch and step ``path`` holds, or None when it is not an intact checkpoint: a complete
    torch archive (a truncated copy has no zip directory) that loads and records its progress.
    Memory-mapped: the weights are not read."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
        return CheckpointProgress(path, int(saved["epoch"]), int(saved["global_step"]))
    except Exception:  # any way a file fails to load (damaged, not a checkpoint) makes it unusable
        return None


def furthest(found: Iterable[CheckpointProgress | None]) -> CheckpointProgress | None:
    """Of intact checkpoints (None for the others), the one furthest into training (by step, then
    epoch, then the newest file)."""
    intact = [p for p in found if p is not None]
    return max(intact, key=lambda p: (p.global_step, p.epoch, p.path.stat().st_mtime), default=None)


def newest_intact_checkpoint(paths: Iterable[Path]) -> CheckpointProgress | None:
    """Of ``paths``, the intact checkpoint furthest into training."""
    return furthest(training_progress(path) for path in paths)


def best_checkpoint_callback(trainer: Trainer) -> ModelCheckpoint | None:
    """The ``ModelCheckpoint`` that keeps the best checkpoints (the first configured), if any."""
    return next((c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)), None)


def in_run_folder(path: str | Path | None, run_dir: Path) -> str | None:
    """``path`` as a run folder's files store it: relative to the folder, so a moved or copied
    folder still finds its files."""
    if not path:
        return None
    try:
        return str(Path(path).resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path)


def check_checkpoint_fits(ckpt_path: str | None, model: nn.Module) -> None:
    """Every weight in the checkpoint has a place of the same shape in ``model``, and vice versa."""
    if not ckpt_path or ckpt_path in KEYWORDS:
        return
    try:
        saved = torch.load(ckpt_path, map_location="cpu", mmap=True, weights_only=False)["state_dict"]
    except (RuntimeError, KeyError, OSError, EOFError) as error:
        raise UserError(
            f"checkpoint {ckpt_path} cannot be read ({' '.join(str(error).split())[:200]})"
        ) from None
    expected = model.state_dict()
    hint = "was it saved by another experiment? its run folder's config.yaml says which"
    for key, tensor in saved.items():
        if key not in expected:
            raise UserError(f"checkpoint {ckpt_path} holds {key}, which this model has not; {hint}")
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise UserError(
                f"checkpoint {ckpt_path} does not fit this model: {key} is {tuple(tensor.shape)} there but "
                f"{tuple(expected[key].shape)} here; {hint}"
            )
    missing = [key for key in expected if key not in saved]
    if missing:
        raise UserError(f"checkpoint {ckpt_path} lacks {missing[0]} of this model; {hint}")


@dataclass(frozen=True)
class CheckpointOrigin:
    """What a checkpoint was trained on, as far as it says: its run's experiment (when it sits in a
    run folder), its DataModule's class path and data kind, and its net's class path."""

    experiment: str | None
    data_class: str | None
    input_kind: str | None
    net_class: str | None

    def describe(self) -> str:
        data = self.data_class.rsplit(".", 1)[-1] if self.data_class else "unknown"
        kind = f"{self.input_kind} data, " if self.input_kind else ""
        return f"a run of {self.experiment or 'another experiment'} ({kind}{data})"


def _input_kind(class_path: str | None) -> str | None:
    if not class_path:
        return None
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(getattr(importlib.import_module(module), name), "input_kind", None)
    except (ImportError, AttributeError, ValueError):
        return None


def checkpoint_origin(path: Path, saved: dict | None = None) -> CheckpointOrigin:
    """Where ``path`` came from (``saved``: its contents, when already loaded)."""
    if saved is None:
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    data = (saved.get("datamodule_hyper_parameters") or {}).get("_class_path")
    net = (saved.get("hyper_parameters") or {}).get("net")
    net_class = net.get("class_path") if isinstance(net, dict) else None
    run = RunFolder(path.resolve().parent.parent)
    experiment = None
    if path.resolve().parent == run.checkpoints.resolve() and run.config.is_file():
        with contextlib.suppress(yaml.YAMLError, OSError, AttributeError):
            experiment = (yaml.safe_load(run.config.read_text()) or {}).get("experiment")
    return CheckpointOrigin(experiment, data, _input_kind(data), net_class)


def check_checkpoint_kind(ckpt_path: str | None, data_class: str, net_class: str | None = None) -> None:
    """The checkpoint was trained on data of the kind ``data_class`` reads, with a ``net_class``
    net (when given); otherwise one line saying which experiment and data kind it is from."""
    if not ckpt_path or ckpt_path in KEYWORDS:
        return
    try:
        origin = checkpoint_origin(Path(ckpt_path))
    except Exception:  # unreadable: check_checkpoint_fits says so in its words
        return
    here_kind = _input_kind(data_class)
    name = data_class.rsplit(".", 1)[-1]
    if origin.input_kind and here_kind and origin.input_kind != here_kind:
        raise UserError(
            f"checkpoint {ckpt_path} is from {origin.describe()}; this run reads {here_kind} data "
            f"({name}): give a checkpoint of a run of this experiment"
        )
    if net_class and origin.net_class and origin.net_class != net_class:
        theirs, ours = origin.net_class.rsplit(".", 1)[-1], net_class.rsplit(".", 1)[-1]
        raise UserError(
            f"checkpoint {ckpt_path} is from {origin.describe()} with a {theirs} net; this run's net is "
            f"{ours}: give a checkpoint of a run of this experiment"
        )


def find_checkpoint(run_dir: Path, which: str) -> Path:
    """``best`` (the summary's, else the newest ``best-*.ckpt``), ``last``, or a path."""
    folder = RunFolder(run_dir).checkpoints
    if which == "last":
        path = RunFolder(run_dir).last
    elif which == "best":
        # By name inside this folder (summaries written by older versions hold absolute paths).
        named = (read_summary(run_dir) or {}).get("best_checkpoint")
        candidates = sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime)
        if named and (folder / Path(named).name).is_file():
            path = folder / Path(named).name
        else:
            path = candidates[-1] if candidates else folder / "best"
    else:
        path = Path(which)
    if not path.is_file() and which not in ("best", "last"):
        raise UserError(f"checkpoint not found: {path} (give --ckpt best, last or an existing file)")
    if not path.is_file():
        raise UserError(f"no {which} checkpoint in {run_dir} ({path} not found); give --ckpt last or a path")
    return path


def warm_start_source(source: str) -> str:
    """The checkpoint a new run takes its starting weights from (``--model.init_from``, ``INIT=``):
    a run folder's best checkpoint (its last when it kept no best), or a checkpoint file, checked."""
    path = Path(source)
    if path.is_dir():
        check_is_run(path)
        try:
            path = find_checkpoint(path, "best")
        except UserError:  # a run that kept no best checkpoint: its last one
            last = RunFolder(path).last
            if not last.is_file():
                message = f"--model.init_from {source}: the run holds no checkpoint; give a .ckpt file"
                raise UserError(message) from None
            path = last
    elif not path.is_file():
        raise UserError(f"--model.init_from {source}: no such run folder or checkpoint")
    check_checkpoint_file(str(path))
    return str(path)


def add_checkpoint_flag(parser: argparse.ArgumentParser, note: str = "") -> None:
    """``--ckpt best|last|<path>``, as every command that uses a run's checkpoint spells it."""
    parser.add_argument("--ckpt", default="best", help=f"best, last, or a checkpoint path{note}")


def run_folder_files(run_dir: Path, which: str) -> tuple[Path, Path]:
    """A run folder's ``config.yaml`` and its ``which`` checkpoint (``best``, ``last`` or a path),
    both checked: one line naming what is missing or damaged."""
    config = RunFolder(run_dir).config
    check_is_run(run_dir)
    checkpoint = find_checkpoint(run_dir, which)
    check_checkpoint_file(str(checkpoint))
    if which not in ("best", "last"):  # a path given: it must be of this run's kind
        try:
            section = yaml.safe_load(config.read_text()) or {}
        except yaml.YAMLError:
            section = {}
        data, net = (section.get("data") or {}), ((section.get("model") or {}).get("net") or {})
        if isinstance(data, dict) and data.get("class_path"):
            check_checkpoint_kind(str(checkpoint), data["class_path"], net.get("class_path"))
    return config, checkpoint
