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


def prediction_rows(inputs: list[str], probs: torch.Tensor, class_names: list[str]) -> list[list[str]]:
    """A header and one row per input: the input (or its index), the predicted class name, its
    probability, then every class's probability (``prob_<class>``)."""
    confidence, predicted = probs.max(dim=-1)
    names = class_names or [str(i) for i in range(probs.shape[-1])]
    rows = [["input", "prediction", "probability", *(f"prob_{name}" for name in names)]]
    for row, (index, p, all_p) in enumerate(
        zip(predicted.tolist(), confidence.tolist(), probs.tolist(), strict=True)
    ):
        name = inputs[row] if row < len(inputs) else str(row)
        rows.append([name, names[index], f"{p:.4f}", *(f"{q:.4f}" for q in all_p)])
    return rows


def write_predictions(path: Path, inputs: list[str], probs: torch.Tensor, class_names: list[str]) -> Path:
    """``predictions.csv`` from ``prediction_rows``, written atomically."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(prediction_rows(inputs, probs, class_names))
    return atomic_write_text(path, text.getvalue())


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
