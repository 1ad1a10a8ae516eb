import os

import pytest

from lightlab import run_dir
from lightlab.errors import UserError
from lightlab.run.folder import RUN_DIR_ENV, resolve_run_dir


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    # Set, then delete: monkeypatch then restores each variable after the test, even when
    # resolve_run_dir itself writes LIGHTLAB_RUN_DIR into os.environ.
    for name in (RUN_DIR_ENV, "WORLD_SIZE", "SLURM_NTASKS", "SLURM_JOB_ID", "TORCHELASTIC_RUN_ID", "RANK"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(run_dir, "_exported_here", None)


def test_same_second_runs_get_suffixes_and_children_inherit(tmp_path, monkeypatch):
    monkeypatch.setattr(run_dir.time, "strftime", lambda fmt: "20260101-000000")
    first = resolve_run_dir(tmp_path, "exp")
    assert os.environ[RUN_DIR_ENV] == str(first)  # what Lightning's DDP children will read
    second = resolve_run_dir(tmp_path, "exp")  # same process again: a new folder, not the exported one
    third = resolve_run_dir(tmp_path, "exp", suffix="-test")
    assert [first.name, second.name, third.name] == [
        "20260101-000000",
        "20260101-000000-1",
        "20260101-000000-test",
    ]


def test_an_explicit_folder_is_used_once(tmp_path, monkeypatch):
    target = tmp_path / "mine"
    monkeypatch.setenv(RUN_DIR_ENV, str(target))
    assert resolve_run_dir(tmp_path, "exp") == target
    (target / "config.yaml").write_text("x")
    with pytest.raises(UserError, match="already holds a run; point it at a new folder"):
        resolve_run_dir(tmp_path, "exp")
    monkeypatch.setenv("RANK", "1")  # other ranks join the folder rank 0 set up
    assert resolve_run_dir(tmp_path, "exp") == target


def test_independent_processes_agree_on_the_job_id(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert resolve_run_dir(tmp_path, "exp") == tmp_path / "exp" / "job-abc"
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    monkeypatch.setenv("SLURM_JOB_ID", "777")
    path = resolve_run_dir(tmp_path, "exp")
    assert path.name == "job-777"
    (path / "config.yaml").write_text("x")
    with pytest.raises(UserError, match="already holds a run of job 777"):
        resolve_run_dir(tmp_path, "exp")


def test_multi_process_launch_without_a_shared_id(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")  # torchrun's default
    with pytest.raises(UserError, match="needs one run directory for all processes: set LIGHTLAB_RUN_DIR"):
        resolve_run_dir(tmp_path, "exp")


def test_the_exported_folder_is_released_when_the_run_ends(tmp_path):
    resolve_run_dir(tmp_path, "exp")
    assert RUN_DIR_ENV in os.environ  # for the DDP children of this run
    run_dir.release_run_dir()
    assert RUN_DIR_ENV not in os.environ
    assert resolve_run_dir(tmp_path, "exp") != resolve_run_dir(tmp_path, "exp")
    run_dir.release_run_dir()
