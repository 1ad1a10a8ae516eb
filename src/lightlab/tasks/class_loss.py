"""The one rule from a net's logits and the class targets to a loss and the predicted classes,
the class weights that loss may take, and the line a run with a rare class prints."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from lightlab.data.balance import balanced_class_weights, count_classes, imbalance_line
from lightlab.data.base import LabDataModule

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class TaskConfigError(ValueError):
    """The net, the loss and the data do not fit together (e.g. 3 logits for 10 classes)."""


def loss_and_predictions(
    logits: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    loss_fn: LossFunction | None = None,
    weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, predicted classes)``. One logit per class takes cross-entropy; a single logit for
    two classes is binary (BCE with logits). ``loss_fn`` replaces the default loss; ``weight`` (one
    per class) weighs the default one, for a single logit as the positive class's relative weight.
    """
    outputs = logits.shape[-1]
    if outputs not in (1, num_classes) or (outputs == 1 and num_classes != 2):
        raise TaskConfigError(
            f"the net outputs {outputs} logits but the data has {num_classes} classes; give the "
            "net num_classes outputs (or one output for a binary task)"
        )
    if outputs == 1:
        logits, target, preds = logits.squeeze(-1), target.float(), (logits.squeeze(-1) > 0).long()
        default: LossFunction = nn.functional.binary_cross_entropy_with_logits
        if weight is not None:
            pos_weight = weight[1] / weight[0].clamp_min(1e-12)
            default = functools.partial(default, pos_weight=pos_weight.to(logits.dtype))
    else:
        preds = logits.argmax(dim=-1)
        default = nn.functional.cross_entropy
        if weight is not None:
            default = functools.partial(default, weight=weight.to(logits.dtype))
    loss_fn = loss_fn or default
    try:
        return loss_fn(logits, target), preds
    except (ValueError, RuntimeError) as error:
        named = getattr(loss_fn, "func", loss_fn)  # the default loss, weighted, is a partial
        name = getattr(named, "__name__", type(named).__name__)
        raise TaskConfigError(
            f"loss {name} does not fit logits {tuple(logits.shape)} and targets {tuple(target.shape)}: "
            f"{' '.join(str(error).split())}"
        ) from error


def training_class_weights(chosen: str | Sequence[float], datamodule: Any, num_classes: int) -> torch.Tensor:
    """The weight of each class: ``balanced`` from the training split's counts, or the given list."""
    if chosen != "balanced":
        return torch.tensor(list(chosen), dtype=torch.float32)
    targets = datamodule.split_targets("train") if isinstance(datamodule, LabDataModule) else None
    if targets is None:
        raise TaskConfigError(
            f"class_weights 'balanced' needs the training split's class counts, which "
            f"{type(datamodule).__name__} does not give (no split_targets); give one weight a class instead"
        )
    return balanced_class_weights(count_classes(targets, num_classes))


def imbalance_note(datamodule: Any, weighted: bool, own_loss: bool) -> str | None:
    """The line a run with a rare class prints, naming the remedies the data and the task offer
    (class weights only for the default loss, not ``own_loss``), or that both remedies are on;
    None when the classes are balanced enough or one remedy is on."""
    if not isinstance(datamodule, LabDataModule):
        return None
    if weighted and datamodule.balanced:
        return (
            "class balance: class_weights and balanced both favour the rare classes, so they count "
            "twice; keep one of them"
        )
    if weighted or datamodule.balanced:
        return None
    offers_balanced = "balanced" in inspect.signature(type(datamodule).__init__).parameters
    counts = datamodule.class_counts().get("train", {})
    return imbalance_line(counts, offers_balanced, offers_weights=not own_loss)
