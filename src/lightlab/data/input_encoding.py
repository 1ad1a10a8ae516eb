"""How raw inputs become a net's input arrays, in numpy and Pillow only.

A DataModule describes its encoding with one of these classes (``input_encoding()``, built from
what its checkpoint keeps: scaling, image size and mean/std, vocabulary). ``make predict`` encodes
new inputs through it, the ONNX export writes its ``to_dict()`` as ``preprocess.json``, and the
torch-free predictor and the server rebuild it from there with ``input_encoding_from_dict``: one
code path, so every way of predicting prepares an input alike.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from lightlab.data.feature_rows import feature_values, read_feature_rows
from lightlab.data.image_inputs import IMG_EXTENSIONS, MAX_IMAGE_PIXELS, find_images, open_image
from lightlab.data.text_files import read_texts
from lightlab.data.vocab import SimpleTokenizer
from lightlab.errors import UserError

Arrays = dict[str, np.ndarray]

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass
class TabularInputs:
    """Feature rows in ``feature_names`` order (or mappings by name), standardised with the training
    rows' ``mean`` and ``std``."""

    feature_names: list[str]
    mean: list[float]
    std: list[float]
    kind: ClassVar[str] = "tabular"

    def read(self, source: Path) -> tuple[list[list[float]], list[str]]:
        """The feature columns of each row of a CSV (other columns ignored), named ``file:line``."""
        if source.is_dir() or (source.is_file() and source.suffix.lower() != ".csv"):
            what = "a folder" if source.is_dir() else "not a .csv file"
            raise UserError(f"{source} is {what}; this run takes a CSV with columns {self._columns()}")
        return read_feature_rows(source, self.feature_names)

    def encode(self, items: Sequence[Sequence[float] | Mapping[str, float]]) -> Arrays:
        rows = [self._row(item) for item in items]
        features = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(self.feature_names))
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        return {"inputs": (features - mean) / std}

    def from_request(self, value: Any) -> list[float]:
        """A JSON value: a list of numbers, an object by feature name, or a CSV row as a string."""
        if isinstance(value, str):
            value = [cell.strip() for cell in value.split(",")]
        return feature_values("", self._row(value), self.feature_names, fix="send a number for each feature")

    def _row(self, item: Any) -> list[Any]:
        if isinstance(item, Mapping):
            missing = [name for name in self.feature_names if name not in item]
            if missing:
                raise UserError(f"missing feature(s) {', '.join(missing)}; the model takes {self._columns()}")
            return [item[name] for name in self.feature_names]
        if not isinstance(item, Sequence) or isinstance(item, (str, bytes)):
            count = len(self.feature_names)
            raise UserError(f"a tabular input is a list of {count} numbers ({self._columns()})")
        if len(item) != len(self.feature_names):
            raise UserError(
                f"each input needs {len(self.feature_names)} features ({self._columns()}), got {len(item)}"
            )
        return list(item)

    def _columns(self) -> str:
        return ", ".join(self.feature_names)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass
class ImageInputs:
    """Images converted to ``mode`` (``"L"`` or ``"RGB"``), resized by Pillow, scaled to [0, 1] and
    normalised per channel with ``mean``/``std``.

    ``size`` = ``[height, width]`` resizes to exactly that; otherwise ``resize`` sets the shorter
    side (keeping the aspect ratio) and ``crop`` cuts the centre square, as torchvision's
    pretrained-weights transforms do on a PIL image.
    """

    mode: str
    mean: list[float]
    std: list[float]
    size: list[int] | None = None
    resize: int | None = None
    crop: int | None = None
    interpolation: str = "bilinear"
    on_corrupt: str = "skip"
    max_pixels: int = MAX_IMAGE_PIXELS
    kind: ClassVar[str] = "image"

    def read(self, source: Path) -> tuple[list[Path], list[str]]:
        """An image, a folder of images (recursive) or a text file listing image paths."""
        paths = find_images(source, self.on_corrupt, self.max_pixels)
        return paths, [str(p) for p in paths]

    def encode(self, items: Sequence[str | Path | Image.Image]) -> Arrays:
        return {"inputs": np.stack([self._array(self._open(item)) for item in items])}

    def from_request(self, value: Any) -> Image.Image:
        """Image bytes (an upload), or a base64 string (a ``data:image/...;base64,`` URL too)."""
        if isinstance(value, str):
            encoded = value.split(",", 1)[-1] if value.startswith("data:") else value
            try:
                value = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise UserError(
                    "an image input is a file upload or a base64 string, not other text"
                ) from None
        if not isinstance(value, bytes):
            raise UserError("an image input is a file upload or a base64 string")
        return open_image(io.BytesIO(value), "the uploaded image", self.max_pixels).convert(self.mode)

    def _open(self, item: str | Path | Image.Image) -> Image.Image:
        if isinstance(item, Image.Image):
            return item
        return open_image(item, str(item), self.max_pixels)

    def _array(self, image: Image.Image) -> np.ndarray:
        image = image.convert(self.mode)
        resample = RESAMPLING[self.interpolation]
        if self.size is not None:
            height, width = self.size
            if image.size != (width, height):
                image = image.resize((width, height), resample)
        else:
            image = _center_crop(_resize_shorter_side(image, self.resize, resample), self.crop)
        pixels = np.asarray(image, dtype=np.float32) / np.float32(255)
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        mean = np.asarray(self.mean, np.float32)[:, None, None]
        std = np.asarray(self.std, np.float32)[:, None, None]
        return (pixels - mean) / std

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def _resize_shorter_side(image: Image.Image, size: int | None, resample: Image.Resampling) -> Image.Image:
    if size is None:
        return image
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_size = (new_short, new_long) if width <= height else (new_long, new_short)
    return image if new_size == image.size else image.resize(new_size, resample)


def _center_crop(image: Image.Image, crop: int | None) -> Image.Image:
    if crop is None:
        return image
    width, height = image.size
    if crop > width or crop > height:  # pad with black first, as torchvision does
        padded = Image.new(image.mode, (max(width, crop), max(height, crop)))
        padded.paste(image, ((max(width, crop) - width) // 2, (max(height, crop) - height) // 2))
        image, (width, height) = padded, padded.size
    top, left = round((height - crop) / 2.0), round((width - crop) / 2.0)
    return image.crop((left, top, left + crop, top + crop))


@dataclass
class TextInputs:
    """Texts tokenised, cut to ``max_length`` tokens, mapped to vocabulary ids (``<pad>`` 0, ``<unk>``
    1) and padded to the batch's longest; ``lengths`` holds each text's token count."""

    tokens: list[str]
    lowercase: bool = True
    max_length: int | None = None
    text_column: str = "text"
    encoding: str = "utf-8"
    tokenize: Callable[[str], list[str]] | None = field(default=None, repr=False, compare=False)
    kind: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        self.tokenize = self.tokenize or SimpleTokenizer(self.lowercase)
        self._index = {token: i for i, token in enumerate(self.tokens)}

    def read(self, source: Path) -> tuple[list[str], list[str]]:
        """The ``text_column`` of a CSV/TSV/JSONL file, or one text per line; each text is its name."""
        takes = "this run takes a text file (one text per line) or a CSV, TSV or JSONL file of texts"
        if source.is_dir():
            raise UserError(f"{source} is a folder; {takes}")
        if source.suffix.lower() in IMG_EXTENSIONS:
            raise UserError(f"{source} is an image; {takes}")
        texts = read_texts(source, self.text_column, self.encoding)
        return texts, texts

    def ids(self, text: str) -> list[int]:
        """A text's token ids; a text with no known token becomes a single ``<unk>``."""
        tokens = self.tokenize(text)
        tokens = tokens[: self.max_length] if self.max_length else tokens
        return [self._index.get(token, 1) for token in tokens] or [1]

    def encode(self, items: Sequence[str]) -> Arrays:
        sequences = [self.ids(text) for text in items]
        lengths = np.asarray([len(ids) for ids in sequences], dtype=np.int64)
        inputs = np.zeros((len(sequences), int(lengths.max(initial=1))), dtype=np.int64)
        for row, ids in enumerate(sequences):
            inputs[row, : len(ids)] = ids
        return {"inputs": inputs, "lengths": lengths}

    def from_request(self, value: Any) -> str:
        if not isinstance(value, str):
            raise UserError("a text input is a JSON string")
        if not value.strip():
            raise UserError("empty text: give at least one word")
        return value

    def to_dict(self) -> dict[str, Any]:
        if type(self.tokenize) is not SimpleTokenizer:
            raise UserError(
                f"the tokenizer {type(self.tokenize).__name__} is Python code an export cannot carry; the "
                "exported predictor tokenises as SimpleTokenizer does (use it, or extend input_encoding)"
            )
        values = {k: v for k, v in asdict(self).items() if k != "tokenize"}
        return {"kind": self.kind, **values, "pattern": SimpleTokenizer.pattern.pattern}


InputEncoding = TabularInputs | ImageInputs | TextInputs
ENCODINGS: dict[str, type] = {cls.kind: cls for cls in (TabularInputs, ImageInputs, TextInputs)}


def input_encoding_from_dict(values: Mapping[str, Any]) -> InputEncoding:
    """The encoding ``to_dict`` described (``preprocess.json``'s ``input``)."""
    values = dict(values)
    kind = values.pop("kind", None)
    if kind not in ENCODINGS:
        known = ", ".join(ENCODINGS)
        raise UserError(f"unknown input kind {kind!r} in preprocess.json; expected one of {known}")
    pattern = values.pop("pattern", None)
    if kind == "text" and pattern != SimpleTokenizer.pattern.pattern:
        raise UserError("preprocess.json was written with another tokenizer pattern; export the run again")
    try:
        return ENCODINGS[kind](**values)
    except TypeError as error:
        raise UserError(
            f"preprocess.json does not describe {kind} inputs ({error}); export the run again"
        ) from None
