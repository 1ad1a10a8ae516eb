"""A synthetic image-folder dataset of shapes, generated offline so image experiments run anywhere."""

import math
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lightlab.data.image_folder import ImageFolderDataModule
from lightlab.ranges import FoldCount, NonNegativeInt, PositiveInt, Seed

SHAPES = ("circle", "square", "triangle", "cross")


def _draw(
    draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, angle: float, colour
) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        return
    if shape == "cross":
        w = max(r / 3, 1.5)
        corners = [(-r, -w), (r, -w), (r, w), (-r, w)]
        for turn in (0.0, math.pi / 2):
            draw.polygon(_rotate(corners, angle + turn, cx, cy), fill=colour)
        return
    sides = 4 if shape == "square" else 3
    corners = [
        (r * math.cos(2 * math.pi * k / sides), r * math.sin(2 * math.pi * k / sides)) for k in range(sides)
    ]
    draw.polygon(_rotate(corners, angle, cx, cy), fill=colour)


def _rotate(points, angle: float, cx: float, cy: float) -> list[tuple[float, float]]:
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]


def generate_shapes(
    root: str | Path, images_per_class: int = 300, image_size: int = 32, seed: int = 0
) -> Path:
    """Write ``root/<shape>/<n>.png``: one shape per image, of random size, position, rotation and
    colour, on a noisy background of another random colour. Same arguments, same files.

    The folder appears complete or not at all: it is written to a temporary sibling and renamed.
    """
    root = Path(root)
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for shape in SHAPES:
            (staging / shape).mkdir()
            for n in range(images_per_class):
                background = noise.integers(0, 256, 3)
                pixels = background + noise.normal(0, 12, (image_size, image_size, 3))
                image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
                colour = tuple(int(v) for v in (background + 128 + noise.integers(-40, 40, 3)) % 256)
                r = rng.uniform(0.22, 0.38) * image_size
                cx, cy = rng.uniform(r, image_size - r), rng.uniform(r, image_size - r)
                _draw(ImageDraw.Draw(image), shape, cx, cy, r, rng.uniform(0, math.pi), colour)
                image.save(staging / shape / f"{n:04d}.png")
        try:
            staging.rename(root)
        except OSError:
            if not root.is_dir():
                raise
            shutil.rmtree(staging)  # another process (a DDP rank) finished the same folder first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


class ShapesDataModule(ImageFolderDataModule):
    """The shapes image folder, generated into ``data_dir`` on first use, then read like any other."""

    def __init__(
        self,
        data_dir: str = "data/shapes",
        images_per_class: PositiveInt = 1000,
        image_size: PositiveInt = 32,
        generator_seed: Seed = 0,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        batch_size: PositiveInt = 64,
        augment: bool = False,
        num_workers: NonNegativeInt | None = None,
        balanced: bool = False,
    ) -> None:
        super().__init__(
            root=data_dir,
            image_size=image_size,
            folds=folds,
            fold=fold,
            batch_size=batch_size,
            augment=augment,
            num_workers=num_workers,
            balanced=balanced,
        )

    def prepare_data(self) -> None:
        hp = self.hparams
        if not Path(hp.data_dir).exists():
            generate_shapes(hp.data_dir, hp.images_per_class, hp.image_size, hp.generator_seed)
