"""A new run that starts from an earlier checkpoint's net weights (``--model.init_from``, ``INIT=``).

Only the net's weights are taken: the optimizer, the schedule and the epoch count start afresh,
and the loss and metrics are this run's own. A weight whose shape differs here (a new head for
another number of classes) keeps its fresh initialisation and is named in the one line the
run prints; so is a weight this net has and the checkpoint lacks.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightlab.errors import UserError

NET_PREFIX = "net."  # the task keeps its net as ``self.net``
SHOWN = 4  # weights left fresh that the line names


def class_path(net: nn.Module) -> str:
    """``module.Class`` of ``net``."""
    return f"{type(net).__module__}.{type(net).__qualname__}"


def same_class(path: str, net: nn.Module) -> bool:
    """Whether ``path`` (as a config names it, e.g. ``lightlab.nets.MLP``) is ``net``'s class."""
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name) is type(net)
    except (ImportError, AttributeError, ValueError):
        return name == type(net).__qualname__


@dataclass(frozen=True)
class WarmStart:
    """Where a run's starting weights came from and which of its net's weights they filled."""

    checkpoint: str
    loaded: int
    total: int
    skipped: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """As ``summary.json`` and the run's checkpoints keep it."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> WarmStart:
        """As ``record()`` wrote it (keys of other versions are left out)."""
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})

    def line(self) -> str:
        """What the run prints: the checkpoint, how many tensors it took, which it left fresh."""
        text = f"warm start from {self.checkpoint}: {self.loaded} of {self.total} weight tensors taken"
        if self.skipped:
            shown = ", ".join(self.skipped[:SHOWN])
            more = len(self.skipped) - SHOWN
            text += f"; kept fresh: {shown}" + (
                f" and {more} more (summary.json lists them)" if more > 0 else ""
            )
        if self.loaded * 2 < self.total:
            text += "; most did not fit: is the net configured as in the source run's config.yaml?"
        return text


def _source_net(saved: dict[str, Any]) -> str | None:
    net = (saved.get("hyper_parameters") or {}).get("net")
    if isinstance(net, dict):
        return net.get("class_path")
    return class_path(net) if isinstance(net, nn.Module) else None


def warm_start(net: nn.Module, checkpoint: str | Path) -> WarmStart:
    """Copy into ``net`` every weight of ``checkpoint``'s net that has the same name and shape.

    Refused in one line when the checkpoint is not one, its net is of another class, or none of
    its weights fit.
    """
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
        weights = saved["state_dict"]
    except Exception as error:  # any way a file fails to be a checkpoint
        reason = " ".join(str(error).split())[:160]
        raise UserError(
            f"cannot warm-start from {checkpoint}: not a readable checkpoint ({reason})"
        ) from None
    theirs, ours = _source_net(saved), class_path(net)
    if theirs is not None and not same_class(theirs, net):
        raise UserError(
            f"cannot warm-start from {checkpoint}: its net is {theirs.rsplit('.', 1)[-1]}, this run's is "
            f"{ours.rsplit('.', 1)[-1]}; give a run or checkpoint with the same net"
        )
    # Weights and float buffers only: counters such as BatchNorm's num_batches_tracked fit anything.
    source = {
        k[len(NET_PREFIX) :]: v
        for k, v in weights.items()
        if k.startswith(NET_PREFIX) and v.is_floating_point()
    }
    target = {k: v for k, v in net.state_dict().items() if v.is_floating_point()}
    fits = {k: v for k, v in source.items() if k in target and tuple(v.shape) == tuple(target[k].shape)}
    if not fits:
        raise UserError(
            f"cannot warm-start from {checkpoint}: none of its {len(source)} net weights has a name and shape"
            " this net has; configure the net as in the source run's config.yaml"
        )
    skipped = [
        f"{k} {tuple(source[k].shape)} there, {tuple(v.shape)} here" if k in source else f"{k} (not there)"
        for k, v in target.items()
        if k not in fits
    ]
    net.load_state_dict(fits, strict=False)
    return WarmStart(str(checkpoint), len(fits), len(target), skipped)


class WarmStarts:
    """The hooks a task module takes ``init_from`` with (mixed in before ``LightningModule``; the
    task keeps its net as ``self.net`` and sets ``self.warm_start = None`` in ``__init__``)."""

    net: nn.Module
    warm_start: WarmStart | None

    def start_warm(self) -> WarmStart | None:
        """Take ``init_from``'s net weights, once (a run that resumes does not call this); the
        caller prints ``line()`` of what it returns, in the main process."""
        if self.hparams.get("init_from") and self.warm_start is None:
            self.warm_start = warm_start(self.net, self.hparams.init_from)
            return self.warm_start
        return None

    def on_fit_start(self) -> None:
        # Started from Python without the CLI (which warm-starts before fit): not when resuming.
        if self.trainer.ckpt_path is None and (started := self.start_warm()) and self.trainer.is_global_zero:
            print(started.line(), flush=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.warm_start is not None:  # a resumed run's summary still says where it started
            checkpoint["warm_start"] = self.warm_start.record()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "warm_start" in checkpoint:
            self.warm_start = WarmStart.from_record(checkpoint["warm_start"])
