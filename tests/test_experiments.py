"""Every experiment in experiments/ trains for one batch, and the CI workflows are valid."""

import subprocess
from pathlib import Path

import pytest
from conftest import EXPERIMENTS, ROOT, read_summary, run_cli, run_dirs

ALL_EXPERIMENTS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))


@pytest.mark.parametrize("experiment", ALL_EXPERIMENTS)
def test_experiment_smoke(experiment, runs_dir, smoke_args):
    extra = smoke_args.get(experiment, [])
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / f"{experiment}.yaml"),
        "--trainer.fast_dev_run",
        "true",
        *extra,
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, experiment)
    summary = read_summary(run_dir)
    assert summary["status"] == "completed"
    assert 0.0 <= summary["test"]["test/acc"] <= 1.0


def test_workflows_match_the_github_schema():
    checker = Path(ROOT / ".venv/bin/check-jsonschema")
    command = str(checker) if checker.exists() else "check-jsonschema"
    workflows = sorted(str(p) for p in (ROOT / ".github/workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run(
        [command, "--builtin-schema", "vendor.github-workflows", *workflows], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
