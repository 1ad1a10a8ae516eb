"""What every predictor of a trained run shares: the ``Predictor`` interface (raw inputs in,
labelled answers and ``predictions.csv`` out) and the file's rows. No torch here: the torch
predictor (``inference.predict``) and the ONNX one (``deploy.onnx_predictor``) both build on it,
so they read inputs, batch them and write the same file the same way."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightlab.atomic import atomic_write_text
from lightlab.errors import UserError


class Predictor:
    """Raw inputs to class probabilities: feature rows (tabular), image paths or PIL images
    (images), strings (text), encoded as in training.

    A predictor gives ``class_names``, ``batch_size``, ``read_inputs`` (what a file or folder
    holds, with a name per input) and ``batch_probabilities`` (one encoded batch's ``(N, classes)``
    probabilities, a tensor or an array); the rest is shared.
    """

    class_names: list[str]
    batch_size: int

    def read_inputs(self, source: Path) -> tuple[Sequence[Any], list[str]]:
        raise NotImplementedError

    def batch_probabilities(self, items: Sequence[Any]) -> Any:
        raise NotImplementedError

    def batches(self, items: Sequence[Any]) -> list[Any]:
        """Each batch's probabilities, ``batch_size`` inputs at a time."""
        if not len(items):
            raise UserError("nothing to predict: no inputs given")
        size = self.batch_size
        return [self.batch_probabilities(items[start : start + size]) for start in range(0, len(items), size)]

    def probabilities(self, items: Sequence[Any]) -> Any:
        """``(len(items), num_classes)`` class probabilities."""
        raise NotImplementedError

    def predict(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        """For each input: the predicted class name, its probability and every class's."""
        return [labelled(p, self.class_names) for p in self.probabilities(items).tolist()]

    def predict_file(self, source: str | Path, out: str | Path) -> tuple[Path, list[list[str]]]:
        """Classify what ``source`` holds (a file or folder) into CSV ``out``; its path and rows
        (header first)."""
        items, names = self.read_inputs(Path(source))
        probs = self.probabilities(items).tolist()
        path = write_predictions(Path(out), names, probs, self.class_names)
        return path, prediction_rows(names, probs, self.class_names)


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
