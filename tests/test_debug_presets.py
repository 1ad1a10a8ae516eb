"""``make train EXP=<name> DEBUG=<preset>``: each debug preset runs, and does what it says."""

from __future__ import annotations

import csv
import subprocess

import pytest
from helpers import EXPERIMENTS, ROOT, read_summary, run_cli, run_dirs

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")
DEBUG = EXPERIMENTS / "debug"


def train(preset: str, runs_dir, *extra: str):
    run_cli("fit", "--config", IRIS, "--config", str(DEBUG / f"{preset}.yaml"), *extra, runs_dir=runs_dir)
    (run_dir,) = run_dirs(runs_dir, "iris_mlp")
    return run_dir


def test_overfit_fits_its_few_batches_exactly(runs_dir):
    run_dir = train("overfit", runs_dir)
    with (run_dir / "metrics.csv").open() as f:
        train_acc = [float(row["train/acc"]) for row in csv.DictReader(f) if row["train/acc"]]
    assert len(train_acc) == 50 and train_acc[-1] == 1.0
    assert read_summary(run_dir)["status"] == "completed"


def test_profile_writes_its_report_into_the_run_folder(runs_dir):
    run_dir = train("profile", runs_dir)
    report = (run_dir / "fit-profile.txt").read_text()
    assert "training_step" in report and "Total" in report


@pytest.mark.parametrize("preset", ["limit", "anomaly"])
def test_preset_trains_to_a_summary(preset, runs_dir):
    # Batches of 2, so a tenth of iris's 15 validation batches is still one batch.
    run_dir = train(preset, runs_dir, "--trainer.max_epochs", "3", "--data.init_args.batch_size", "2")
    assert read_summary(run_dir)["status"] == "completed"


def test_limit_on_too_little_data_says_so_in_one_line(runs_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train("limit", runs_dir)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "limit_val_batches" in lines[0]


def test_fast_through_make_runs_one_batch_of_each_split(runs_dir):
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "train",
            "EXP=iris_mlp",
            "DEBUG=fast",
            f"ARGS=--runs_dir {runs_dir}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Running in `fast_dev_run` mode: will run the requested loop using 1 batch(es)" in result.stdout
    (run_dir,) = run_dirs(runs_dir, "iris_mlp")
    assert read_summary(run_dir)["global_step"] == 1


def test_unknown_debug_preset_lists_the_choices():
    result = subprocess.run(
        ["make", "--no-print-directory", "train", "EXP=iris_mlp", "DEBUG=turbo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "unknown debug preset 'turbo': choose one of: anomaly fast limit overfit profile" in result.stderr
