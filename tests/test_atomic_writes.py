"""A write that fails halfway (here: the disk fills up) leaves the previous file intact and loadable."""

import errno
import json
import os

import pytest
import torch
from helpers import EXPERIMENTS, run_cli

from lightlab import atomic
from lightlab.atomic import atomic_write
from lightlab.callbacks.checkpoint_io import AtomicCheckpointIO
from lightlab.errors import UserError
from lightlab.run.summary import write_summary


def disk_full(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_summary_write_keeps_the_previous_summary(tmp_path, monkeypatch):
    write_summary(tmp_path, {"status": "completed", "test": {"test/acc": 0.9}})
    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(
        UserError, match=r"summary\.json: No space left on device \(the previous file is unchanged\)"
    ):
        write_summary(tmp_path, {"status": "failed"})
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "completed"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_a_checkpoint_save_that_fails_halfway_keeps_the_last_good_one(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 1}, path)

    def half_then_full(handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        disk_full()

    with pytest.raises(UserError, match="No space left on device"):
        atomic_write(path, half_then_full)
    assert io.load_checkpoint(path)["epoch"] == 1
    assert torch.equal(io.load_checkpoint(path)["state_dict"]["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "x.json", lambda f: f.write(b"{}"))
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_run_on_a_full_disk_ends_in_one_line(runs_dir, monkeypatch, capsys):
    synced = os.fsync

    def full_for_checkpoints(descriptor: int) -> None:  # the run folder's start check still passes
        if ".ckpt" in os.readlink(f"/proc/self/fd/{descriptor}"):
            disk_full()
        synced(descriptor)

    monkeypatch.setattr(atomic.os, "fsync", full_for_checkpoints)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "iris_mlp.yaml"),
            "--trainer.max_epochs",
            "2",
            runs_dir=runs_dir,
        )
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and ".ckpt" in lines[0]
