"""A run folder written by an earlier version of the template keeps working: it resumes,
evaluates, predicts and exports. ``tests/fixtures/iris_mlp_run`` is a 3-epoch iris run made before
the modules moved into their packages; its ``config.yaml`` names the class paths of that layout
(``lightlab.stop_signals.StopOnSignal``, ``lightlab.random_state…``, ``lightlab.checkpoint_io…``),
and its checkpoints record the folder it was trained in, which no longer exists."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT, read_summary

FIXTURE = ROOT / "tests" / "fixtures" / "iris_mlp_run"


def make(*arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled"}
    result = subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "runs" / "iris_mlp" / "20261201-085839"
    shutil.copytree(FIXTURE, run_dir)
    return run_dir


def test_the_fixture_names_the_old_class_paths():
    config = (FIXTURE / "config.yaml").read_text()
    for old in ("lightlab.stop_signals.StopOnSignal", "lightlab.random_state.", "lightlab.checkpoint_io."):
        assert old in config


def test_an_old_run_folder_resumes_evaluates_and_predicts(old_run, tmp_path):
    resumed = make("train", f"RESUME={old_run}", "ARGS=--trainer.max_epochs 4")
    assert "from checkpoints/last.ckpt (epoch 2, step 18)" in resumed.stdout
    summary = read_summary(old_run)
    assert summary["status"] == "completed" and summary["epochs"] == 4 and summary["global_step"] == 24
    assert "warning" not in resumed.stderr.lower()

    make("eval", f"RUN={old_run}")
    record = json.loads((old_run / "eval-test.json").read_text())
    assert record["metrics"]["test/acc"] == pytest.approx(summary["test"]["test/acc"])

    flowers = tmp_path / "flowers.csv"
    flowers.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    make("predict", f"RUN={old_run}", f"INPUT={flowers}")
    rows = (old_run / "predictions.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] in {"setosa", "versicolor", "virginica"}


def test_an_old_run_folder_exports(old_run):
    make("export", f"RUN={old_run}")
    assert (old_run / "export" / "model.onnx").is_file()
    assert json.loads((old_run / "export" / "parity.json").read_text())
