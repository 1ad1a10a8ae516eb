"""Where a labelled image set comes from: class subfolders, or a manifest of ``path,label`` rows.

Both give ``(path, class index)`` samples; ``readable`` then sorts out the files that cannot be
used (missing, unreadable, too large, listed twice), which the DataModule skips with one warning
or refuses, as its ``on_corrupt`` says, and ``ImageList`` decodes the rest.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2 as T

from lightlab.data.image_inputs import image_problem
from lightlab.data.splits import label_order
from lightlab.errors import UserError

Sample = tuple[str, int]
MANIFEST_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}  # None: tab if the line has one, else comma
# What a split column may say, as labelling tools and dataset exports spell it.
SPLIT_VALUES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
MANIFEST_FORM = "rows of path,label[,split], paths relative to the manifest"
MANIFEST_COLUMNS = ("path", "label", "split")


def check_no_symlink_loop(root: str) -> None:
    """A linked folder that leads back to one above it would be read again and again."""
    seen: set[str] = set()
    for folder, _, _ in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            raise UserError(f"{root}: symlink loop at {folder} (it leads back to {real}); remove the link")
        seen.add(real)


def read_class_folder(path: str) -> tuple[list[Sample], list[str]]:
    """``(samples, class names)`` of a folder with one subfolder of images per class."""
    if not Path(path).is_dir():
        raise UserError(f"image folder not found: {path} (it should hold one subfolder per class)")
    check_no_symlink_loop(path)
    try:
        folder = ImageFolder(path)
    except FileNotFoundError as error:
        raise UserError(f"{path}: {error} Each class subfolder needs at least one image.") from None
    return folder.samples, folder.classes


def readable(
    samples: Sequence[Sample], max_pixels: int, on_corrupt: str, known: Sequence[str] = ()
) -> tuple[list[Sample], list[str]]:
    """``(usable samples, the others named with why)``; ``known`` problems (duplicate rows) join
    them. With ``on_corrupt="error"`` the first problem stops the run instead."""
    kept, broken = [], list(known)
    for path, target in samples:
        problem = "missing" if not os.path.isfile(path) else image_problem(path, max_pixels)
        if problem:
            broken.append(path if problem == "unreadable" else f"{path} ({problem})")
            continue
        kept.append((path, target))
    if broken and on_corrupt == "error":
        raise UserError(f"unusable image: {broken[0]} (remove it, or set --data.init_args.on_corrupt skip)")
    return kept, broken


def warn_skipped(broken: Sequence[str]) -> None:
    """One warning naming the unusable files (the first five and a count)."""
    if broken:
        names = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        warnings.warn(f"skipped {len(broken)} unusable image(s): {names}", stacklevel=3)


class ImageList(Dataset):
    """Decodes ``(path, class index)`` pairs with PIL, converts to ``mode`` and applies ``transform``."""

    def __init__(self, samples: Sequence[Sample], mode: str, transform: T.Compose) -> None:
        self.samples, self.mode, self.transform = list(samples), mode, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        path, target = self.samples[index]
        with Image.open(path) as image:
            # RGBA, palette and grayscale files all become the configured channel count.
            inputs = self.transform(image.convert(self.mode))
        return {"inputs": inputs, "target": torch.tensor(target)}


@dataclass(frozen=True)
class Manifest:
    """A manifest's samples, their split (when it has a split column) and class names, and the
    rows that named a file already listed."""

    samples: list[Sample]
    splits: list[str] | None
    class_names: list[str]
    duplicates: list[str]

    def by_split(self) -> dict[str, list[Sample]]:
        """The samples of each split, as the split column assigns them."""
        parts: dict[str, list[Sample]] = {"train": [], "val": [], "test": []}
        for sample, split in zip(self.samples, self.splits or [], strict=True):
            parts[split].append(sample)
        return parts


def _rows(manifest: Path) -> list[tuple[int, list[str]]]:
    """``(line number, cells)`` of every non-blank, non-comment line."""
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{manifest} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    delimiter = MANIFEST_SUFFIXES[manifest.suffix.lower()]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        sep = delimiter or ("\t" if "\t" in line else ",")
        rows.append((number, [cell.strip() for cell in next(csv.reader([line], delimiter=sep))]))
    return rows


def _columns(
    manifest: Path, rows: list[tuple[int, list[str]]], folder: str
) -> tuple[int, int, int | None, bool]:
    """Where path, label and split are (a header names them; without one: in that order) and
    whether the first row is a header."""
    header = [cell.lower() for cell in rows[0][1]] if rows else []
    if "path" in header or "label" in header:
        missing = [name for name in ("path", "label") if name not in header]
        if missing:
            raise UserError(
                f"{manifest}: its header has no '{missing[0]}' column (it has: {', '.join(header)}); "
                "name the columns path,label[,split]"
            )
        ignored = [name for name in header if name not in MANIFEST_COLUMNS]
        if ignored:
            warnings.warn(
                f"{manifest}: ignoring column(s) {', '.join(ignored)} (a manifest reads path, label, split)",
                stacklevel=3,
            )
        split = header.index("split") if "split" in header else None
        return header.index("path"), header.index("label"), split, True
    first_is_file = bool(header) and os.path.isfile(os.path.join(folder, rows[0][1][0]))
    if len(rows) > 1 and not first_is_file and os.path.isfile(os.path.join(folder, rows[1][1][0])):
        raise UserError(
            f"{manifest}:{rows[0][0]}: the first row ({','.join(rows[0][1])}) looks like a header; "
            "name its columns path,label[,split]"
        )
    width = len(rows[0][1]) if rows else 2
    return 0, 1, 2 if width > 2 else None, False


def read_manifest(manifest: str, classes: Sequence[str] | None = None) -> Manifest:
    """The samples ``manifest`` lists (a .csv, .tsv or .txt file), each path under its folder.

    The class names are ``classes`` when given (then every label must be one of them), else the
    labels found, sorted (numerically when they are all integers). A path listed again is left
    out and named among the duplicates.
    """
    source = Path(manifest)
    if not source.is_file():
        raise UserError(f"image manifest not found: {manifest} (give a .csv, .tsv or .txt: {MANIFEST_FORM})")
    if source.suffix.lower() not in MANIFEST_SUFFIXES:
        raise UserError(f"{manifest}: a manifest is a .csv, .tsv or .txt file of {MANIFEST_FORM}")
    rows = _rows(source)
    folder = os.path.normpath(os.path.abspath(source.parent))
    path_at, label_at, split_at, has_header = _columns(source, rows, folder)
    fixed = list(classes) if classes else None
    seen: dict[str, tuple[int, str]] = {}  # path: (line, label)
    columns = "path, label and split" if split_at is not None else "path and label"
    listed: list[tuple[str, str, str | None]] = []
    duplicates = []
    for number, cells in rows[1:] if has_header else rows:
        where = f"{manifest}:{number}"
        if len(cells) <= max(path_at, label_at, split_at or 0):
            raise UserError(f"{where}: the manifest's rows hold {columns}, this one {','.join(cells)!r}")
        cell, label = cells[path_at], cells[label_at]
        if not cell or not label:
            raise UserError(f"{where}: a row needs both a path and a label, got {','.join(cells)!r}")
        path = os.path.normpath(os.path.join(folder, cell))
        if not path.startswith(folder + os.sep):
            raise UserError(f"{where}: {cell} is outside the manifest's folder {folder}; move it there")
        if fixed is not None and label not in fixed:
            raise UserError(f"{where}: label '{label}' is not one of the classes ({', '.join(fixed)})")
        split = None
        if split_at is not None:
            split = SPLIT_VALUES.get(cells[split_at].lower())
            if split is None:
                raise UserError(
                    f"{where}: split '{cells[split_at]}' is not train, val or test (or valid, validation)"
                )
        if path in seen:
            first, first_label = seen[path]
            conflict = f" as {first_label}, which is kept" if first_label != label else ""
            duplicates.append(f"{path} (line {number}, listed already at line {first}{conflict})")
            continue
        seen[path] = (number, label)
        listed.append((path, label, split))
    if not listed:
        raise UserError(f"{manifest} lists no images; give {MANIFEST_FORM}")
    names = fixed or label_order({label for _, label, _ in listed})
    index = {name: i for i, name in enumerate(names)}
    return Manifest(
        samples=[(path, index[label]) for path, label, _ in listed],
        splits=[split for _, _, split in listed] if split_at is not None else None,
        class_names=names,
        duplicates=duplicates,
    )
