"""Shared helpers: run the CLI in-process against a temporary runs directory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from unittest import mock

import pytest

os.environ["WANDB_MODE"] = "disabled"  # tests never touch the network or write wandb files
os.environ.pop("LIGHTLAB_RUN_DIR", None)

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def run_cli(*args: str, runs_dir: Path) -> None:
    """``python -m lightlab ARGS`` in this process, writing runs under ``runs_dir``."""
    from lightlab.cli import main

    subcommand, *rest = args
    with mock.patch.object(sys, "argv", ["lightlab"]):
        main([subcommand, *rest, "--runs_dir", str(runs_dir), *QUIET])


def run_dirs(runs_dir: Path, experiment: str) -> list[Path]:
    return sorted(p for p in (runs_dir / experiment).iterdir() if p.is_dir())


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def smoke_args() -> dict[str, list[str]]:
    """Extra flags per experiment for the smoke test, e.g. to point it at generated data."""
    return {}
