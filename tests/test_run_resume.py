"""Resuming a run in its own folder: killed mid-epoch and continued, it ends as if never stopped."""

from __future__ import annotations

import csv
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from helpers import ROOT, epochs_started, pythonpath_with_tests, read_summary, run_cli, run_dirs
from lightning.pytorch import Callback, Trainer

from lightlab.callbacks import epoch_history
from lightlab.callbacks.last_checkpoint import LastCheckpoint
from lightlab.data import IrisDataModule
from lightlab.errors import UserError
from lightlab.nets import MLP
from lightlab.run.config import point_loggers_at
from lightlab.tasks import ClassificationTask

EPOCHS = 8
IRIS = str(ROOT / "experiments" / "iris_mlp.yaml")
# A learning rate at which iris_mlp's validation loss is lowest at epoch 2 and higher after it, so
# the newest state of training is not the best one.
EARLY_BEST, BEST_EPOCH = ["--model.lr=0.5"], 2
RETIRED_STATE_KEY = (
    "PeriodicCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 0, "
    "'train_time_interval': None}"
)
# Dropout stays on (0.1 in iris_mlp): resuming must restore the random states to match exactly.
ARGS = [f"--trainer.max_epochs={EPOCHS}", *EARLY_BEST, "--trainer.callbacks+=helpers.SlowSteps"]


def make_train(runs_dir: Path, *variables: str, args: list[str] = ARGS, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": pythonpath_with_tests(), "WANDB_MODE": "disabled"}
    command = ["make", "--no-print-directory", "train", *variables]
    command.append(f"ARGS={shlex.join([*args, '--runs_dir', str(runs_dir)])}")
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True, start_new_session=True, **popen)


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err[-2000:]
    return out


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)[
        "state_dict"
    ]


def epochs_logged(run_dir: Path, column: str) -> Counter:
    with (run_dir / "metrics.csv").open(newline="") as file:
        return Counter(int(row["epoch"]) for row in csv.DictReader(file) if row[column] and row["epoch"])


def test_killed_mid_epoch_and_resumed_matches_an_uninterrupted_run(tmp_path):
    killed_runs, whole_runs, marks = tmp_path / "killed", tmp_path / "whole", tmp_path / "marks"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    whole = make_train(whole_runs, "EXP=iris_mlp", **pipes)  # runs alongside: 2 cores
    recorded = [*ARGS, "--trainer.callbacks+=helpers.EpochStarts", f"--trainer.callbacks.folder={marks}"]
    victim = make_train(
        killed_runs, "EXP=iris_mlp", args=recorded, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 180
    last = None
    while time.time() < deadline and victim.poll() is None:
        found = list(killed_runs.glob("iris_mlp/*/checkpoints/last.ckpt"))
        # After an epoch that did not improve on the best (epoch 2 at this learning rate).
        if found and torch.load(found[0], map_location="cpu", weights_only=False)["epoch"] > BEST_EPOCH:
            last = found[0]
            break
        time.sleep(0.1)
    assert last is not None, "the run ended or stalled before writing a checkpoint after its best epoch"
    time.sleep(0.15)  # into the next epoch: each of its 6 steps takes at least 0.05 s
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    (run_dir,) = run_dirs(killed_runs, "iris_mlp")
    assert not (run_dir / "summary.json").exists()
    saved = torch.load(last, map_location="cpu", weights_only=False)
    interrupted_at, step = saved["epoch"], saved["global_step"]
    assert BEST_EPOCH < interrupted_at < EPOCHS - 1
    assert [p.name for p in (run_dir / "checkpoints").glob("best-*")] == [f"best-epoch{BEST_EPOCH:03d}.ckpt"]

    out = finished(make_train(killed_runs, f"RESUME={run_dir}", **pipes))
    assert f"from checkpoints/last.ckpt (epoch {interrupted_at}, step {step})" in out
    assert str(run_dir) in out
    assert run_dirs(killed_runs, "iris_mlp") == [run_dir]  # continued in its own folder
    first, resumed_epochs = epochs_started(marks).values()
    assert resumed_epochs == list(range(interrupted_at + 1, EPOCHS))  # no epoch trained twice
    assert first[-1] == interrupted_at + 1  # the one the kill cut short
    finished(whole)
    (whole_dir,) = run_dirs(whole_runs, "iris_mlp")

    summary = read_summary(run_dir)
    assert summary["status"] == "completed"
    assert summary["epochs"] == read_summary(whole_dir)["epochs"] == EPOCHS
    for column in ("val/loss", "train/loss"):  # every epoch once (val also once more: the best's score)
        logged = epochs_logged(run_dir, column)
        assert [logged[epoch] for epoch in range(EPOCHS)] == [1] * EPOCHS, column
        assert logged == epochs_logged(whole_dir, column)
    resumed, uninterrupted = weights(run_dir), weights(whole_dir)
    assert resumed.keys() == uninterrupted.keys()
    for name, tensor in resumed.items():
        assert torch.equal(tensor, uninterrupted[name]), name
    history = epoch_history(run_dir / "metrics.csv")[:EPOCHS]  # the curves across the resume
    assert len(history) == EPOCHS and all(
        "val/loss" in h and "train/loss" in h and "lr" in h for h in history
    )


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of ``run_dir`` under ``tmp_path/runs/iris_mlp`` that a test may change."""
    copy = tmp_path / "runs" / "iris_mlp" / run_dir.name
    shutil.copytree(run_dir, copy)
    return copy


def rows_before(run_dir: Path, step: int) -> list[dict[str, str]]:
    """The rows of ``metrics.csv`` logged before ``step``: those of training, when ``step`` is the
    final one, at which the evaluation after fit logs."""
    with (run_dir / "metrics.csv").open(newline="") as file:
        return [row for row in csv.DictReader(file) if int(row["step"]) < step]


@pytest.fixture(scope="module")
def early_best_run(tmp_path_factory) -> Path:
    """A completed 12-epoch run whose validation loss is lowest at an early epoch."""
    runs = tmp_path_factory.mktemp("early") / "runs"
    run_cli("fit", "--config", IRIS, *EARLY_BEST, "--trainer.max_epochs", "12", runs_dir=runs)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    assert read_summary(run_dir)["best_checkpoint"] == f"checkpoints/best-epoch{BEST_EPOCH:03d}.ckpt"
    return run_dir


def test_a_completed_run_trains_longer_from_its_last_epoch_not_its_best(early_best_run, tmp_path, capsys):
    run_dir = copy_run(early_best_run, tmp_path)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        f"best-epoch{BEST_EPOCH:03d}.ckpt",
        "last.ckpt",
    ]
    original = rows_before(run_dir, 72)
    capsys.readouterr()
    run_cli("fit", "--resume", str(run_dir), "--trainer.max_epochs", "14", runs_dir=run_dir.parent.parent)
    assert "from checkpoints/last.ckpt (epoch 11, step 72)" in capsys.readouterr().out
    rows = rows_before(run_dir, 84)
    assert rows[: len(original)] == original  # every original row kept as it was
    new_epochs = sorted({int(row["epoch"]) for row in rows[len(original) :] if row["train/loss"]})
    assert new_epochs == [12, 13]  # only the new epochs trained
    summary = read_summary(run_dir)
    assert summary["epochs"] == 14 and summary["global_step"] == 84
    # The copied folder kept its best so far: the best is the lowest validation loss of all 14 epochs.
    losses = [float(row["val/loss"]) for row in rows if row["val/loss"]]
    assert len(losses) == 14 and summary["best_score"] == pytest.approx(min(losses))
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[-1] == "last.ckpt"  # no last-v1


def test_a_folder_with_the_old_pair_of_last_files_resumes_from_the_newer(
    early_best_run, tmp_path, capsys, recwarn
):
    run_dir = copy_run(early_best_run, tmp_path)
    folder = run_dir / "checkpoints"
    # What older versions left: last.ckpt a copy of the best epoch, last-v1.ckpt the end of training.
    # Both also held the state of the callback that wrote last-v1.ckpt, which is gone.
    for source, target in (("last.ckpt", "last-v1.ckpt"), (f"best-epoch{BEST_EPOCH:03d}.ckpt", "last.ckpt")):
        checkpoint = torch.load(folder / source, map_location="cpu", weights_only=False)
        checkpoint["callbacks"][RETIRED_STATE_KEY] = {"monitor": None, "dirpath": str(folder)}
        torch.save(checkpoint, folder / target)
    capsys.readouterr()
    run_cli("fit", "--resume", str(run_dir), "--trainer.max_epochs", "13", runs_dir=run_dir.parent.parent)
    assert not [w for w in recwarn if "callbacks used to create the checkpoint" in str(w.message)]
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("continuing")]
    assert "from checkpoints/last-v1.ckpt (epoch 11, step 72)" in line
    assert f"checkpoints/last.ckpt (epoch {BEST_EPOCH}, step {6 * (BEST_EPOCH + 1)})" in line
    summary = read_summary(run_dir)
    assert summary["epochs"] == 13 and summary["global_step"] == 78
    assert torch.load(folder / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 78


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("done") / "runs"
    run_cli(
        "fit", "--config", str(ROOT / "experiments/iris_mlp.yaml"), "--trainer.max_epochs", "2", runs_dir=runs
    )
    return run_dirs(runs, "iris_mlp")[0]


def resume_error(capsys, *args: str) -> str:
    from lightlab.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--trainer.enable_progress_bar", "false"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_resume_explains_what_is_wrong(completed_run, tmp_path, capsys):
    runs = completed_run.parent.parent
    message = resume_error(capsys, "--resume", "latest", "--experiment", "iris_mlp", "--runs_dir", str(runs))
    assert "no unfinished iris_mlp run" in message and "make train EXP=iris_mlp" in message
    assert "not a run folder" in resume_error(capsys, "--resume", str(tmp_path))
    assert "nothing to resume at" in resume_error(capsys, "--resume", str(tmp_path / "missing"))
    message = resume_error(capsys, "--resume", str(completed_run), "--experiment", "iris_custom")
    assert "is a run of iris_mlp, not iris_custom" in message
    message = resume_error(capsys, "--resume", str(completed_run))
    assert "already completed its 2 epochs" in message and "--trainer.max_epochs" in message
    no_checkpoint = tmp_path / "iris_mlp" / "early"
    no_checkpoint.mkdir(parents=True)
    (no_checkpoint / "config.yaml").write_text((completed_run / "config.yaml").read_text())
    assert "has no checkpoints/last.ckpt" in resume_error(capsys, "--resume", str(no_checkpoint))
    (no_checkpoint / "checkpoints").mkdir()
    (no_checkpoint / "checkpoints" / "last.ckpt").write_bytes(b"cut short")  # the only one, damaged
    assert "can be read; start a new run" in resume_error(capsys, "--resume", str(no_checkpoint))


def test_a_completed_run_trains_longer_in_its_own_folder(completed_run, capsys):
    before = {p.name for p in completed_run.iterdir()}
    run_cli(
        "fit",
        "--resume",
        str(completed_run / "checkpoints" / "last.ckpt"),
        "--trainer.max_epochs",
        "3",
        runs_dir=completed_run.parent.parent,
    )
    assert run_dirs(completed_run.parent.parent, "iris_mlp") == [completed_run]
    summary = read_summary(completed_run)
    assert summary["status"] == "completed" and summary["epochs"] == 3
    assert "max_epochs: 3" in (completed_run / "config.yaml").read_text()  # what it continued with
    assert before <= {p.name for p in completed_run.iterdir()}
    logged = epochs_logged(completed_run, "train/loss")
    assert [logged[epoch] for epoch in range(3)] == [1, 1, 1]
    with (completed_run / "metrics.csv").open(newline="") as file:
        test_rows = [row for row in csv.DictReader(file) if row["test/acc"]]
    assert len(test_rows) == 1  # the earlier test result gave way to the new one


def test_each_new_run_gets_its_own_wandb_id_and_a_resumed_one_keeps_it(tmp_path, monkeypatch):
    from jsonargparse import Namespace

    monkeypatch.setenv("WANDB_MODE", "offline")

    def wandb_logger(given_id=None):
        return [
            Namespace(class_path="lightning.pytorch.loggers.WandbLogger", init_args=Namespace(id=given_id))
        ]

    first = point_loggers_at(wandb_logger(), tmp_path / "a", "exp")[0].init_args.id
    second = point_loggers_at(wandb_logger(), tmp_path / "b", "exp")[0].init_args.id
    assert first and second and first != second
    assert (
        point_loggers_at(wandb_logger(first), tmp_path / "a", "exp", resuming=True)[0].init_args.id == first
    )
    # a saved config.yaml run again as a new run must not continue the old wandb run
    assert point_loggers_at(wandb_logger(first), tmp_path / "c", "exp")[0].init_args.id != first


class StepsInLastCheckpoint(Callback):
    """Reads ``last.ckpt`` after every step: which step the newest one holds, and crashes at ``crash_at``."""

    def __init__(self, folder: Path, crash_at: int | None = None) -> None:
        self.path, self.crash_at, self.seen = folder / "last.ckpt", crash_at, []

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.path.is_file():
            self.seen.append(torch.load(self.path, map_location="cpu", weights_only=False)["global_step"])
        if trainer.global_step == self.crash_at:
            raise RuntimeError("power cut")


def iris_trainer(folder: Path, *callbacks: Callback) -> tuple[Trainer, ClassificationTask, IrisDataModule]:
    data = IrisDataModule(batch_size=16)  # 6 steps per epoch
    task = ClassificationTask(MLP(in_features=4, num_classes=3), num_classes=3)
    trainer = Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[LastCheckpoint(steps=4, dirpath=str(folder)), *callbacks],
    )
    return trainer, task, data


def test_periodic_checkpoint_saves_mid_epoch_and_a_resume_continues_from_its_step(tmp_path):
    probe = StepsInLastCheckpoint(tmp_path, crash_at=9)
    trainer, task, data = iris_trainer(tmp_path, probe)
    with pytest.raises(RuntimeError, match="power cut"):
        trainer.fit(task, datamodule=data)
    assert sorted(set(probe.seen)) == [4, 6, 8]  # every 4 steps inside epochs, and at the end of each
    trainer, task, data = iris_trainer(tmp_path, probe := StepsInLastCheckpoint(tmp_path))
    # weights_only=False: built outside the CLI, the task keeps its net object in its hparams
    trainer.fit(task, datamodule=data, ckpt_path=str(tmp_path / "last.ckpt"), weights_only=False)
    assert trainer.global_step == 12 and trainer.current_epoch == 2
    assert probe.seen[0] == 8  # the first step after the resume is step 9


def test_periodic_checkpoint_rejects_unclear_settings():
    # A value out of range (steps 0) is the parser's, with every other range (tests/test_ranges.py).
    with pytest.raises(UserError, match="not both"):
        LastCheckpoint(minutes=5, steps=10)


def test_ctrl_c_leaves_an_interrupted_run_that_latest_resumes(tmp_path, capsys):
    runs = tmp_path / "runs"
    iris = str(ROOT / "experiments" / "iris_mlp.yaml")
    with pytest.raises(SystemExit):
        run_cli(
            "fit",
            "--config",
            iris,
            "--trainer.max_epochs",
            "4",
            "--trainer.callbacks+=helpers.CtrlCAt",
            runs_dir=runs,
        )
    (run_dir,) = run_dirs(runs, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and f"RESUME={run_dir}" in summary["reason"]
    assert f"interrupted: continue it with make train RESUME={run_dir}" in capsys.readouterr().err
    # the config keeps the Ctrl-C callback; a later epoch than the one it stops at lets the run end
    run_cli(
        "fit",
        "--resume",
        "latest",
        "--experiment",
        "iris_mlp",
        "--trainer.callbacks.epoch",
        "99",
        runs_dir=runs,
    )
    assert run_dirs(runs, "iris_mlp") == [run_dir]
    assert read_summary(run_dir)["status"] == "completed" and read_summary(run_dir)["epochs"] == 4
