"""Every experiment in experiments/ runs the way a user runs it, and the CI workflows are valid."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, ROOT, read_summary, run_dirs

ALL_EXPERIMENTS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
IMAGE_EXPERIMENTS = {
    "fashion_mnist_mlp",
    "fashion_mnist_cnn",
    "fashion_mnist_custom",
    "shapes_cnn",
    "image_folder_resnet18",
}


@pytest.mark.parametrize("experiment", ALL_EXPERIMENTS)
def test_experiment_smoke(experiment, runs_dir, smoke_args):
    """``make smoke`` for one experiment: ``make train`` with its default callbacks (model summary,
    progress bar, checkpoints, plots) and output to a pipe; only data paths and sizes differ."""
    args = [*smoke_args.get(experiment, []), "--runs_dir", str(runs_dir)]
    result = subprocess.run(
        ["make", "--no-print-directory", "smoke", f"EXPERIMENTS={experiment}", f"ARGS={shlex.join(args)}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = run_dirs(runs_dir, experiment)
    summary = read_summary(run_dir)
    assert summary["status"] == "completed"
    assert 0.0 <= summary["test"]["test/acc"] <= 1.0
    counts = summary["class_counts"]  # every split's samples per class
    assert set(counts) == {"train", "val", "test"} and set(counts["train"]) == set(summary["class_names"])
    assert all(n > 0 for n in counts["train"].values())
    assert "parameters" in result.stdout and "FLOPs" in result.stdout  # the model summary, in short
    speed = summary["speed"]  # the run's own measurements, and their line after the table
    assert speed["samples_per_second"] > 0 and speed["step_ms"] > 0 and 0 <= speed["data_wait_share"] < 1
    assert speed["peak_memory_mb"] > 50 and speed["memory"] == "process peak RSS"
    per_item = speed.get("train_flops_per_sample") or speed.get("train_flops_per_token")
    assert per_item > 0 and speed["flops_per_second"] > 0 and speed["mfu"] is None  # a CPU: unknown peak
    assert speed["epochs_to_best"] == 1 and 0 < speed["seconds_to_best"] <= summary["fit_seconds"]
    assert "samples/s" in result.stdout and "unknown peak" in result.stdout
    assert "Out sizes" in (run_dir / "train.log").read_text()  # its table, with the example input
    files = {p.name for p in run_dir.iterdir()} | {p.name for p in (run_dir / "checkpoints").iterdir()}
    assert {
        "config.yaml",
        "metrics.csv",
        "summary.json",
        "confusion_matrix.png",
        "learning_curves.png",
        "last.ckpt",
    } <= files
    assert ("samples.png" in files) == (experiment in IMAGE_EXPERIMENTS)
    # One last.ckpt, the newest state, and no versioned duplicate (last-v1.ckpt) beside it.
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert [name for name in checkpoints if name.startswith("last")] == ["last.ckpt"], checkpoints


def test_workflows_match_the_github_schema():
    checker = Path(sys.executable).parent / "check-jsonschema"  # this environment's, wherever it is
    command = str(checker) if checker.exists() else "check-jsonschema"
    workflows = sorted(str(p) for p in (ROOT / ".github/workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run(
        [command, "--builtin-schema", "vendor.github-workflows", *workflows], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
