"""The "Add your own dataset and model" example the README points to, built from its page,
docs/data.md, itself: its files are written into a copy of the project and its experiment is
trained with ``make train``, so the documentation fails this test the day it stops working."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

PAGE = ROOT / "docs" / "data.md"
SECTION = "## Add your own dataset and model"
# A file of the example: a fenced block after a paragraph that names its path first.
FILE_BLOCK = re.compile(
    r"`((?:src|experiments)/[^`]+)`(?:(?!\n\n).)*\n\n```(?:python|yaml)\n(.*?)^```$", re.M | re.S
)


def readme_section(title: str) -> str:
    text = PAGE.read_text()
    start = text.index(title + "\n")
    end = text.find("\n## ", start + len(title))
    return text[start : end if end != -1 else None]


def example_files() -> dict[str, str]:
    return dict(FILE_BLOCK.findall(readme_section(SECTION)))


def test_the_readme_example_names_its_files_and_its_command():
    files = example_files()
    experiments = [Path(path).stem for path in files if path.startswith("experiments/")]
    assert len(experiments) == 1 and any(p.startswith("src/lightlab/data/") for p in files)
    assert all(text.strip() for text in files.values())
    assert f"make train EXP={experiments[0]}" in readme_section(SECTION)


def test_the_readme_example_trains_with_make_train_and_predicts(tmp_path):
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", project / "src", ignore=ignore)
    shutil.copytree(ROOT / "experiments", project / "experiments")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    files = example_files()
    for path, text in files.items():
        assert not (project / path).exists(), f"the example's {path} would overwrite a shipped file"
        (project / path).write_text(text)
    (experiment,) = [Path(path).stem for path in files if path.startswith("experiments/")]

    sources = [path for path in files if path.endswith(".py")]
    for check in (["check"], ["format", "--check"]):
        ruff = [sys.executable, "-m", "ruff", *check, "--no-cache", *sources]
        lint = subprocess.run(ruff, cwd=project, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout

    # The copy's package comes first on the path, ahead of the installed one.
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    make = ["make", "--no-print-directory", f"VENV={Path(sys.executable).parent.parent}"]
    train = subprocess.run(
        [*make, "train", f"EXP={experiment}", "ARGS=--trainer.max_epochs 2"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    (run_dir,) = (project / "runs" / experiment).iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/acc"] > 0.5  # three classes: chance is a third

    new_points = project / "points.csv"
    new_points.write_text("x,y\n0.1,0.2\n-0.5,0.3\n")
    predict = subprocess.run(
        [*make, "predict", f"RUN={run_dir}", f"INPUT={new_points}"], cwd=project, env=env, capture_output=True
    )
    assert predict.returncode == 0, predict.stderr
    assert len((run_dir / "predictions.csv").read_text().splitlines()) == 3
