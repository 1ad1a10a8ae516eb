"""After ``fit``: score the best checkpoint on validation and test, write ``summary.json``, print a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer

from lightlab.callbacks.speed import speed_line
from lightlab.data.base import LabDataModule
from lightlab.run.checkpoints import best_checkpoint_callback
from lightlab.run.folder import Status, shown
from lightlab.run.groups import group_of, summarise
from lightlab.run.summary import (
    git_commit,
    metrics_table,
    plain_numbers,
    print_table,
    summary_record,
    write_summary,
)
from lightlab.tasks import ClassificationTask


def evaluate_best(
    trainer: Trainer, model: ClassificationTask, datamodule: LabDataModule
) -> tuple[str | None, dict[str, dict[str, float]]]:
    """The best checkpoint's path (None: the final weights were used) and its val and test metrics.

    Every process must call this: under DDP the evaluation is distributed.
    """
    checkpoint = best_checkpoint_callback(trainer)
    best = (checkpoint.best_model_path if checkpoint is not None else "") or None
    evaluated = {}
    for split, run in (("val", trainer.validate), ("test", trainer.test)):
        results = run(model, datamodule=datamodule, ckpt_path=best, verbose=False)
        evaluated[split] = plain_numbers(results[0]) if results else {}
    return best, evaluated


def summarize_fit(
    trainer: Trainer,
    model: ClassificationTask,
    datamodule: LabDataModule,
    run_dir: Path,
    facts: dict[str, Any],
) -> Path | None:
    """Evaluate the best checkpoint, then (main process only) write ``summary.json`` with ``facts``
    (experiment, seed, fit time…) and print the metrics table. The summary's path, or None."""
    best, evaluated = evaluate_best(trainer, model, datamodule)
    if not trainer.is_global_zero:
        return None
    confusion = model.test_confusion_matrix
    summary = {
        **summary_record(trainer, run_dir, facts, Status.COMPLETED),
        "git_commit": git_commit(),
        "class_names": list(datamodule.class_names),
        "class_counts": datamodule.class_counts(),
        "confusion_matrix": confusion.tolist() if confusion is not None else None,
        **evaluated,
    }
    path = write_summary(run_dir, summary)
    group = group_of(run_dir)
    if group is not None:  # its statistics stay those of its completed runs, however each ran
        summarise(group)
    title = f"{facts['experiment']}: {'best checkpoint' if best else 'final weights'}"
    print_table(metrics_table(title, evaluated))
    if facts.get("speed"):
        print(speed_line(facts["speed"]))
    print(f"run directory: {shown(run_dir)}  (summary: {path.name})")
    return path
