"""``make results``: one row per run folder, the settings that differ, best first, CSV and Markdown."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import EXPERIMENTS, ROOT, run_cli

from lightlab.run.results import main as results


def fake_run(parent: Path, name: str, lr: float, summary: dict | None, last_ckpt: bool = False) -> Path:
    """A run folder as training leaves it: the experiment's config with one setting changed."""
    folder = parent / name
    (folder / "checkpoints").mkdir(parents=True)
    config = yaml.safe_load((EXPERIMENTS / "iris_mlp.yaml").read_text())
    config["model"]["lr"] = lr
    config["trainer"]["default_root_dir"] = str(folder)  # differs per run, but is not a setting
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    if last_ckpt:
        (folder / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return folder


def completed(score: float, acc: float) -> dict:
    return {
        "status": "completed",
        "best_score": score,
        "epochs": 5,
        "fit_seconds": 12.0,
        "test": {"test/acc": acc, "test/f1": acc - 0.01},
    }


def test_rows_are_sorted_by_the_monitored_metric_with_differing_settings(tmp_path, capsys):
    runs = tmp_path / "runs" / "iris_mlp"
    fake_run(runs, "a", 0.1, completed(0.40, 0.80))
    fake_run(runs, "b", 0.01, completed(0.10, 0.95))
    fake_run(runs, "c", 0.001, {"status": "failed", "reason": "loss", "best_score": None})
    fake_run(runs, "d", 0.01, None, last_ckpt=True)
    fake_run(runs, "e", 0.01, None)
    results(["--runs-dir", str(tmp_path / "runs"), "--experiment", "iris_mlp"])
    with (runs / "results.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [row["run"] for row in table[:2]] == ["iris_mlp/b", "iris_mlp/a"]  # val/loss: lower is better
    assert {row["run"]: row["status"] for row in table} == {
        "iris_mlp/a": "completed",
        "iris_mlp/b": "completed",
        "iris_mlp/c": "failed",
        "iris_mlp/d": "interrupted",
        "iris_mlp/e": "running",
    }
    varying = [
        key
        for key in table[0]
        if key not in ("run", "status", "best", "test acc", "test f1", "epochs", "fit s")
    ]
    assert varying == ["model.lr"]
    assert table[0]["test acc"] == "0.9500" and table[2]["best"] == "-"
    markdown = (runs / "results.md").read_text().splitlines()
    assert markdown[0].startswith("| run | status | model.lr |") and len(markdown) == 7
    assert "5 run(s)" in capsys.readouterr().out


def test_real_runs_through_the_command(tmp_path):
    runs = tmp_path / "runs"
    for lr in ("0.01", "0.05"):
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "iris_mlp.yaml"),
            "--trainer.max_epochs",
            "3",
            "--model.lr",
            lr,
            runs_dir=runs,
        )
    result = subprocess.run(
        [sys.executable, "-m", "lightlab", "results", "--runs-dir", str(runs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader((runs / "results.csv").open()))
    assert sorted(row["model.lr"] for row in table) == ["0.01", "0.05"]
    assert all(row["status"] == "completed" and float(row["test acc"]) > 0 for row in table)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [(["--experiment", "nope"], "no runs of 'nope'"), ([], "no run folders under")],
)
def test_nothing_to_compare_is_one_line(arguments, words, tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        results(["--runs-dir", str(tmp_path / "runs"), *arguments])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
