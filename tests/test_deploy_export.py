"""``make export`` and ``make predict-onnx``: every experiment's run exports to ONNX with its parity
measured on the test split, and the torch-free predictor answers as ``make predict`` does."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import EXPERIMENTS, ROOT, SHORT, run_cli, run_dirs, snapshot
from PIL import Image
from synthetic_data import patterned_images
from torch import nn

from lightlab import onnx_export
from lightlab.data.iris import BUNDLED_CSV
from lightlab.deploy.export import ExportError, ProbabilityNet, export_onnx, export_run, onnx_session
from lightlab.deploy.onnx_predictor import OnnxPredictor

ALL_EXPERIMENTS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def torch_blocked(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import torch, torchvision or lightning."""
    blocker = tmp_path / "blocked"
    for name in ("torch", "torchvision", "lightning"):
        (blocker / name).mkdir(parents=True, exist_ok=True)
        (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked here')\n")
    return {"PYTHONPATH": str(blocker)}


def raw_inputs(experiment: str, smoke_args: dict[str, list[str]], folder: Path) -> Path:
    """A file or folder of new inputs for an experiment, in the form users give them: the iris CSV,
    the texts' CSV, or a few images (grayscale and colour, of other sizes than the training ones)."""
    args = smoke_args.get(experiment, [])
    if experiment.startswith("iris"):
        return BUNDLED_CSV
    if "--data.init_args.path" in args:
        return Path(args[args.index("--data.init_args.path") + 1])
    images, _ = patterned_images(4, seed=5)
    for i, image in enumerate(images):
        Image.fromarray(image.numpy()).resize((40 + 8 * i, 30)).save(folder / f"gray-{i}.png")
        Image.fromarray(image.numpy()).convert("RGB").save(folder / f"colour-{i}.jpg")
    return folder


def read_predictions(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Each row's input and class, and every row's class probabilities."""
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    probabilities = np.array([[float(v) for k, v in row.items() if k.startswith("prob_")] for row in rows])
    return [(row["input"], row["prediction"]) for row in rows], probabilities


# iris_mlp in make test; every experiment in make test-all (about 15 s each).
@pytest.mark.parametrize(
    "experiment", [e if e == "iris_mlp" else pytest.param(e, marks=pytest.mark.slow) for e in ALL_EXPERIMENTS]
)
def test_every_experiment_exports_with_parity_and_predicts_without_torch(
    experiment, smoke_args, tmp_path, fashion_root, torch_home
):
    runs = tmp_path / "runs"
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / f"{experiment}.yaml"),
        *SHORT,
        *smoke_args.get(experiment, []),
        runs_dir=runs,
    )
    (run_dir,) = run_dirs(runs, experiment)

    result = make("export", f"RUN={run_dir}", env={"TORCH_HOME": str(torch_home)})
    assert result.returncode == 0, result.stderr
    assert "parity on" in result.stdout
    export = run_dir / "export"
    assert sorted(p.name for p in export.iterdir()) == ["model.onnx", "parity.json", "preprocess.json"]
    parity = json.loads((export / "parity.json").read_text())
    assert parity["samples"] > 0
    assert parity["max_abs_probability_difference"] <= 1e-4
    assert parity["same_predicted_class"] == 1.0
    batch_dims = [value.shape[0] for value in onnx_session(export / "model.onnx").get_inputs()]
    assert all(isinstance(dim, str) for dim in batch_dims), batch_dims  # dynamic batch

    (tmp_path / "new").mkdir()
    source = raw_inputs(experiment, smoke_args, tmp_path / "new")
    result = make("predict", f"RUN={run_dir}", f"INPUT={source}")
    assert result.returncode == 0, result.stderr
    blocked = torch_blocked(tmp_path)
    assert subprocess.run([sys.executable, "-c", "import torch"], env={**os.environ, **blocked}).returncode
    result = make("predict-onnx", f"EXPORT={export}", f"INPUT={source}", env=blocked)
    assert result.returncode == 0, result.stderr
    eager_rows, eager = read_predictions(run_dir / "predictions.csv")
    onnx_rows, onnx = read_predictions(export / "predictions.csv")
    assert len(eager_rows) > 1
    assert onnx_rows == eager_rows
    np.testing.assert_allclose(onnx, eager, atol=1.5e-4)  # written to 4 decimals


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("iris") / "runs"
    run_cli("fit", "--config", str(EXPERIMENTS / "iris_mlp.yaml"), "--trainer.max_epochs", "3", runs_dir=runs)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir


@pytest.fixture(scope="module")
def bilstm_export(tmp_path_factory, negation_csv) -> Path:
    runs = tmp_path_factory.mktemp("text") / "runs"
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "text_bilstm.yaml"),
        *SHORT,
        *("--data.init_args.path", str(negation_csv)),
        runs_dir=runs,
    )
    (run_dir,) = run_dirs(runs, "text_bilstm")
    folder, _ = export_run(run_dir)
    return folder


def test_the_exported_bilstm_ignores_padding_at_any_batch_size_and_length(bilstm_export):
    predictor = OnnxPredictor(bilstm_export)
    texts = ["the film was not good", "great", "the plot was dull and the acting was not great at all"]
    alone = np.concatenate([predictor.probabilities([text]) for text in texts])
    together = predictor.probabilities(texts)  # padded to the longest, batch of 3, a one-token text
    np.testing.assert_allclose(together, alone, atol=1e-6)
    arrays = predictor.encoding.encode(texts)
    padded = {
        "inputs": np.pad(arrays["inputs"], ((0, 0), (0, 7))),  # far more padding than any batch had
        "lengths": arrays["lengths"],
    }
    np.testing.assert_allclose(predictor.encoded_probabilities(padded), alone, atol=1e-6)


def test_exporting_again_in_the_same_process_keeps_the_text_length_dynamic(bilstm_export):
    # The fixture exported once already in this process; the exporter's LSTM kernels must apply again.
    folder, parity = export_run(bilstm_export.parent)
    shapes = [value.shape for value in onnx_session(folder / "model.onnx").get_inputs()]
    assert shapes == [["batch", "steps"], ["batch"]]
    assert parity["same_predicted_class"] == 1.0


def test_a_parity_failure_stops_the_export_and_writes_nothing(iris_run, monkeypatch, capsys):
    before = snapshot(iris_run)
    monkeypatch.setattr(onnx_export, "TOLERANCE", 0.0)  # float32 kernels always differ a little
    with pytest.raises(SystemExit) as exit_info:
        onnx_export.main([str(iris_run)])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "does not match the net on the test split" in error and "nothing was written" in error
    assert snapshot(iris_run) == before


class DataDependentNet(nn.Module):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.sum() > 0:  # Python control flow on a tensor's value: not one graph
            return inputs[:, :2]
        return -inputs[:, :2]


def test_an_unexportable_net_is_named_in_one_line(tmp_path):
    with pytest.raises(ExportError) as error:
        export_onnx(
            ProbabilityNet(DataDependentNet(), ["inputs"]),
            {"inputs": torch.randn(2, 4)},
            "tabular",
            tmp_path / "m.onnx",
        )
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("DataDependentNet cannot be exported to ONNX:")
    assert "data-dependent" in message.lower() or "guard" in message.lower()


def test_bad_inputs_get_one_line_and_exit_2_with_nothing_written(iris_run, tmp_path):
    cases = [
        (("export", f"RUN={tmp_path}"), "is not a run folder"),
        (("export", f"RUN={iris_run}", "CKPT=missing.ckpt"), "checkpoint"),
        (("predict-onnx", f"EXPORT={iris_run}", f"INPUT={BUNDLED_CSV}"), "is not an export folder"),
    ]
    before = snapshot(iris_run)
    for args, expected in cases:
        result = make(*args)
        assert result.returncode == 2, (args, result.stderr)
        first = result.stderr.splitlines()[0]
        assert first.startswith("error: ") and expected in first, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert snapshot(iris_run) == before

    folder, _ = export_run(iris_run)
    (tmp_path / "image.png").write_bytes(b"")
    (tmp_path / "rows.csv").write_bytes(b"")
    cases = (
        (tmp_path, "is a folder"),
        (tmp_path / "image.png", "is not a .csv file"),
        (tmp_path / "rows.csv", "is empty"),
    )
    for source, expected in cases:
        result = make("predict-onnx", f"EXPORT={folder}", f"INPUT={source}")
        assert result.returncode == 2
        assert expected in result.stderr.splitlines()[0], result.stderr
    assert not (folder / "predictions.csv").exists()
