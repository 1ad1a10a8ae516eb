"""Library warnings and notices that do not apply to a run of the template, filtered once at start."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lightning.pytorch import Trainer


_DROPPED = (
    "Skipping setting a default `ModelSummary`",  # the defaults configure their own
    "litlogger",  # an advertisement
    "TPU available: False",  # hardware this machine does not have
    "HPU available: False",
    "Loaded model weights from the checkpoint at",  # said by the line before it
    "Restored all states from the checkpoint at",  # a resume says what it continues from
)
_RESTORING = "Restoring states from the checkpoint path at "
_last_restored: list[str] = []


def _drop_lightning_notices(record: logging.LogRecord) -> bool:
    """Lightning's notes that say nothing about this run, and its checkpoint-restore line once per
    checkpoint (validation and test after ``fit`` both restore the best one), with a relative path."""
    message = record.getMessage()
    if any(text in message for text in _DROPPED):
        return False
    if message.startswith(_RESTORING):
        from lightlab.run.folder import shown

        path = message.removeprefix(_RESTORING)
        if _last_restored[-1:] == [path]:
            return False
        _last_restored[:] = [path]
        record.msg, record.args = f"restoring {shown(path)}", ()
    return True


class _Stdout:
    """Whatever ``sys.stdout`` is at the time of writing (it may be replaced after setup)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _one_line_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> str:
    return f"warning: {message}\n"


def silence_known_noise() -> None:
    # A warning is one line, like an error, without the source line Python shows by default.
    warnings.formatwarning = _one_line_warning
    # In-memory loaders need no workers, and the task logs per epoch, not per step.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
    warnings.filterwarnings("ignore", ".*treespec.*LeafSpec.*")
    # Run directories are always fresh; the only other file in one is wandb's folder, so CSVLogger's
    # "directory exists and is not empty" warning (it would remove an old metrics.csv) never applies.
    # A resumed run's metrics.csv is read back and rewritten before the logger starts (run/resume.py).
    warnings.filterwarnings("ignore", ".*Experiment logs directory .* exists and is not empty.*")
    # Only a resumed run finds checkpoints in its folder, and it continues from them.
    warnings.filterwarnings("ignore", ".*Checkpoint directory .* exists and is not empty.*")
    # The CLI rewrites its own command line (``--resume``) before LightningCLI parses it.
    warnings.filterwarnings("ignore", ".*args parameter is intended to run from within Python.*")
    # The task saves its net in hparams on purpose: under the CLI it is stored as its config.
    warnings.filterwarnings(
        "ignore", ".*is an instance of `nn.Module` and is already saved during checkpointing.*"
    )
    # On a machine with SLURM's tools, every run outside a job would be told to use srun; the
    # shipped job script does, and a run outside a job is meant to be one.
    warnings.filterwarnings("ignore", ".*The `srun` command is available on your system but is not used.*")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_drop_lightning_notices)
    # Lightning's SLURM signal handling is replaced by the template's (stop_signals.StopOnSignal).
    logging.getLogger("lightning.pytorch.trainer.connectors.signal_connector").addFilter(
        lambda record: "auto-requeueing enabled" not in record.getMessage()
    )
    # A local MLflow store sets up its tables on first use, with notes; the run's own closing line
    # says where it went.
    for name in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # A server's client prints two "View run/experiment" links as each run ends, twice per run.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    # Lightning's progress notes ("Seed set to 42", "GPU available: …") are information, not
    # errors: on stdout, stderr keeps only warnings and the one-line error of a failed run.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        for handler in logging.getLogger(name).handlers:
            if type(handler) is logging.StreamHandler and not isinstance(handler.stream, _Stdout):
                handler.setStream(_Stdout())


def silence_wandb_notices(trainer: Trainer) -> None:
    """wandb's own lines (a dozen at the start and thirty at the end of every run: the run's
    history drawn in characters) unless ``WANDB_SILENT`` says otherwise; the run ends with one
    line saying where its data is (``run.config.end_wandb_run``). Also wandb's notice that
    ``anonymous`` is deprecated, which Lightning's ``WandbLogger`` passes itself (as None) on every
    run. Set up only for a run with the wandb logger, before it starts wandb: a run without it never
    imports wandb."""
    from lightning.pytorch.loggers import WandbLogger

    if not any(isinstance(logger, WandbLogger) for logger in trainer.loggers):
        return
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    if getattr(wandb.termwarn, "lightlab_filtered", False):
        return
    warn = wandb.termwarn

    def termwarn(string: str, *args: object, **kwargs: object) -> None:
        if "The anonymous setting has no effect" not in string:
            warn(string, *args, **kwargs)

    termwarn.lightlab_filtered = True  # type: ignore[attr-defined]
    wandb.termwarn = termwarn
