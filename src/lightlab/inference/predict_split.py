"""``predict``: class probabilities for each input, written to ``predictions.csv`` in the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer

from lightlab.data.base import LabDataModule
from lightlab.inference.predictions_csv import write_predictions
from lightlab.run.folder import RunFolder


def predict_to_csv(
    trainer: Trainer, model: LightningModule, datamodule: LabDataModule, run_dir: Path, **kwargs: Any
) -> Path | None:
    """Run ``trainer.predict`` and write ``predictions.csv``; the path, or None on other ranks."""
    outputs = trainer.predict(model, datamodule=datamodule, **kwargs)
    if not trainer.is_global_zero or not outputs:
        return None
    probs = torch.cat([batch["probs"] for batch in outputs]).float().cpu()
    path = write_predictions(
        RunFolder(run_dir).predictions, datamodule.predict_inputs(), probs.tolist(), datamodule.class_names
    )
    print(f"{len(probs)} predictions: {path}")
    return path
