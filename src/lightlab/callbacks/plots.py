"""The pictures written into the run directory, and the model summary the defaults configure."""

import csv
import math
import time
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities.seed import isolate_rng

from lightlab.data.base import LabDataModule
from lightlab.internals import LayerSummary
from lightlab.plots import save_confusion_matrix, save_learning_curves, save_sample_grid, spread_batch
from lightlab.ranges import NonNegativeFloat, PositiveInt
from lightlab.run.folder import RunFolder
from lightlab.tasks import ClassificationTask

__all__ = ["ClassificationPlots", "LayerSummary", "LearningCurves"]


def class_names(trainer: Trainer, num_classes: int) -> list[str]:
    """The DataModule's class names; indices for a DataModule outside the template's contract."""
    if isinstance(trainer.datamodule, LabDataModule):
        return list(trainer.datamodule.class_names)
    return [str(i) for i in range(num_classes)]


class ClassificationPlots(Callback):
    """``samples.png``: a grid of labelled validation images when training starts (image data only);
    ``confusion_matrix.png``: after testing. Only the main process writes them.
    """

    def __init__(self, samples: PositiveInt = 32) -> None:
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
        with isolate_rng():  # drawing the grid must not change what training draws
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


def epoch_history(metrics_csv: Path) -> list[dict[str, float]]:
    """One dict per epoch (``train/…``, ``val/…``, ``lr``) from a run's ``metrics.csv``: the curves
    of the epochs before a resume."""
    history: dict[int, dict[str, float]] = {}
    lr_rows = 0
    with metrics_csv.open(newline="") as file:
        for row in csv.DictReader(file):
            values = {k: float(v) for k, v in row.items() if v not in ("", None) and k.count("/") == 1}
            learning_rates = [float(v) for k, v in row.items() if k.startswith("lr-") and v]
            if row.get("epoch"):
                epoch = int(float(row["epoch"]))
                history.setdefault(epoch, {}).update(
                    {k: v for k, v in values.items() if k.startswith(("train/", "val/"))}
                )
            elif learning_rates:  # logged as each epoch starts, without an epoch number
                history.setdefault(lr_rows, {})["lr"] = learning_rates[0]
                lr_rows += 1
    return [history.get(epoch, {}) for epoch in range(max(history, default=-1) + 1)]


class LearningCurves(Callback):
    """``learning_curves.png``: train and val loss and accuracy and the learning rate per epoch,
    redrawn as epochs end (so a running or crashed run has it too) and when fit ends or fails.
    Drawing takes a few tenths of a second, more than a whole epoch of a small model, so after the
    first epoch it is redrawn at most every ``redraw_seconds``, and never sooner than
    ``DRAW_SHARE`` allows (at most five minutes): the drawing takes at most one per cent of
    training time. Only the main process draws. A resumed run starts from the epochs its
    ``metrics.csv`` already holds.
    """

    # Time between redraws is at least this many times the last drawing's duration, up to
    # MAX_WAIT seconds (a drawing slowed once by a busy disk must not stop the redraws).
    DRAW_SHARE, MAX_WAIT = 100, 300.0

    def __init__(self, redraw_seconds: NonNegativeFloat = 10.0) -> None:
        self.redraw_seconds = redraw_seconds
        self.history: list[dict[str, float]] = []
        self.path: Path | None = None
        self.resumed = False
        self.drawn_at = -math.inf
        self.draw_seconds = 0.0

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        log_dir = trainer.log_dir  # a collective under DDP: read it on every rank
        self.history, self.path = [], Path(log_dir) / "learning_curves.png" if log_dir else None
        self.drawn_at, self.draw_seconds = -math.inf, 0.0
        self.resumed = bool(trainer.ckpt_path) and self.path is not None
        if self.resumed and (RunFolder(self.path.parent).metrics).is_file():
            self.history = epoch_history(RunFolder(self.path.parent).metrics)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # The task logs an epoch's train metrics after the callbacks' on_train_epoch_end, so an
        # epoch is complete here, when the next one starts, and at the end of fit. Right after a
        # resume the previous epoch came complete from metrics.csv.
        if not self.resumed:
            self._record(trainer)
        self.resumed = False
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        self.history = self.history[: trainer.current_epoch]
        self.history.append({"lr": lr} if lr is not None else {})

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._record(trainer, force=True)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if self.history and self.path is not None and trainer.is_global_zero and not trainer.fast_dev_run:
            save_learning_curves(self.history, self.path)

    def _record(self, trainer: Trainer, force: bool = False) -> None:
        if not self.history or self.path is None or trainer.fast_dev_run:
            return
        metrics = {
            k: float(v) for k, v in trainer.callback_metrics.items() if k.count("/") == 1 and v.numel() == 1
        }
        self.history[-1].update({k: v for k, v in metrics.items() if k.startswith(("train/", "val/"))})
        wait = max(self.redraw_seconds, min(self.DRAW_SHARE * self.draw_seconds, self.MAX_WAIT))
        if trainer.is_global_zero and (force or time.monotonic() - self.drawn_at >= wait):
            started = time.monotonic()
            save_learning_curves(self.history, self.path)
            self.drawn_at = time.monotonic()
            self.draw_seconds = self.drawn_at - started
