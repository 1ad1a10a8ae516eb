"""Callbacks: pictures written into the run directory, and the model summary the defaults configure."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

from lightlab.data.base import LabDataModule
from lightlab.lightning_internals import LayerSummary
from lightlab.plots import save_confusion_matrix, save_sample_grid, spread_batch
from lightlab.tasks import ClassificationTask

__all__ = ["ClassificationPlots", "LayerSummary"]


def class_names(trainer: Trainer, num_classes: int) -> list[str]:
    """The DataModule's class names; indices for a DataModule outside the template's contract."""
    if isinstance(trainer.datamodule, LabDataModule):
        return list(trainer.datamodule.class_names)
    return [str(i) for i in range(num_classes)]


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
        datamodule = trainer.datamodule
        if not trainer.is_global_zero or trainer.fast_dev_run:
            return
        if not isinstance(datamodule, LabDataModule) or datamodule.input_kind != "image":
            return
        batch = spread_batch(datamodule.val_dataloader(), self.samples)
        names = class_names(trainer, pl_module.num_classes)
        labels = [names[i] for i in batch["target"].tolist()]
        save_sample_grid(batch["inputs"], labels, Path(log_dir) / "samples.png")

    def on_test_end(self, trainer: Trainer, pl_module: ClassificationTask) -> None:
        log_dir = trainer.log_dir  # a collective under DDP: read it on every rank
        matrix = pl_module.test_confusion_matrix
        if trainer.is_global_zero and matrix is not None and not trainer.fast_dev_run:
            names = class_names(trainer, pl_module.num_classes)
            save_confusion_matrix(matrix, names, Path(log_dir) / "confusion_matrix.png")
