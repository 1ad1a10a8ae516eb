"""Multi-process training on CPU: DDP with two processes, and two torchrun "nodes" on loopback."""

import os
import socket
import subprocess
import sys

import pytest
import torch
from helpers import EXPERIMENTS, pythonpath_with_tests, read_summary, run_dirs

from lightlab.data import IrisDataModule
from lightlab.tasks import ClassificationTask

PRESETS = EXPERIMENTS / "trainer"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LIGHTLAB_RUN_DIR"}
    env.update(WANDB_MODE="disabled", PYTHONPATH=pythonpath_with_tests(), OMP_NUM_THREADS="1")
    return env


def _lightlab(*args, cwd, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lightlab", *args, *QUIET],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _fit_ddp_cpu(tmp_path, experiment: str, *extra: str):
    """``fit`` of an experiment with the ddp_cpu preset (two processes); returns the result and runs dir."""
    runs = tmp_path / "runs"
    result = _lightlab(
        "fit",
        "--config",
        str(EXPERIMENTS / f"{experiment}.yaml"),
        "--config",
        str(PRESETS / "ddp_cpu.yaml"),
        "--runs_dir",
        str(runs),
        *extra,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_cpu_two_processes_share_one_run(tmp_path):
    # 27 validation and 27 test rows: not divisible by the two processes.
    splits = ["--data.init_args.val_fraction", "0.18", "--data.init_args.test_fraction", "0.18"]
    result, runs = _fit_ddp_cpu(
        tmp_path,
        "iris_mlp",
        "--trainer.max_epochs",
        "6",
        *splits,
        "--trainer.callbacks+=helpers.RecordFinalWeights",
        f"--trainer.callbacks.folder={tmp_path / 'weights'}",
    )
    assert "batch size: 16 per process x 2 process(es) = 32 samples per optimizer step" in result.stdout
    assert "replicates some samples" not in result.stdout + result.stderr
    (run_dir,) = run_dirs(runs, "iris_mlp")  # one folder, not one per rank
    assert [p.name for p in runs.rglob("summary.json")] == ["summary.json"]
    digests = [(tmp_path / "weights" / f"weights-rank{r}.txt").read_text().split() for r in (0, 1)]
    assert digests[0][0] == digests[1][0]  # identical final weights
    assert digests[0][1] != digests[1][1]  # ... in two different processes
    assert digests[0][2] == "world=2"

    summary = read_summary(run_dir)
    assert summary["global_step"] == 6 * 3  # 96 rows / 16 per batch / 2 ranks = 3 steps per epoch
    # The scores of two processes are those of one process on the same checkpoint: each row once.
    task = ClassificationTask.load_from_checkpoint(
        run_dir / summary["best_checkpoint"], map_location="cpu"
    ).eval()
    data = IrisDataModule(val_fraction=0.18, test_fraction=0.18)
    for split in ("val", "test"):
        tensors = data.splits[split].tensors
        assert len(tensors["target"]) == 27
        with torch.no_grad():
            logits = task(tensors["inputs"])
        accuracy = (logits.argmax(-1) == tensors["target"]).float().mean().item()
        loss = torch.nn.functional.cross_entropy(logits, tensors["target"]).item()
        assert summary[split][f"{split}/acc"] == pytest.approx(accuracy)
        assert summary[split][f"{split}/loss"] == pytest.approx(loss, rel=1e-5)
    assert sum(map(sum, summary["confusion_matrix"])) == 27


@pytest.mark.slow
def test_two_torchrun_nodes_on_loopback(tmp_path):
    runs, port = tmp_path / "runs", _free_port()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "2",
        "--nproc-per-node",
        "1",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        "--rdzv-id",
        "loopback-test",
    ]
    script = [
        "-m",
        "lightlab",
        "fit",
        "--config",
        str(EXPERIMENTS / "iris_mlp.yaml"),
        "--config",
        str(PRESETS / "multinode.yaml"),
        "--trainer.max_epochs",
        "3",
        "--runs_dir",
        str(runs),
        *QUIET,
    ]
    nodes = [
        subprocess.Popen(
            [*command, "--node-rank", str(rank), *script],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    (run_dir,) = run_dirs(runs, "iris_mlp")
    assert run_dir.name == "job-loopback-test"  # both nodes agreed without talking
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["global_step"] == 3 * 3
    assert "batch size: 16 per process x 2 process(es)" in outputs[0]


@pytest.mark.slow
def test_text_bucketing_under_ddp_cpu(tmp_path, negation_csv):
    _, runs = _fit_ddp_cpu(
        tmp_path, "text_bilstm", "--data.init_args.path", str(negation_csv), "--trainer.max_epochs", "2"
    )
    summary = read_summary(run_dirs(runs, "text_bilstm")[0])
    # 480 training sentences = 8 batches of 64, shared by 2 ranks: 4 steps per epoch
    assert summary["global_step"] == 2 * 4
    assert summary["status"] == "completed"


@pytest.mark.slow
def test_image_folder_under_ddp_cpu(tmp_path):
    from lightlab.data.shapes import generate_shapes

    data = generate_shapes(tmp_path / "shapes", images_per_class=40)
    _, runs = _fit_ddp_cpu(
        tmp_path, "shapes_cnn", "--data.init_args.data_dir", str(data), "--trainer.max_epochs", "2"
    )
    (run_dir,) = run_dirs(runs, "shapes_cnn")
    # 112 training images split over 2 ranks: 56 each, one batch of 64 per epoch
    assert read_summary(run_dir)["global_step"] == 2
    assert (run_dir / "samples.png").is_file() and (run_dir / "confusion_matrix.png").is_file()
