"""What the tests share: running the CLI in-process, reading run folders, and the callback the
distributed tests load into the processes they start (by class path ``helpers.RecordFinalWeights``)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

from lightning.pytorch import Callback

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# One epoch of a few batches: enough to have a trained run to export, serve or predict with.
SHORT = [
    "--trainer.max_epochs",
    "1",
    "--trainer.limit_train_batches",
    "3",
    "--trainer.limit_val_batches",
    "2",
]


def run_cli(*args: str, runs_dir: Path) -> None:
    """``python -m lightlab ARGS`` in this process, writing runs under ``runs_dir``."""
    from lightlab.cli import main

    subcommand, *rest = args
    with mock.patch.object(sys, "argv", ["lightlab"]):
        main([subcommand, *rest, "--runs_dir", str(runs_dir), *QUIET])


def pythonpath_with_tests() -> str:
    """A ``PYTHONPATH`` for a child process that can import ``helpers``: tests/ ahead of this
    process's own path (a renamed project's tests run with its src/ there)."""
    return os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))


def fit_in_child(
    experiment: str, *flags: str, runs_dir: Path, env: dict[str, str] | None = None, **popen
) -> subprocess.Popen:
    """``python -m lightlab fit`` of ``experiments/<experiment>.yaml`` in a child process (quiet,
    runs under ``runs_dir``, ``helpers`` importable there), with ``env`` on top of this one's."""
    command = [sys.executable, "-m", "lightlab", "fit", "--config", str(EXPERIMENTS / f"{experiment}.yaml")]
    environment = {**os.environ, "PYTHONPATH": pythonpath_with_tests(), **(env or {})}
    return subprocess.Popen(
        [*command, *flags, "--runs_dir", str(runs_dir), *QUIET], env=environment, text=True, **popen
    )


def fit_to_end(
    experiment: str, *flags: str, runs_dir: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``fit_in_child`` waited for; its ``CompletedProcess`` with the output captured."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    child = fit_in_child(experiment, *flags, runs_dir=runs_dir, env=env, **pipes)
    out, err = child.communicate(timeout=timeout)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def slow_marked_steps(marks: Path, seconds: float) -> list[str]:
    """Flags for steps that touch ``marks/step-<n>`` once the stop check has run, then sleep
    ``seconds``: a signal sent after a mark appears arrives inside that step's sleep."""
    return [
        "--trainer.callbacks+=helpers.StepMarker",
        f"--trainer.callbacks.folder={marks}",
        "--trainer.callbacks+=helpers.SlowSteps",
        f"--trainer.callbacks.seconds={seconds}",
    ]


def wait_for_file(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def run_dirs(runs_dir: Path, experiment: str) -> list[Path]:
    return sorted(p for p in (runs_dir / experiment).iterdir() if p.is_dir())


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """A digest of every file under ``folder`` (but subfolders named in ``skip``), to prove a command
    changed nothing it should not."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and not set(skip) & set(p.parts)
    }


class RecordFinalWeights(Callback):
    """Each process writes a digest of its final weights to ``<folder>/weights-rank<r>.txt``."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_fit_end(self, trainer, pl_module) -> None:
        digest = hashlib.sha256()
        for name, tensor in sorted(pl_module.state_dict().items()):
            digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        self.folder.mkdir(parents=True, exist_ok=True)
        text = f"{digest.hexdigest()} pid={os.getpid()} world={trainer.world_size}\n"
        (self.folder / f"weights-rank{trainer.global_rank}.txt").write_text(text)


class SlowSteps(Callback):
    """Sleeps ``seconds`` after each training step, so a test can kill a run in the middle of an epoch."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        time.sleep(self.seconds)


class CtrlCAt(Callback):
    """Presses Ctrl-C (raises ``KeyboardInterrupt``) when epoch ``epoch`` starts."""

    def __init__(self, epoch: int = 2) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


class StepMarker(Callback):
    """Touches ``<folder>/step-<n>`` after each training step (main process), so a test outside the
    run knows how far it got."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"step-{trainer.global_step}").touch()


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EpochStarts(Callback):
    """Appends ``<pid> <epoch>`` to ``<folder>/epochs.txt`` as each training epoch starts (main
    process), so a test can tell which epochs a resumed process trained."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / "epochs.txt").open("a") as file:
                file.write(f"{os.getpid()} {trainer.current_epoch}\n")


def epochs_started(folder: Path) -> dict[int, list[int]]:
    """What ``EpochStarts`` recorded: the epochs each process started, by process id."""
    started: dict[int, list[int]] = {}
    for line in (folder / "epochs.txt").read_text().splitlines():
        pid, epoch = map(int, line.split())
        started.setdefault(pid, []).append(epoch)
    return started


class CtrlCOnce(Callback):
    """Presses Ctrl-C (sends this process SIGINT) when epoch ``epoch`` of the run seeded ``seed``
    starts, once: it leaves ``<folder>/pressed`` behind, so the run continued afterwards trains on."""

    def __init__(self, folder: str, seed: int, epoch: int = 1) -> None:
        self.folder, self.seed, self.epoch = Path(folder), seed, epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        import torch

        mark = self.folder / "pressed"
        if torch.initial_seed() == self.seed and trainer.current_epoch == self.epoch and not mark.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            mark.touch()
            os.kill(os.getpid(), signal.SIGINT)
