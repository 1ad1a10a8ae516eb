"""``INIT=`` / ``--model.init_from``: a new run that starts from another run's net weights."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from unittest import mock

import pytest
from helpers import EXPERIMENTS, QUIET, SHORT, read_summary, run_cli, run_dirs
from lightning.pytorch import Callback

from lightlab.cli import main

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")


class SanityMetrics(Callback):
    """Keeps what the sanity check (validation before the first optimizer step) logged."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def on_sanity_check_end(self, trainer, pl_module) -> None:
        self.metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        self.step = trainer.global_step


def fit_with(callback: Callback, *flags: str, runs_dir: Path) -> None:
    with mock.patch.object(sys, "argv", ["lightlab"]):
        main(["fit", "--config", IRIS, *flags, "--runs_dir", str(runs_dir), *QUIET], callbacks=[callback])


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A trained iris run to start from."""
    runs = tmp_path_factory.mktemp("source")
    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "4", runs_dir=runs)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir


def test_a_warm_start_begins_with_the_source_runs_validation_metrics(source, tmp_path, capsys):
    sanity = SanityMetrics()
    fit_with(
        sanity,
        "--model.init_from",
        str(source),
        *SHORT,
        "--trainer.num_sanity_val_steps",
        "-1",
        runs_dir=tmp_path,
    )
    expected = read_summary(source)["val"]  # the source's best checkpoint, scored on val
    assert sanity.step == 0
    for name in ("val/loss", "val/acc", "val/f1"):
        assert sanity.metrics[name] == pytest.approx(expected[name], abs=1e-6), name
    best = source / read_summary(source)["best_checkpoint"]
    assert f"warm start from {best}: 6 of 6 weight tensors taken" in capsys.readouterr().out
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["init_from"] == {"checkpoint": str(best), "loaded": 6, "total": 6, "skipped": []}
    # A fresh optimizer and epoch count: one epoch of three steps, from step 0.
    assert summary["global_step"] == 3 and summary["epochs"] == 1


def test_a_fresh_run_of_the_same_config_starts_elsewhere(source, tmp_path):
    sanity = SanityMetrics()
    fit_with(sanity, *SHORT, "--trainer.num_sanity_val_steps", "-1", runs_dir=tmp_path)
    assert sanity.metrics["val/loss"] != pytest.approx(read_summary(source)["val"]["val/loss"], abs=1e-3)


def test_weights_of_a_new_shape_keep_their_initialisation_and_are_named(source, tmp_path, capsys):
    sanity = SanityMetrics()
    fit_with(
        sanity,
        "--model.init_from",
        str(source),
        "--model.net.init_args.hidden_sizes",
        "[32, 16]",
        *SHORT,
        runs_dir=tmp_path,
    )
    out = capsys.readouterr().out
    # By name and shape: the output layer's bias (3,) still fits, its weight (3, 16) does not.
    assert "3 of 6 weight tensors taken; kept fresh: layers.4.weight (32, 32) there, (16, 32) here, " in out
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    skipped = read_summary(run_dir)["init_from"]["skipped"]
    assert [entry.split()[0] for entry in skipped] == ["layers.4.weight", "layers.4.bias", "layers.7.weight"]


def test_a_resumed_warm_start_continues_without_its_source(source, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    runs = tmp_path / "runs"
    run_cli(
        "fit", "--config", IRIS, "--model.init_from", str(copy), "--trainer.max_epochs", "1", runs_dir=runs
    )
    (run_dir,) = run_dirs(runs, "iris_mlp")
    shutil.rmtree(copy)  # the weights it started from are in its own checkpoints now
    capsys.readouterr()
    run_cli("fit", "--resume", str(run_dir), "--trainer.max_epochs", "2", runs_dir=runs)
    assert "warm start" not in capsys.readouterr().out
    summary = read_summary(run_dir)
    assert summary["epochs"] == 2 and summary["init_from"]["checkpoint"].startswith(str(copy))


def test_a_warm_started_pretrained_net_fetches_and_loads_nothing_of_its_own():
    from lightlab.nets import TorchvisionNet
    from lightlab.tasks import ClassificationTask

    net = TorchvisionNet("resnet18", 3, weights="DEFAULT")  # built without its weights
    assert ClassificationTask(net, num_classes=3).starts_pretrained
    assert not ClassificationTask(net, num_classes=3, init_from="runs/x/best.ckpt").starts_pretrained
