"""LightningDataModules: each knows its sizes (``num_classes`` and the like) and tells the net.

The DataModules are imported on first use, so the torch-free modules of this package (CSV and
input reading and encoding, which the ONNX predictor uses) import without torch. May import
``nets`` (a net's declared preprocessing) and the shared top-level modules; nothing of ``run``,
``tasks`` or the packages above them.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "FashionMNISTDataModule": "lightlab.data.fashion_mnist",
    "ImageFolderDataModule": "lightlab.data.image_folder",
    "IrisDataModule": "lightlab.data.iris",
    "NegationDataModule": "lightlab.data.negation",
    "NumericCsvDataModule": "lightlab.data.numeric_csv",
    "ShapesDataModule": "lightlab.data.shapes",
    "TextDataModule": "lightlab.data.text",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
