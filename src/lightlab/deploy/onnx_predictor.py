"""Classify raw inputs with an exported run, without torch: ``python -m lightlab predict-onnx
<export folder> --input <path>`` (``make predict-onnx EXPORT=… INPUT=…``).

Needs ONNX Runtime, numpy and Pillow only. It reads ``preprocess.json`` (class names and the
input encoding ``make predict`` uses) and ``model.onnx`` from an export folder, and writes the
same ``predictions.csv`` as ``make predict``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lightlab.data.input_encoding import InputEncoding, input_encoding_from_dict
from lightlab.errors import CommandParser, UserError, command
from lightlab.inference.predictions_csv import Predictor


def read_export(folder: Path) -> tuple[Path, dict[str, Any]]:
    """An export folder's ``model.onnx`` path and its ``preprocess.json``, both checked."""
    if not folder.is_dir():
        raise UserError(
            f"export folder not found: {folder} (make export RUN=<run folder> writes <run>/export)"
        )
    model, preprocess = folder / "model.onnx", folder / "preprocess.json"
    missing = [p.name for p in (model, preprocess) if not p.is_file()]
    if missing:
        raise UserError(
            f"{folder} is not an export folder (no {' or '.join(missing)}); make export RUN=<run> writes one"
        )
    try:
        spec = json.loads(preprocess.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{preprocess} is not readable JSON ({error}); export the run again") from None
    if not isinstance(spec, dict) or not {"class_names", "input"} <= spec.keys():
        raise UserError(f"{preprocess} lacks class_names or input; export the run again")
    return model, spec


def onnx_session(path: Path, providers: Sequence[str] | None = None) -> Any:
    """An ONNX Runtime session on ``path`` that logs only errors (the CPU unless ``providers``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=list(providers or ["CPUExecutionProvider"]))


class OnnxPredictor(Predictor):
    """An exported run that takes raw inputs: feature rows (tabular), image paths or PIL images
    (images), strings (text), encoded as ``make predict`` encodes them.

    Example::

        predictor = OnnxPredictor("runs/iris_mlp/20260101-120000/export")
        predictor.predict([[5.1, 3.5, 1.4, 0.2]])
        # [{"prediction": "setosa", "probability": 0.98, "probabilities": {"setosa": 0.98, ...}}]
    """

    def __init__(self, folder: str | Path, providers: Sequence[str] | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401  (a clear line when it is missing)
        except ImportError:
            raise UserError(
                "onnxruntime is not installed: pip install onnxruntime (or the project's deploy extra)"
            ) from None
        model, spec = read_export(Path(folder))
        self.class_names: list[str] = list(spec["class_names"])
        self.encoding: InputEncoding = input_encoding_from_dict(spec["input"])
        self.batch_size = int(spec.get("batch_size", 64))
        try:
            self.session = onnx_session(model, providers)
        except Exception as error:  # onnxruntime raises its own types for a damaged file
            raise UserError(f"{model} cannot be loaded ({str(error).splitlines()[0][:200]})") from None
        self.input_names = [value.name for value in self.session.get_inputs()]

    def encoded_probabilities(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """``(N, classes)`` probabilities of one encoded batch."""
        return self.session.run(None, {name: arrays[name] for name in self.input_names})[0]

    def read_inputs(self, source: Path) -> tuple[Sequence[Any], list[str]]:
        return self.encoding.read(source)

    def batch_probabilities(self, items: Sequence[Any]) -> np.ndarray:
        return self.encoded_probabilities(self.encoding.encode(items))

    def probabilities(self, items: Sequence[Any]) -> np.ndarray:
        """``(len(items), num_classes)`` class probabilities, an array."""
        return np.concatenate(self.batches(items))


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--input", required=True, type=Path, help="a file or folder of new inputs")
    parser.add_argument("--out", type=Path, default=None, help="default: <export folder>/predictions.csv")
    args = parser.parse_args(argv)
    predictor = OnnxPredictor(args.export_dir)
    path, rows = predictor.predict_file(args.input, args.out or args.export_dir / "predictions.csv")
    for row in rows[1:11]:
        print("  ".join(row[:3]))
    print(f"{len(rows) - 1} predictions: {path}")


if __name__ == "__main__":
    main()
