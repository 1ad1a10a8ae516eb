"""New images to classify: one file, a folder (searched recursively) or a text file listing paths.

No torch here: the ONNX predictor reads its inputs with it too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from PIL import Image, UnidentifiedImageError

from lightlab.errors import UserError

LIST_SUFFIXES = (".txt", ".lst")
TAKES = "an image, a folder of images or a .txt list of image paths"
# The suffixes torchvision's ImageFolder reads.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


# The most pixels an image may have (Pillow's own default bound, 9459 x 9459): a header that claims
# more is a decompression bomb or a file no classifier needs whole. ``max_image_pixels`` raises it.
MAX_IMAGE_PIXELS = 89_478_485


@contextmanager
def _own_size_check() -> Iterator[None]:
    """Pillow's bound off while this module opens a file: it checks the header's size itself,
    against its own bound, before decoding (Pillow's error is not an OSError and names no file)."""
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _size_problem(image: Image.Image, max_pixels: int) -> str | None:
    if image.width * image.height > max_pixels:
        return f"{image.width}x{image.height} pixels, over the bound of {max_pixels} (max_image_pixels)"
    return None


def image_problem(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> str | None:
    """Why ``path`` cannot be used as an image ("unreadable", or its size past ``max_pixels``
    read from the header alone), or None when PIL can open it and finds its data intact."""
    try:
        with _own_size_check(), Image.open(path) as image:
            too_big = _size_problem(image, max_pixels)
            if too_big:
                return too_big
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "unreadable"
    return None


def open_image(source: str | Path | IO[bytes], name: str, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """``source`` decoded, refused in one line naming ``name`` when it is unreadable or its
    header claims more than ``max_pixels`` (checked before any pixel is decoded)."""
    try:
        with _own_size_check(), Image.open(source) as image:
            too_big = _size_problem(image, max_pixels)
            if too_big:
                raise UserError(f"{name}: {too_big}")
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UserError(f"{name} is not an image Pillow can read ({error})") from None


def _listed(list_file: Path) -> list[Path]:
    """The paths a list file names, one per line, relative to the list's own folder."""
    paths = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        path = Path(line.strip())
        path = path if path.is_absolute() else list_file.parent / path
        if not path.is_file():
            raise UserError(
                f"{list_file}:{number}: image not found: {path} (a list names one image path a line)"
            )
        paths.append(path)
    return paths


def find_images(source: Path, on_corrupt: str = "skip", max_pixels: int = MAX_IMAGE_PIXELS) -> list[Path]:
    """The images ``source`` names: itself, every image file under it, or those its lines list.

    A file PIL cannot read is left out with one warning naming it (``on_corrupt="skip"``) or
    stops with an error naming it (``"error"``).
    """
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
        if not paths:
            raise UserError(f"{source} holds no image files ({', '.join(IMG_EXTENSIONS)})")
    elif source.is_file():
        suffix = source.suffix.lower()
        if suffix not in LIST_SUFFIXES and suffix not in IMG_EXTENSIONS:
            raise UserError(f"{source} is not an image; this run takes {TAKES}")
        paths = _listed(source) if suffix in LIST_SUFFIXES else [source]
        if not paths:
            raise UserError(f"{source} lists no images; give one path per line")
    else:
        raise UserError(f"predict input not found: {source} (this run takes {TAKES})")
    problems = {p: image_problem(p, max_pixels) for p in paths}
    readable = [p for p in paths if problems[p] is None]
    broken = [str(p) if problems[p] == "unreadable" else f"{p} ({problems[p]})" for p in paths if problems[p]]
    if broken and on_corrupt == "error":
        raise UserError(f"unreadable image: {broken[0]} (remove it, or set on_corrupt: skip)")
    if not readable:
        why = broken[0] if len(broken) == 1 else f"{len(broken)} unreadable file(s), e.g. {broken[0]}"
        raise UserError(f"{source}: no readable images ({why})")
    if broken:
        names = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        warnings.warn(f"skipped {len(broken)} unreadable image(s): {names}", stacklevel=2)
    return readable
