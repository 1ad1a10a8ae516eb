"""Signals stop a run after a step with a checkpoint; a requeued SLURM job continues only its own run.

The SLURM cases here set the variables a one-task batch job sees, so they need no SLURM; the real
thing is in ``test_cluster_slurm.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from unittest import mock

import pytest
import torch
from helpers import (
    EXPERIMENTS,
    ROOT,
    fit_in_child,
    pythonpath_with_tests,
    read_summary,
    run_dirs,
    slow_marked_steps,
    wait_for_file,
)

pytestmark = pytest.mark.slow


def lightlab(runs: Path, *flags: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """iris_mlp in a child process without any SLURM variable of this one, output captured."""
    outside_slurm = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    with mock.patch.dict(os.environ, outside_slurm, clear=True):
        return fit_in_child(
            "iris_mlp", *flags, runs_dir=runs, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )


def resume(run_dir: Path) -> None:
    """``make train RESUME=<run_dir>``, as a user continues a stopped run; it must succeed."""
    resumed = subprocess.run(
        ["make", "--no-print-directory", "train", f"RESUME={run_dir}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": pythonpath_with_tests()},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]


def slow(tmp_path: Path, seconds: float) -> list[str]:
    return ["--trainer.max_epochs=6", *slow_marked_steps(tmp_path / "steps", seconds)]


def test_sigterm_stops_after_a_step_and_resume_finishes(tmp_path):
    runs = tmp_path / "runs"
    run = lightlab(runs, *slow(tmp_path, 0.3))
    wait_for_file(tmp_path / "steps" / "step-4")  # in the second epoch
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM, err[-2000:]
    (run_dir,) = run_dirs(runs, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM"
    assert 5 <= summary["global_step"] <= 8  # the next step that ends no epoch, not the epoch's end
    assert f"continue it with make train RESUME={run_dir}" in err
    assert "Traceback" not in err

    resume(run_dir)
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs"] == 6


def sigterm_in_step_two_of_one_step_epochs(tmp_path: Path, epochs: int) -> Path:
    """A run whose epochs are one step each (all 90 training rows in one batch), sent SIGTERM
    during step 2: it must exit 143, interrupted at step 2. Its folder."""
    runs = tmp_path / "runs"
    flags = ["--data.init_args.batch_size=128", f"--trainer.max_epochs={epochs}"]
    run = lightlab(runs, *slow_marked_steps(tmp_path / "steps", 0.3), *flags)
    wait_for_file(tmp_path / "steps" / "step-2")  # the second epoch's only step, sleeping
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM, err[-2000:]
    (run_dir,) = run_dirs(runs, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and summary["global_step"] == 2
    return run_dir


def test_sigterm_stops_a_run_whose_epochs_are_one_step_at_the_next_epoch(tmp_path):
    run_dir = sigterm_in_step_two_of_one_step_epochs(tmp_path, epochs=6)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert (last["epoch"], last["global_step"]) == (1, 2)  # the end of the epoch the signal came in


def test_sigterm_in_the_last_epoch_stops_before_the_evaluation_as_interrupted(tmp_path):
    run_dir = sigterm_in_step_two_of_one_step_epochs(tmp_path, epochs=2)  # step 2 ends the last epoch
    resume(run_dir)  # nothing left to train: it is evaluated and completes
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["global_step"] == 2


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    runs = tmp_path / "runs"
    run = lightlab(runs, *slow(tmp_path, 2.0))
    wait_for_file(tmp_path / "steps" / "step-1")  # step 1 was checked and now sleeps 2 s
    run.send_signal(signal.SIGINT)
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)  # within that sleep: no step boundary in between
    _, err = run.communicate(timeout=120)
    assert run.returncode == 1, err[-2000:]
    (run_dir,) = run_dirs(runs, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and summary["global_step"] == 1  # not one more
    assert "stopped with Ctrl-C" in summary["reason"]
    assert "Ctrl-C again stops at once" in err


def one_task_job(job: str, restarts: int) -> dict[str, str]:
    """What SLURM sets for the one process of a one-task batch job."""
    return {
        "SLURM_JOB_ID": job,
        "SLURM_JOB_NAME": "lightlab",
        "SLURM_RESTART_COUNT": str(restarts),
        "SLURM_NTASKS": "1",
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_NNODES": "1",
        "SLURM_NODELIST": "127.0.0.1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "MASTER_ADDR": "127.0.0.1",
    }


def test_requeued_job_skips_a_damaged_checkpoint_and_finishes(tmp_path):
    runs = tmp_path / "runs"
    first = lightlab(runs, *slow(tmp_path, 0.3), env=one_task_job("7", 0))
    wait_for_file(tmp_path / "steps" / "step-10")
    first.send_signal(signal.SIGUSR1)  # no scontrol to call here: the run stops, nothing requeues it
    _, err = first.communicate(timeout=120)
    assert first.returncode == 128 + signal.SIGUSR1, err[-2000:]
    run_dir = runs / "iris_mlp" / "job-7"
    assert read_summary(run_dir)["slurm_job_id"] == "7"
    (run_dir / "hpc_ckpt_2.ckpt").write_bytes(b"cut short by a full disk")  # newer, and damaged

    again = lightlab(runs, env=one_task_job("7", 1))
    _, err = again.communicate(timeout=240)
    assert again.returncode == 0, err[-2000:]
    assert f"{run_dir / 'hpc_ckpt_2.ckpt'} cannot be read; continuing from" in err
    assert [p.name for p in (runs / "iris_mlp").iterdir()] == ["job-7"]
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs"] == 6


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("iris_mlp/job-6", "holds a run of job 6, not of this job 7"),
        ("iris_custom/job-7", "is a run of iris_custom, not iris_mlp"),
    ],
)
def test_requeued_job_refuses_a_run_that_is_not_its_own(tmp_path, folder, expected):
    run_dir = tmp_path / "runs" / folder
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.yaml").write_text("experiment: x\n")
    before = sorted(p.name for p in run_dir.rglob("*"))
    env = {**one_task_job("7", 1), "LIGHTLAB_RUN_DIR": str(run_dir)}
    run = lightlab(tmp_path / "runs", env=env)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2
    assert err.strip().count("\n") == 0 and expected in err, err
    assert sorted(p.name for p in run_dir.rglob("*")) == before


def test_job_script_without_an_experiment_is_one_line(tmp_path):
    (tmp_path / "experiments").symlink_to(EXPERIMENTS)
    script = ROOT / "experiments" / "launch" / "slurm_ddp.sbatch"
    result = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: give an experiment") and "iris_mlp" in result.stderr
    assert result.stderr.strip().count("\n") == 0
