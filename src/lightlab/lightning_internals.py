"""The one place that uses Lightning's private API, where no public hook does the job.

``tests/test_lightning_internals.py`` checks each use against the installed Lightning, so an
upgrade that changes one fails there, by name, rather than somewhere in a training run.
"""

from __future__ import annotations

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import ModelSummary
from torch import nn
from torchmetrics import Metric, MetricCollection


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

    # Private: RichModelSummary builds its table from the ModelSummary this returns.
    def _summary(self, trainer: Trainer, pl_module: LightningModule) -> ModelSummary:
        return _WithoutMetrics(pl_module, max_depth=self._max_depth)
