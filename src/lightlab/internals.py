"""The one place that uses Lightning's and torch's private API, where no public hook does the job.

``tests/test_internals.py`` checks each use against the installed Lightning and torch, so an
upgrade that changes one fails there, by name, rather than somewhere in a training run or export.
"""

from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import ModelSummary
from torch import nn
from torchmetrics import Metric, MetricCollection

from lightlab.ranges import SummaryDepth


class _WithoutMetrics(ModelSummary):
    """Lightning's summary table minus torchmetrics modules, which hold no parameters."""

    @property
    def named_modules(self) -> list[tuple[str, nn.Module]]:
        # Private: the summarised model.
        metrics = [n for n, m in self._model.named_modules() if isinstance(m, Metric | MetricCollection)]
        return [
            (name, module)
            for name, module in super().named_modules
            if not any(name == m or name.startswith(f"{m}.") for m in metrics)
        ]


class LayerSummary(RichModelSummary):
    """The rich model summary at the start of training, listing only the net's layers: each one's
    type, parameter count and, given the DataModule's example input, its output shape.
    """

    def __init__(self, max_depth: SummaryDepth = 1, **summarize_kwargs: Any) -> None:
        super().__init__(max_depth=max_depth, **summarize_kwargs)

    # Private: RichModelSummary builds its table from the ModelSummary this returns.
    def _summary(self, trainer: Trainer, pl_module: LightningModule) -> ModelSummary:
        return _WithoutMetrics(pl_module, max_depth=self._max_depth)


def forget_rnn_kernels() -> None:
    """Let the exporter's dynamic-length LSTM/GRU decompositions take effect again.

    The exporter registers them for the duration of each export, but the kernel an operator
    resolved during an earlier export stays cached on it, so a second export in the same process
    unrolled the LSTM over the example's length (a fixed sequence length). Clearing the operators'
    dispatch caches (no public call does it) makes every export resolve the kernels afresh.
    """
    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        op._dispatch_cache.clear()  # Private: the kernels an operator has resolved
