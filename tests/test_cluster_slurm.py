"""The shipped SLURM script on a real SLURM (``munged``, ``slurmctld`` and two ``slurmd`` on loopback):
training on two tasks or two nodes, and jobs stopped by their warning signal that requeue
themselves and finish in the same folder."""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, pythonpath_with_tests, read_summary, slow_marked_steps, wait_for_file
from slurm_cluster import SlurmCluster, missing_binaries

SCRIPT = "experiments/launch/slurm_ddp.sbatch"
CPU_TASKS = ["--nodes=1", "--ntasks-per-node=2", "--gpus-per-node=0", "--cpus-per-task=1"]
EPOCHS = 6

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_binaries()), reason="SLURM absent (apt-get install slurm-wlm munge)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the SLURM daemons of this test run as root"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> SlurmCluster:
    """Two nodes on this machine, each with its CPUs; one-node jobs take either."""
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"), nodes=2).start()
    yield slurm
    slurm.stop()


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A checkout-like folder for the job: the experiments and the virtual environment by link."""
    (tmp_path / "experiments").symlink_to(EXPERIMENTS)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def submit(cluster: SlurmCluster, workdir: Path, resources: list[str], *flags: str, wandb: str = "disabled"):
    env = {
        "MASTER_ADDR": "127.0.0.1",  # the node names n1, n2 do not resolve
        "PYTHONPATH": pythonpath_with_tests(),
        "WANDB_MODE": wandb,
        "OMP_NUM_THREADS": "1",
    }
    args = ["--trainer.accelerator", "cpu", "--trainer.max_epochs", str(EPOCHS)]
    args += ["--trainer.enable_model_summary", "false", *flags]
    return cluster.sbatch(*resources, SCRIPT, "iris_mlp", *args, cwd=workdir, env=env)


def epochs_in_metrics(run_dir: Path, column: str) -> Counter:
    with (run_dir / "metrics.csv").open(newline="") as file:
        return Counter(int(row["epoch"]) for row in csv.DictReader(file) if row[column])


def finished_run(cluster: SlurmCluster, workdir: Path, job: str, restarts: int) -> Path:
    """The job's one run folder after the job completed with ``restarts`` requeues."""
    info = cluster.wait_for(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"}, timeout=400)
    output = (workdir / f"slurm-{job}.out").read_text()
    assert info["JobState"] == "COMPLETED", output[-3000:]
    assert int(info["Restarts"]) == restarts, output[-3000:]
    assert "Traceback" not in output, output
    folders = list((workdir / "runs" / "iris_mlp").iterdir())
    assert [f.name for f in folders] == [f"job-{job}"]
    summary = read_summary(folders[0])
    assert summary["status"] == "completed" and summary["epochs"] == EPOCHS
    assert summary["slurm_job_id"] == job
    # Every epoch once; the best checkpoint's validation after training comes on top.
    assert epochs_in_metrics(folders[0], "train/acc") == Counter(range(EPOCHS))
    assert epochs_in_metrics(folders[0], "val/acc") == Counter([*range(EPOCHS), EPOCHS])
    return folders[0]


def test_script_trains_two_tasks_into_one_folder(cluster, workdir):
    job = submit(cluster, workdir, CPU_TASKS)
    run_dir = finished_run(cluster, workdir, job, restarts=0)
    output = (workdir / f"slurm-{job}.out").read_text()
    assert "16 per process x 2 process(es)" in output
    assert "replicates some samples" not in output  # the final scores count each sample once
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_warning_signal_after_a_checkpoint_requeues_and_finishes(cluster, workdir):
    job = submit(cluster, workdir, CPU_TASKS, *slow_marked_steps(workdir / "steps", 0.3), wandb="offline")
    run_dir = workdir / "runs" / "iris_mlp" / f"job-{job}"
    wait_for_file(run_dir / "checkpoints" / "last.ckpt")
    wait_for_file(workdir / "steps" / "step-5")  # in the middle of the second epoch
    cluster.signal(job, "USR1")
    finished_run(cluster, workdir, job, restarts=1)
    output = (workdir / f"slurm-{job}.out").read_text()
    assert "SIGUSR1 received" in output and f"requeued job {job}: continuing" in output
    # One wandb run, continued: both starts wrote into the run with the same id.
    ids = {path.name.rsplit("-", 1)[-1] for path in (run_dir / "wandb").glob("offline-run-*")}
    assert len(ids) == 1 and len(list((run_dir / "wandb").glob("offline-run-*"))) == 2


def test_warning_signal_in_the_first_epoch_requeues_and_finishes(cluster, workdir):
    job = submit(cluster, workdir, CPU_TASKS, *slow_marked_steps(workdir / "steps", 1.0))
    wait_for_file(workdir / "steps" / "step-1")
    run_dir = workdir / "runs" / "iris_mlp" / f"job-{job}"
    assert not (run_dir / "checkpoints" / "last.ckpt").exists()
    cluster.signal(job, "USR1")
    finished_run(cluster, workdir, job, restarts=1)


def test_two_nodes_train_and_requeue_together(cluster, workdir):
    two_nodes = ["--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=0", "--cpus-per-task=1"]
    job = submit(cluster, workdir, two_nodes, *slow_marked_steps(workdir / "steps", 0.3))
    wait_for_file(workdir / "steps" / "step-4")
    cluster.signal(job, "USR1")
    run_dir = finished_run(cluster, workdir, job, restarts=1)
    assert "num_nodes: 2" in (run_dir / "config.yaml").read_text()
    assert "16 per process x 2 process(es)" in (workdir / f"slurm-{job}.out").read_text()
