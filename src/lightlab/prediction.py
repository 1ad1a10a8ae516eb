"""``predict``: class probabilities for each input, written to ``predictions.csv`` in the run folder."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer

from lightlab.atomic import atomic_write_text
from lightlab.data.base import LabDataModule


def write_predictions(path: Path, inputs: list[str], probs: torch.Tensor, class_names: list[str]) -> Path:
    """``predictions.csv``: each input (or its index), the predicted class name and its probability."""
    confidence, predicted = probs.max(dim=-1)
    names = class_names or [str(i) for i in range(probs.shape[-1])]
    rows = io.StringIO(newline="")
    writer = csv.writer(rows)
    writer.writerow(["input", "prediction", "probability"])
    for row, (index, p) in enumerate(zip(predicted.tolist(), confidence.tolist(), strict=True)):
        writer.writerow([inputs[row] if row < len(inputs) else row, names[index], f"{p:.4f}"])
    return atomic_write_text(path, rows.getvalue())


def predict_to_csv(
    trainer: Trainer, model: LightningModule, datamodule: LabDataModule, run_dir: Path, **kwargs: Any
) -> Path | None:
    """Run ``trainer.predict`` and write ``predictions.csv``; the path, or None on other ranks."""
    outputs = trainer.predict(model, datamodule=datamodule, **kwargs)
    if not trainer.is_global_zero or not outputs:
        return None
    probs = torch.cat([batch["probs"] for batch in outputs]).float().cpu()
    path = write_predictions(
        run_dir / "predictions.csv", datamodule.predict_inputs(), probs, datamodule.class_names
    )
    print(f"{len(probs)} predictions: {path}")
    return path
