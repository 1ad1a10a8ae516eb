"""Class probabilities as ``predictions.csv`` rows and as labelled answers (no torch: every
predictor, the torch-free one included, writes the same file)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightlab.atomic import atomic_write_text


def labelled(probs: Sequence[float], class_names: Sequence[str]) -> dict[str, Any]:
    """One input's answer: the predicted class name, its probability and every class's."""
    best = max(range(len(probs)), key=probs.__getitem__)
    return {
        "prediction": class_names[best],
        "probability": float(probs[best]),
        "probabilities": {name: float(p) for name, p in zip(class_names, probs, strict=True)},
    }


def prediction_rows(
    inputs: Sequence[str], probs: Sequence[Sequence[float]], class_names: Sequence[str]
) -> list[list[str]]:
    """A header and one row per input: the input (or its index), the predicted class name, its
    probability, then every class's probability (``prob_<class>``)."""
    names = list(class_names) or [str(i) for i in range(len(probs[0]) if len(probs) else 0)]
    rows = [["input", "prediction", "probability", *(f"prob_{name}" for name in names)]]
    for row, all_p in enumerate(probs):
        all_p = [float(p) for p in all_p]
        best = max(range(len(all_p)), key=all_p.__getitem__)
        name = inputs[row] if row < len(inputs) else str(row)
        rows.append([name, names[best], f"{all_p[best]:.4f}", *(f"{q:.4f}" for q in all_p)])
    return rows


def write_predictions(
    path: Path, inputs: Sequence[str], probs: Sequence[Sequence[float]], class_names: Sequence[str]
) -> Path:
    """``predictions.csv`` from ``prediction_rows``, written atomically."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(prediction_rows(inputs, probs, class_names))
    return atomic_write_text(path, text.getvalue())
