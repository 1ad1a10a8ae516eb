"""Every run measures itself: throughput, step time and data wait, peak memory of this run alone,
FLOPs, and time to the best monitored value (``callbacks/speed.py``)."""

from __future__ import annotations

import itertools
import re

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from lightning.pytorch import Callback

from lightlab.callbacks.speed import SpeedMeter, compute_dtype, speed_line, training_flops
from lightlab.nets import MLP

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")


def linear_training_flops(sizes: list[int]) -> int:
    """Forward and backward FLOPs of a stack of linear layers per sample: 2·in·out for the forward
    product, as much again for the weight gradient, and the input gradient for all but the first."""
    products = [2 * a * b for a, b in itertools.pairwise(sizes)]
    return 2 * sum(products) + sum(products[1:])


def test_iris_run_records_what_it_measured(tmp_path, capsys):
    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "4", runs_dir=tmp_path)
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    summary = read_summary(run_dir)
    speed = summary["speed"]
    assert speed["train_flops_per_sample"] == linear_training_flops([4, 32, 32, 3])  # counted exactly
    assert speed["flops_per_second"] == pytest.approx(
        speed["train_flops_per_sample"] * speed["samples_per_second"], rel=1e-3
    )
    assert speed["samples_per_second"] > 100 and speed["tokens_per_second"] is None
    assert speed["step_ms"] > 0 and 0 <= speed["data_wait_share"] < 1 and speed["first_step_s"] > 0
    assert speed["peak_memory_mb"] > 100 and speed["memory"] == "process peak RSS"
    assert speed["peak_flops"] is None and speed["mfu"] is None  # a CPU's peak is not known
    # Time to best is the epoch the best checkpoint was saved at.
    best_epoch = int(re.search(r"best-epoch(\d+)", summary["best_checkpoint"]).group(1))
    assert speed["epochs_to_best"] == best_epoch + 1
    assert 0 < speed["seconds_to_best"] <= summary["fit_seconds"]
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("speed: "))
    assert "samples/s" in line and "waiting for data" in line and "unknown peak" in line


class HoldMemory(Callback):
    """Holds ``megabytes`` of touched memory while training starts, then lets it go."""

    def __init__(self, megabytes: int) -> None:
        self.megabytes = megabytes

    def on_train_start(self, trainer, pl_module) -> None:
        held = torch.ones(self.megabytes * 2**18)  # float32: 4 bytes each
        assert held.sum() > 0


def test_peak_memory_is_this_runs_own(tmp_path):
    """Two runs in one process (as in a seed group or a sweep): the second does not report the
    first one's peak."""
    from lightlab.cli import main

    flags = ["fit", "--config", IRIS, "--trainer.max_epochs", "1", "--runs_dir", str(tmp_path)]
    main([*flags, "--experiment", "big"], callbacks=[HoldMemory(600)])
    main([*flags, "--experiment", "small"])
    big = read_summary(run_dirs(tmp_path, "big")[0])["speed"]["peak_memory_mb"]
    small = read_summary(run_dirs(tmp_path, "small")[0])["speed"]["peak_memory_mb"]
    assert big - small > 400, (big, small)


def test_text_runs_count_tokens(tmp_path):
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "text_bilstm.yaml"),
        "--trainer.max_epochs",
        "2",
        runs_dir=tmp_path,
    )
    (run_dir,) = run_dirs(tmp_path, "text_bilstm")
    speed = read_summary(run_dir)["speed"]
    assert speed["tokens_per_second"] > speed["samples_per_second"] > 0  # sequences of several tokens
    assert speed["train_flops_per_token"] > 0 and "train_flops_per_sample" not in speed
    assert speed["flops_per_second"] == pytest.approx(
        speed["train_flops_per_token"] * speed["tokens_per_second"], rel=1e-3
    )


def test_time_to_best_carries_over_a_resume(tmp_path):
    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "2", runs_dir=tmp_path)
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    before = read_summary(run_dir)["speed"]
    run_cli("fit", "--config", IRIS, "--resume", str(run_dir), "--trainer.max_epochs", "5", runs_dir=tmp_path)
    after = read_summary(run_dir)["speed"]
    assert before["epochs_to_best"] == 2 and after["epochs_to_best"] > 2  # iris still improves at epoch 3
    assert after["seconds_to_best"] > before["seconds_to_best"]  # counted from the run's first start


def test_counting_flops_leaves_the_net_and_random_state_as_they_were():
    net = MLP(num_classes=3, in_features=4, hidden_sizes=[8], dropout=0.5)
    before, inputs = {k: v.clone() for k, v in net.state_dict().items()}, torch.randn(2, 4)
    state = torch.get_rng_state()
    flops = training_flops(net, {"inputs": inputs})
    assert flops == 2 * linear_training_flops([4, 8, 3])  # a batch of two
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_speed_line_and_precision_dtypes():
    meter = SpeedMeter()
    meter.load_state_dict({"seconds_trained": 12.5, "best": [0.25, 7.5, 3]})
    record = meter.record()  # nothing trained in this process: no rates, the resumed best stays
    assert record["samples_per_second"] is None and record["epochs_to_best"] == 3
    assert record["seconds_to_best"] == 7.5
    line = speed_line(
        {
            "samples_per_second": 41230.0,
            "step_ms": 2.94,
            "data_wait_share": 0.04,
            "peak_memory_mb": 812.0,
            "memory": "process peak RSS",
            "flops_per_second": 3.1e9,
            "mfu": None,
            "epochs_to_best": 7,
            "seconds_to_best": 12.5,
        }
    )
    assert line == (
        "speed: 41,230 samples/s, step 2.94 ms (4% waiting for data), peak memory 812 MB (process peak RSS), "
        "3.1 GFLOP/s (unknown peak), best after 7 epoch(s), 12.5 s"
    )
    assert compute_dtype("bf16-mixed") is torch.bfloat16 and compute_dtype("16-true") is torch.float16
    assert compute_dtype("32-true") is torch.float32 and compute_dtype("64") is torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_memory_is_cuda_allocated_and_steps_do_not_synchronise(tmp_path, monkeypatch):
    calls = []
    synchronize = torch.cuda.synchronize
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: calls.append(1) or synchronize(*a, **k))
    flags = ["--trainer.accelerator", "gpu", "--trainer.devices", "1", "--trainer.max_epochs", "2"]
    run_cli("fit", "--config", IRIS, *flags, runs_dir=tmp_path)
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    speed = read_summary(run_dir)["speed"]
    assert speed["memory"] == "cuda max allocated" and speed["peak_memory_mb"] > 0
    assert speed["samples_per_second"] > 0 and speed["flops_per_second"] > 0
    assert (speed["mfu"] is None) == (speed["peak_flops"] is None)
    steps = read_summary(run_dir)["global_step"]
    assert len(calls) <= 2 * 2 < steps  # at most twice an epoch, never once a step
