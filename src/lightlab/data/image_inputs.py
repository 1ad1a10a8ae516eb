"""New images to classify: one file, a folder (searched recursively) or a text file listing paths.

No torch here: the ONNX predictor reads its inputs with it too.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from lightlab.errors import UserError

LIST_SUFFIXES = (".txt", ".lst")
# The suffixes torchvision's ImageFolder reads.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def is_readable_image(path: str | Path) -> bool:
    """Whether PIL can open ``path`` and finds its data intact."""
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


def _listed(list_file: Path) -> list[Path]:
    """The paths a list file names, one per line, relative to the list's own folder."""
    paths = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        path = Path(line.strip())
        path = path if path.is_absolute() else list_file.parent / path
        if not path.is_file():
            raise UserError(f"{list_file}:{number}: image not found: {path}")
        paths.append(path)
    return paths


def find_images(source: Path, on_corrupt: str = "skip") -> list[Path]:
    """The images ``source`` names: itself, every image file under it, or those its lines list.

    A file PIL cannot read is left out with one warning naming it (``on_corrupt="skip"``) or
    stops with an error naming it (``"error"``).
    """
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
        if not paths:
            raise UserError(f"{source} holds no image files ({', '.join(IMG_EXTENSIONS)})")
    elif source.is_file():
        paths = _listed(source) if source.suffix.lower() in LIST_SUFFIXES else [source]
        if not paths:
            raise UserError(f"{source} lists no images; give one path per line")
    else:
        raise UserError(
            f"predict input not found: {source} (give an image, a folder of images or a .txt list)"
        )
    readable = [p for p in paths if is_readable_image(p)]
    broken = [str(p) for p in paths if p not in set(readable)]
    if broken and on_corrupt == "error":
        raise UserError(f"unreadable image: {broken[0]} (remove it, or set on_corrupt: skip)")
    if not readable:
        raise UserError(f"{source}: no readable images ({len(broken)} unreadable file(s))")
    if broken:
        names = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        warnings.warn(f"skipped {len(broken)} unreadable image(s): {names}", stacklevel=2)
    return readable
