"""Callbacks that write pictures into the run directory."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import ModelSummary
from torch import nn
from torchmetrics import Metric, MetricCollection

from lightlab.plots import save_confusion_matrix, save_sample_grid, spread_batch


def class_names(trainer: Trainer, num_classes: int) -> list[str]:
    names = getattr(trainer.datamodule, "class_names", None)
    return list(names) if names else [str(i) for i in range(num_classes)]


class ClassificationPlots(Callback):
    """``samples.png``: a grid of labelled validation images when training starts (image data only);
    ``confusion_matrix.png``: after testing. Only the main process writes them.
    """

    def __init__(self, samples: int = 32) -> None:
        self.samples = samples

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # trainer.log_dir is a collective under DDP: every rank must read it, before any returns.
        # fast_dev_run suppresses logging, and with it the run's log directory.
        log_dir = trainer.log_dir
        if not trainer.is_global_zero or trainer.datamodule is None or trainer.fast_dev_run:
            return
        if len(getattr(trainer.datamodule, "input_shape", ())) != 3:
            return  # not images
        batch = spread_batch(trainer.datamodule.val_dataloader(), self.samples)
        names = class_names(trainer, pl_module.num_classes)
        labels = [names[i] for i in batch["target"].tolist()]
        save_sample_grid(batch["inputs"], labels, Path(log_dir) / "samples.png")

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        log_dir = trainer.log_dir  # a collective under DDP: read it on every rank
        matrix = getattr(pl_module, "test_confusion_matrix", None)
        if trainer.is_global_zero and matrix is not None and not trainer.fast_dev_run:
            names = class_names(trainer, pl_module.num_classes)
            save_confusion_matrix(matrix, names, Path(log_dir) / "confusion_matrix.png")


class _WithoutMetrics(ModelSummary):
    """Lightning's summary table minus torchmetrics modules, which hold no parameters."""

    @property
    def named_modules(self) -> list[tuple[str, nn.Module]]:
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

    def _summary(self, trainer: Trainer, pl_module: LightningModule) -> ModelSummary:
        return _WithoutMetrics(pl_module, max_depth=self._max_depth)
