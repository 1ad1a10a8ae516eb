"""The input preprocessing a pretrained image net was trained with, declared by the net and
applied by the image DataModule: the one place its size and mean/std come from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import v2 as T


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize the shorter side to ``resize``, cut the centre ``crop`` square, scale to [0, 1],
    normalise with ``mean``/``std`` per RGB channel (torchvision's ``ImageClassification``)."""

    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"

    @classmethod
    def of_weights(cls, weights: Any) -> ImagePreprocessing:
        """Read off a torchvision weights entry's own ``transforms()``."""
        transform = weights.transforms()
        return cls(
            resize=int(transform.resize_size[0]),
            crop=int(transform.crop_size[0]),
            mean=tuple(transform.mean),
            std=tuple(transform.std),
            interpolation=InterpolationMode(transform.interpolation).value,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImagePreprocessing:
        return cls(**{**values, "mean": tuple(values["mean"]), "std": tuple(values["std"])})

    def transform(self, augment: bool = False) -> T.Compose:
        """PIL image in (resized and cropped by Pillow, as ``input_encoding`` does), normalised
        ``(3, crop, crop)`` float tensor out; ``augment`` draws a random resized crop and flip instead
        of the centre crop (for training)."""
        mode = InterpolationMode(self.interpolation)
        if augment:
            crop = T.RandomResizedCrop(self.crop, interpolation=mode, antialias=True)
            steps = [crop, T.RandomHorizontalFlip()]
        else:
            steps = [T.Resize(self.resize, interpolation=mode, antialias=True), T.CenterCrop(self.crop)]
        return T.Compose(
            [*steps, T.ToImage(), T.ToDtype(torch.float32, scale=True), T.Normalize(self.mean, self.std)]
        )


@runtime_checkable
class DeclaresImagePreprocessing(Protocol):
    """A net that needs its inputs prepared its own way (a pretrained one), or None for the data's own."""

    def image_preprocessing(self) -> ImagePreprocessing | None: ...
