"""PNG pictures of data and results, drawn with matplotlib (headless)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot
import matplotlib.pyplot as plt
import torch
from torch.utils.data import DataLoader, default_collate
from torchmetrics.classification import MulticlassConfusionMatrix

from lightlab.atomic import atomic_write


def spread_batch(loader: DataLoader, count: int) -> dict[str, torch.Tensor]:
    """``count`` samples evenly spaced through the loader's dataset, so every class tends to show."""
    dataset = loader.dataset
    picks = torch.linspace(0, len(dataset) - 1, min(count, len(dataset))).long().tolist()
    return default_collate([dataset[i] for i in picks])


def save_sample_grid(images: torch.Tensor, labels: Sequence[str], path: str | Path, columns: int = 8) -> Path:
    """A grid of ``(N, C, H, W)`` images, each titled with its label; each image is rescaled to 0-1."""
    images = images.detach().float().cpu()
    rows = math.ceil(len(images) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, label in zip(axes.flat, images, labels, strict=False):
        low, high = image.min(), image.max()
        image = (image - low) / (high - low).clamp_min(1e-8)
        if image.shape[0] == 1:
            axis.imshow(image[0], cmap="gray")
        else:
            axis.imshow(image.permute(1, 2, 0))
        axis.set_title(label, fontsize=8)
    figure.tight_layout()
    return _save(figure, path)


def save_confusion_matrix(matrix: torch.Tensor, class_names: Sequence[str], path: str | Path) -> Path:
    """The confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    plotter = MulticlassConfusionMatrix(num_classes=len(class_names))
    figure, _ = plotter.plot(val=matrix.cpu(), labels=list(class_names))
    side = max(4, 0.6 * len(class_names) + 2)
    figure.set_size_inches(side, side)
    figure.set_layout_engine("tight")
    return _save(figure, path)


def save_learning_curves(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Loss and accuracy per epoch, train against val, and the learning rate, from one dict per
    epoch (keys like ``train/loss``, ``val/acc``, ``lr``; a missing key is a gap)."""
    epochs = list(range(len(history)))
    panels = [("loss", "loss"), ("acc", "accuracy")] + (
        [("lr", "learning rate")] if any("lr" in h for h in history) else []
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for axis, (key, title) in zip(axes[0], panels, strict=True):
        for split in ("train", "val") if key != "lr" else ("",):
            name = f"{split}/{key}" if split else key
            values = [h.get(name, float("nan")) for h in history]
            axis.plot(epochs, values, marker="o", markersize=3, label=split or None)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        if key == "lr":
            axis.set_yscale("log")
        else:
            axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def save_class_counts(counts: Mapping[str, Mapping[str, int]], path: str | Path) -> Path:
    """One bar chart per split (``{split: {class name: samples}}``), side by side, each bar
    labelled with its count, so a class that is rare in some split stands out."""
    splits = list(counts)
    names = list(next(iter(counts.values()))) if counts else []
    height = max(2.4, 0.32 * len(names) + 1.2)
    figure, axes = plt.subplots(
        1, len(splits), figsize=(3.6 * len(splits), height), squeeze=False, sharey=True
    )
    for axis, split in zip(axes[0], splits, strict=True):
        values = [counts[split].get(name, 0) for name in names]
        bars = axis.barh(range(len(names)), values, color="tab:blue")
        axis.bar_label(bars, fontsize=7, padding=2)
        axis.set_yticks(range(len(names)), names, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(f"{split} ({sum(values)})")
        axis.set_xlabel("samples")
        axis.margins(x=0.15)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    try:  # a full disk keeps the previous picture whole
        return atomic_write(
            path, lambda handle: figure.savefig(handle, dpi=100, format=path.suffix[1:] or "png")
        )
    finally:
        plt.close(figure)
