"""A runs folder on a disk that fails, on real file systems: a tmpfs mounted full (or filling up
during training), a read-only bind mount, and a path that is a file. Each is one line and exit
status 2, leaves no partial file, and keeps every earlier checkpoint loadable. Mounting needs
root (CI has it); elsewhere these tests skip, saying why."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, run_cli, snapshot

from lightlab.run.checkpoints import training_progress

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")


@contextlib.contextmanager
def mounted(target: Path, *mount_args: str) -> Iterator[Path]:
    """``mount <mount_args> <target>``, unmounted afterwards; a skip where mounting is not allowed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a test file system needs root and mount(8)")
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", *mount_args, str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Write a file that leaves ``leave`` bytes free on ``disk``."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with (disk / "filler").open("wb") as handle, contextlib.suppress(OSError):  # full: filled
        handle.write(b"\0" * max(free - leave, 0))


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def fit_fails(runs: Path, capsys, *flags: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("fit", "--config", IRIS, *flags, runs_dir=runs)
    assert exit_info.value.code == 2
    return one_line_error(capsys)


def test_a_runs_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "runs").write_text("not a folder")
    line = fit_fails(tmp_path / "runs", capsys)
    assert "runs is a file, not a folder" in line and "--runs_dir" in line
    assert (tmp_path / "runs").read_text() == "not a folder"


def test_a_read_only_runs_folder_is_one_line_and_changes_nothing(tmp_path, capsys):
    source = tmp_path / "kept"
    (source / "iris_mlp" / "earlier").mkdir(parents=True)
    (source / "iris_mlp" / "earlier" / "summary.json").write_text('{"status": "completed"}')
    with mounted(tmp_path / "ro", "--bind", str(source)) as ro:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        before = snapshot(source)
        line = fit_fails(ro, capsys)
    assert "Read-only file system" in line and "write somewhere writable (--runs_dir)" in line
    assert snapshot(source) == before


def test_a_full_disk_at_the_start_is_one_line_before_anything_is_built(tmp_path, capsys):
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=512k", "tmpfs") as disk:
        fill(disk, leave=0)
        line = fit_fails(disk / "runs", capsys)
        assert "No space left on device" in line and "free some disk space" in line
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no run folder, not even empty


def test_a_disk_that_fills_during_training_stops_the_run_and_keeps_its_checkpoints(tmp_path, capsys):
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as disk:
        fill(disk, leave=160 * 1024)  # room for the start and a checkpoint or two, not for 60 epochs
        line = fit_fails(disk / "runs", capsys)
        assert "could not write" in line and "No space left on device" in line
        (run_dir,) = (disk / "runs" / "iris_mlp").iterdir()
        assert not [p for p in run_dir.rglob("*") if p.name.endswith(".partial")]  # no partial file
        checkpoints = list(run_dir.rglob("*.ckpt"))
        assert checkpoints and all(training_progress(path) is not None for path in checkpoints)
        metrics = (run_dir / "metrics.csv").read_text()
        assert metrics.endswith("\n")
        rows = list(csv.reader(metrics.splitlines()))
        assert all(len(row) == len(rows[0]) for row in rows)
        summary = run_dir / "summary.json"
        if summary.exists():  # recorded where the disk still allowed it
            recorded = json.loads(summary.read_text())
            assert recorded["status"] == "failed" and "No space left on device" in recorded["reason"]
