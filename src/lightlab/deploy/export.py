"""Export a trained run to ONNX and check it: ``python -m lightlab export <run folder>``
(``make export RUN=…``).

Writes ``<run>/export/``: ``model.onnx`` (torch's dynamo-based exporter; batch size, and sequence
length for text, dynamic; the graph ends in class probabilities), ``preprocess.json`` (class names
and the DataModule's ``input_encoding``, the code ``make predict`` encodes with) and
``parity.json``. Parity is measured, not assumed: the ONNX model through ONNX Runtime and the
PyTorch net classify the run's whole test split; the export stops, writing nothing, when a
probability differs by more than ``TOLERANCE`` or any predicted class differs.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.export import Dim

from lightlab.atomic import atomic_write_text, current_umask
from lightlab.deploy.onnx_predictor import onnx_session
from lightlab.errors import CommandParser, UserError, command, exit_with
from lightlab.inference.predict import RunPredictor, load_run
from lightlab.internals import forget_rnn_kernels
from lightlab.quiet import silence_known_noise
from lightlab.run.checkpoints import add_checkpoint_flag
from lightlab.run.folder import RunFolder
from lightlab.tasks import ClassificationTask

TOLERANCE = 1e-4
FORMAT_VERSION = 1


class ExportError(Exception):
    """The net could not be exported or the export does not compute what the net does."""


class ProbabilityNet(nn.Module):
    """The run's net followed by the task's probabilities: what the exported graph computes.
    Inputs are positional, in the order the DataModule's batches name them."""

    def __init__(self, net: nn.Module, input_names: list[str]) -> None:
        super().__init__()
        self.net, self.input_names = net, input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        logits = self.net(**dict(zip(self.input_names, inputs, strict=True)))
        return ClassificationTask.probabilities(logits.float())


def _dynamic_shapes(example: dict[str, torch.Tensor], kind: str) -> tuple[tuple[dict[int, Dim], ...]]:
    batch, steps = Dim("batch"), Dim("steps")
    # Text batches are padded to their own longest sequence: the steps vary too. One entry: the
    # forward's ``*inputs``.
    return (
        tuple(
            {0: batch, 1: steps} if kind == "text" and t.dim() == 2 else {0: batch} for t in example.values()
        ),
    )


def _root_cause(error: BaseException) -> str:
    """The innermost cause's first line and the net's line that raised it: the exporter wraps the
    reason in advice on filing bugs."""
    while (inner := error.__cause__ or error.__context__) is not None:
        error = inner
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    where = re.search(r'File "([^"]+)", line (\d+), in \w+\n\s*(.+)', text)
    if where:
        reason += f" (at {Path(where[1]).name}:{where[2]}: {where[3].strip()})"
    return reason


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter reports each stage on stdout and warns about internals the user cannot act on."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def export_onnx(model: ProbabilityNet, example: dict[str, torch.Tensor], kind: str, path: Path) -> None:
    """Write ``model`` as ONNX to ``path``; an ``ExportError`` names the operator or construct that
    failed, in one line."""
    forget_rnn_kernels()
    try:
        with _quiet_exporter():
            program = torch.onnx.export(
                model,
                tuple(example.values()),
                input_names=list(example),
                output_names=["probabilities"],
                dynamic_shapes=_dynamic_shapes(example, kind),
                dynamo=True,
            )
            program.save(str(path))
    except Exception as error:  # the exporter raises many types; all end the export the same way
        raise ExportError(
            f"{type(model.net).__name__} cannot be exported to ONNX: {_root_cause(error)[:400]} "
            "(rewrite that part of the net's forward with exportable torch operations)"
        ) from error


@torch.inference_mode()
def measure_parity(model: ProbabilityNet, session: ort.InferenceSession, predictor: RunPredictor) -> dict:
    """The largest probability difference and the share of equal predicted classes between the
    PyTorch net and the ONNX model over the run's test split."""
    datamodule = predictor.datamodule
    datamodule.setup("test")
    names = {value.name for value in session.get_inputs()}
    largest, same, total = 0.0, 0, 0
    for batch in datamodule.test_dataloader():
        inputs = {k: v.cpu() for k, v in batch.items() if k != "target"}
        expected = model(*(inputs[name] for name in model.input_names)).numpy()
        try:
            got = session.run(None, {k: v.numpy() for k, v in inputs.items() if k in names})[0]
        except Exception as error:  # onnxruntime's own error types
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in inputs.items())
            raise ExportError(
                f"the ONNX model cannot run a test batch ({shapes}): {str(error).splitlines()[0]}"
            ) from None
        largest = max(largest, float(np.abs(got - expected).max()))
        same += int((got.argmax(-1) == expected.argmax(-1)).sum())
        total += len(expected)
    if total == 0:
        raise UserError(
            f"the test split of {predictor.checkpoint.parent.parent} is empty; parity needs samples"
        )
    return {
        "samples": total,
        "max_abs_probability_difference": largest,
        "same_predicted_class": same / total,
        "tolerance": TOLERANCE,
    }


def export_run(run_dir: Path, checkpoint: str = "best") -> tuple[Path, dict]:
    """Export ``run_dir`` (its ``best``, ``last`` or a given checkpoint) to ``<run_dir>/export``; the
    folder and the parity measured."""
    predictor = load_run(run_dir, checkpoint)
    datamodule = predictor.datamodule
    encoding = datamodule.input_encoding()
    preprocess = {
        "format": FORMAT_VERSION,
        "checkpoint": predictor.checkpoint.name,
        "class_names": predictor.class_names,
        "batch_size": datamodule.batch_size,
        "input": encoding.to_dict(),  # fails first (in one line) for what an export cannot carry
    }
    example = datamodule.example_input()
    model = ProbabilityNet(predictor.task.net, list(example)).eval()
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=run_dir))
    staging.chmod(0o777 & ~current_umask())  # a plain mkdir's mode, not mkdtemp's 0700
    try:
        export_onnx(model, example, encoding.kind, staging / "model.onnx")
        parity = measure_parity(model, onnx_session(staging / "model.onnx"), predictor)
        if parity["max_abs_probability_difference"] > TOLERANCE or parity["same_predicted_class"] < 1:
            raise ExportError(
                f"the ONNX model does not match the net on the test split: probabilities differ by up to "
                f"{parity['max_abs_probability_difference']:.2e} (tolerance {TOLERANCE:.0e}), "
                f"{parity['same_predicted_class']:.2%} of predicted classes equal; nothing was written"
            )
        atomic_write_text(staging / "preprocess.json", json.dumps(preprocess, indent=2) + "\n")
        atomic_write_text(staging / "parity.json", json.dumps(parity, indent=2) + "\n")
        return _replace_folder(staging, RunFolder(run_dir).export), parity
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_folder(staging: Path, target: Path) -> Path:
    """Put ``staging`` at ``target``; a previous export is removed only once the new one is in place."""
    previous = target.with_name(f".{target.name}-previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return target


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    add_checkpoint_flag(parser)
    args = parser.parse_args(argv)
    silence_known_noise()
    try:
        folder, parity = export_run(args.run_dir, args.ckpt)
    except ExportError as error:
        exit_with(error, status=1)  # the net cannot be exported: not a mistake in the command
    print(
        f"parity on {parity['samples']} test samples: largest probability difference "
        f"{parity['max_abs_probability_difference']:.2e}, same class {parity['same_predicted_class']:.2%}"
    )
    print(f"exported: {folder / 'model.onnx'} with {folder / 'preprocess.json'}")


if __name__ == "__main__":
    main()
