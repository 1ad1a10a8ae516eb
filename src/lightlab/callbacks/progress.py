"""Training progress that reads wherever it lands: the rich bar in a terminal, one plain line per
epoch in a file or pipe (a SLURM output file, CI, ``| tee``), and that line in ``train.log`` always."""

from __future__ import annotations

import logging
import time
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import RichProgressBarTheme

from lightlab.run import log as run_log

# What an epoch line shows besides the checkpoint's monitor (every metric is in metrics.csv).
SHOWN_METRICS = ("train/loss", "val/loss", "val/acc")
# Lightning's notes; the one that training stopped waits for the last epoch's line.
NOTES = logging.getLogger("lightning.pytorch.utilities.rank_zero")
STOPPED = "`Trainer.fit` stopped"


def monitor_of(trainer: Trainer) -> str:
    """The metric the checkpoint callback ranks by (``val/loss`` without one)."""
    return getattr(trainer.checkpoint_callback, "monitor", None) or "val/loss"


def epoch_line(trainer: Trainer, epoch: int, step: int, seconds: float) -> str:
    """``epoch 3/20  step 24  1.2 s  train/loss 0.5321  val/loss 0.4102  val/acc 0.9333``: the
    epoch's losses and accuracy, and the checkpoint's monitor, to 4 significant digits."""
    monitor = monitor_of(trainer)
    names = [*SHOWN_METRICS, *([monitor] if monitor not in SHOWN_METRICS else [])]
    metrics = trainer.callback_metrics
    shown = "  ".join(f"{name} {float(metrics[name]):.4g}" for name in names if name in metrics)
    total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
    return f"epoch {epoch + 1}{total}  step {step}  {seconds:.1f} s  {shown}"


class ProgressBarOrLines(RichProgressBar):
    """Lightning's rich progress bar when the console is a terminal, drawn on the console only;
    elsewhere one plain line per epoch instead, with no terminal codes. Either way each epoch's
    line goes into the run's ``train.log``."""

    def __init__(self, leave: bool = False) -> None:
        theme = RichProgressBarTheme(metrics_format=".3g")
        super().__init__(leave=leave, theme=theme, console_kwargs={"file": run_log.terminal()})
        self.lines = False
        self.epoch_started = time.monotonic()
        self.finished: tuple[int, int, float] | None = None  # an epoch whose line is not yet out
        self.held_notes: list[logging.LogRecord] = []

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.lines = not run_log.on_terminal()
        if self.lines:
            self.disable()
        NOTES.addFilter(self.after_the_epoch_line)
        super().setup(trainer, pl_module, stage)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        NOTES.removeFilter(self.after_the_epoch_line)
        self.release_notes()
        super().teardown(trainer, pl_module, stage)

    def after_the_epoch_line(self, record: logging.LogRecord) -> bool:
        """Hold the note that training stopped while its epoch's line is still to come."""
        if self.finished is not None and record.getMessage().startswith(STOPPED):
            self.held_notes.append(record)
            return False
        return True

    def release_notes(self) -> None:
        notes, self.held_notes = self.held_notes, []
        for record in notes:
            NOTES.handle(record)

    def get_metrics(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Any]:
        """The checkpoint's monitor only, so the bar stays one line at 80 columns."""
        metrics = super().get_metrics(trainer, pl_module)
        monitor = monitor_of(trainer)
        return {name: value for name, value in metrics.items() if name == monitor}

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.write_finished_epoch(trainer)
        self.epoch_started = time.monotonic()
        super().on_train_epoch_start(trainer, pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        # The task logs the epoch's training metrics after this hook: the line waits for them.
        self.finished = (trainer.current_epoch, trainer.global_step, time.monotonic() - self.epoch_started)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.write_finished_epoch(trainer)
        super().on_train_end(trainer, pl_module)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self.write_finished_epoch(trainer)
        NOTES.removeFilter(self.after_the_epoch_line)  # no teardown follows a failed fit
        self.release_notes()
        super().on_exception(trainer, pl_module, exception)

    def write_finished_epoch(self, trainer: Trainer) -> None:
        if self.finished is None or not trainer.is_global_zero:
            return
        line = epoch_line(trainer, *self.finished) + "\n"
        self.finished = None
        if self.lines:
            print(line, end="", flush=True)  # the console and the log
        else:
            run_log.to_log_only(line)
        self.release_notes()
