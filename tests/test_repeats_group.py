"""Seed groups and k-fold groups trained end to end: ``make train SEEDS=…``, ``FOLDS=…``, a group
stopped and continued with ``RESUME=``, and the mistakes refused before anything is made."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch
from helpers import QUIET, ROOT, pythonpath_with_tests, run_cli

from lightlab.data import IrisDataModule
from lightlab.repeats.group import main as group_main
from lightlab.run.groups import GroupFolder, check_is_run, describe
from lightlab.run.results import main as results_main
from lightlab.run.summary import read_summary

SHORT = ["--trainer.max_epochs=3"]


def make(*variables: str, args: list[str], runs_dir: Path) -> subprocess.CompletedProcess:
    """``make <variables> ARGS=…`` as a user runs it, with runs under ``runs_dir``."""
    env = {**os.environ, "PYTHONPATH": pythonpath_with_tests(), "WANDB_MODE": "disabled"}
    command = ["make", "--no-print-directory", *variables]
    command.append(f"ARGS={shlex.join([*args, '--runs_dir', str(runs_dir)])}")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def group(experiment: str, *flags: str, runs_dir: Path, args: list[str] = SHORT) -> None:
    """``python -m lightlab group`` in this process."""
    with mock.patch.object(sys, "argv", ["lightlab"]):
        group_main([experiment, *flags, f"--args={shlex.join([*args, '--runs_dir', str(runs_dir), *QUIET])}"])


def only_group(runs_dir: Path, experiment: str) -> GroupFolder:
    (path,) = [p for p in (runs_dir / experiment).iterdir() if (p / "group.json").is_file()]
    return GroupFolder(path)


def test_a_seed_group_trains_each_seed_and_reports_its_statistics(runs_dir):
    result = make("train", "EXP=iris_mlp", "SEEDS=3", args=SHORT, runs_dir=runs_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = only_group(runs_dir, "iris_mlp")
    record = folder.read()
    assert record["status"] == "completed" and record["seeds"] == [42, 43, 44]
    summaries = [read_summary(folder.path / f"seed-{seed}") for seed in (42, 43, 44)]
    assert [s["seed"] for s in summaries] == [42, 43, 44]
    for metric in ("val/loss", "test/acc"):
        split = metric.split("/")[0]
        assert record["metrics"][metric] == describe([s[split][metric] for s in summaries])
    assert record["config"]["seed_everything"] == [42, 43, 44]
    assert "test/acc" in result.stdout and "± " in result.stdout and "3 of 3 runs completed" in result.stdout
    # every member is an ordinary run folder; the group is not one
    check_is_run(folder.path / "seed-43")
    with pytest.raises(Exception, match="is a group of runs, not a run"):
        check_is_run(folder.path)
    # make results: the group is one row of mean ± std over its 3 runs
    results_main(["--experiment", "iris_mlp", "--runs_dir", str(runs_dir)])
    table = (runs_dir / "iris_mlp" / "results.csv").read_text()
    assert "(3 runs)" in table and "(n=3)" in table


def test_results_with_the_default_runs_folder_show_groups_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ relative to the working directory, as make results reads it
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    group("iris_mlp", "--seeds", "2", runs_dir=Path("runs"), args=["--trainer.max_epochs=1"])
    results_main(["--experiment", "iris_mlp"])
    results_main(["--experiment", "iris_mlp", "--expand"])
    table = (tmp_path / "runs" / "iris_mlp" / "results.csv").read_text()
    assert "iris_mlp/group-" in table and "/seed-43" in table and "dirpath" not in table


def test_a_group_continued_with_other_flags_is_refused(runs_dir, capsys):
    group("iris_mlp", "--seeds", "1", runs_dir=runs_dir, args=["--trainer.max_epochs=1"])
    folder = only_group(runs_dir, "iris_mlp")
    with pytest.raises(SystemExit) as stop, mock.patch.object(sys, "argv", ["lightlab"]):
        group_main(["--resume", str(folder.path), "--", "--model.lr", "0.1", "--runs_dir", str(runs_dir)])
    assert stop.value.code == 2
    assert "RESUME continues a group as it was planned" in capsys.readouterr().err


def test_folds_hold_out_each_training_sample_once_and_keep_the_test_split():
    plain = IrisDataModule()
    folds = [IrisDataModule(folds=3, fold=k) for k in range(3)]
    held_out = torch.cat([f.splits["val"].tensors["inputs"] for f in folds])
    pool = torch.cat([plain.splits[s].tensors["inputs"] for s in ("train", "val")])
    # the scaling differs per fold (fit on its own training rows), so compare row counts and the test
    assert len(held_out) == len(pool) == 120
    for fold in folds:
        assert torch.equal(fold.splits["test"].tensors["target"], plain.splits["test"].tensors["target"])
        assert len(fold.splits["train"]) + len(fold.splits["val"]) == 120


def test_a_fold_group_is_a_run_per_fold_scored_on_the_test_split(runs_dir):
    group("iris_mlp", "--folds", "3", runs_dir=runs_dir)
    folder = only_group(runs_dir, "iris_mlp")
    names = sorted(p.name for p in folder.member_folders())
    assert names == ["fold-0-seed-42", "fold-1-seed-42", "fold-2-seed-42"]
    record = folder.read()
    assert record["metrics"]["test/acc"]["n"] == 3 and record["folds"] == 3
    config = (folder.path / "fold-2-seed-42" / "config.yaml").read_text()
    assert "folds: 3" in config and "fold: 2" in config


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seeds", "0"], "SEEDS=0: give how many seeds"),
        (["--seeds", "three"], "is not a count or a list of integers"),
        (["--seeds", "3 3"], "names a seed twice"),
        (["--folds", "1"], "--folds: '1' is not an integer >= 2"),
        (["--folds", "41"], "folds=41 is more than the 40 sample(s)"),
        ([], "a group needs SEEDS=<count or list> or FOLDS=<k>"),
    ],
)
def test_a_group_mistake_is_one_line_and_leaves_nothing(flags, message, runs_dir, capsys):
    with pytest.raises(SystemExit) as stop:
        group("iris_mlp", *flags, runs_dir=runs_dir)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (runs_dir / "iris_mlp").exists() or not any((runs_dir / "iris_mlp").iterdir())


def test_folds_on_data_given_as_fixed_splits_are_refused(tmp_path, keyword_csv, capsys):
    flags = [f"--data.init_args.train_path={keyword_csv}", f"--data.init_args.val_path={keyword_csv}"]
    flags += ["--data.init_args.path=null"]
    with pytest.raises(SystemExit) as stop:
        group("text_file_ngrams", "--folds", "2", runs_dir=tmp_path / "runs", args=[*SHORT, *flags])
    assert stop.value.code == 2
    assert "folds re-split one file: give path" in capsys.readouterr().err
    assert not any((tmp_path / "runs" / "text_file_ngrams").glob("group-*"))


@pytest.mark.slow
def test_a_stopped_group_continues_where_it_stopped(runs_dir, tmp_path, capsys):
    stop_at = ["--trainer.callbacks+=helpers.CtrlCOnce", f"--trainer.callbacks.folder={tmp_path}"]
    stop_at += ["--trainer.callbacks.seed=43"]
    with pytest.raises(SystemExit) as stop:
        group("iris_mlp", "--seeds", "3", runs_dir=runs_dir, args=[*SHORT, *stop_at])
    assert stop.value.code == 130
    folder = only_group(runs_dir, "iris_mlp")
    states = {p.name: (read_summary(p) or {}).get("status") for p in folder.member_folders()}
    assert states == {"seed-42": "completed", "seed-43": "interrupted"}
    assert f"RESUME={folder.path}" in capsys.readouterr().err
    first = (folder.path / "seed-42" / "summary.json").stat().st_mtime_ns
    run_cli(
        "fit", "--resume", "latest", "--experiment", "iris_mlp", runs_dir=runs_dir
    )  # make train RESUME=latest
    out = capsys.readouterr().out
    assert "continuing" in out and "seed-43" in out
    record = folder.read()
    assert record["status"] == "completed" and record["metrics"]["test/acc"]["n"] == 3
    assert (folder.path / "seed-42" / "summary.json").stat().st_mtime_ns == first  # kept, not retrained
    assert json.loads((folder.path / "seed-43" / "summary.json").read_text())["epochs"] == 3


@pytest.mark.slow
def test_folds_of_a_text_file_and_an_image_folder_are_run_folders(tmp_path, keyword_csv, shapes_root):
    short = [*SHORT, "--trainer.limit_train_batches=3", "--trainer.limit_val_batches=2"]
    runs = tmp_path / "runs"
    group(
        "text_file_ngrams",
        "--folds",
        "3",
        runs_dir=runs,
        args=[*short, f"--data.init_args.path={keyword_csv}"],
    )
    group(
        "shapes_cnn", "--folds", "2", runs_dir=runs, args=[*short, f"--data.init_args.data_dir={shapes_root}"]
    )
    for experiment, folds in (("text_file_ngrams", 3), ("shapes_cnn", 2)):
        record = only_group(runs, experiment).read()
        assert record["status"] == "completed" and record["metrics"]["test/acc"]["n"] == folds
        held_out = [read_summary(p)["val"] for p in only_group(runs, experiment).member_folders()]
        assert len(held_out) == folds


@pytest.mark.slow
def test_a_group_over_two_worker_processes_completes_every_member(runs_dir):
    result = make("train", "EXP=iris_mlp", "SEEDS=3 5 8", "JOBS=2", args=SHORT, runs_dir=runs_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_group(runs_dir, "iris_mlp").read()
    assert record["seeds"] == [3, 5, 8] and record["completed"] == ["seed-3", "seed-5", "seed-8"]
    assert "2 workers" in result.stdout


@pytest.mark.slow
def test_a_group_under_the_ddp_cpu_preset_trains_each_member_over_two_processes(runs_dir):
    preset = ["--config", str(ROOT / "experiments" / "trainer" / "ddp_cpu.yaml"), *SHORT]
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "lightlab", "group", "iris_mlp", "--seeds", "2"]
    command.append(f"--args={shlex.join([*preset, '--runs_dir', str(runs_dir), *QUIET])}")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # the second process of each member trained that member; it did not start a group of its own
    (folder,) = list((runs_dir / "iris_mlp").iterdir())
    assert GroupFolder(folder).read()["status"] == "completed"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["seed-42", "seed-43"]
    assert result.stdout.count("batch size: 16 per process x 2 process(es)") == 2


@pytest.mark.slow
def test_a_requeued_slurm_job_continues_its_own_group(runs_dir, tmp_path, monkeypatch, capsys):
    stop_at = ["--trainer.callbacks+=helpers.CtrlCOnce", f"--trainer.callbacks.folder={tmp_path}"]
    stop_at += ["--trainer.callbacks.seed=43"]
    monkeypatch.setenv("SLURM_JOB_ID", "7701")
    with pytest.raises(SystemExit):
        group("iris_mlp", "--seeds", "2", runs_dir=runs_dir, args=[*SHORT, *stop_at])
    folder = runs_dir / "iris_mlp" / "group-job-7701"
    assert GroupFolder(folder).read()["status"] == "interrupted"
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")  # the same job, started again by the requeue
    group("iris_mlp", "--seeds", "2", runs_dir=runs_dir, args=[*SHORT, *stop_at])
    assert "requeued job 7701: continuing the group" in capsys.readouterr().out
    assert [p.name for p in (runs_dir / "iris_mlp").iterdir()] == ["group-job-7701"]
    assert GroupFolder(folder).read()["status"] == "completed"
