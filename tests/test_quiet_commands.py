"""The default commands, run as a user runs them (wandb offline, no credentials), print no warning
the user cannot act on; a sweep's trials are each their own wandb run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, run_dirs

WARNING = re.compile(r"warn", re.IGNORECASE)


def make(target: str, *variables: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "LIGHTLAB_RUN_DIR"}
    env.update(WANDB_MODE="offline", HOME=str(home))  # wandb may write settings under the home folder
    result = subprocess.run(
        ["make", "--no-print-directory", target, *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def warnings_in(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if WARNING.search(line)]


def field(text: str) -> bytes:
    """``text`` as one whole string field of wandb's run record (protobuf: its length, then it), so
    a longer string that merely contains it (a folder path) does not match."""
    return bytes([len(text)]) + text.encode()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("quiet") / "runs"


@pytest.fixture(scope="module")
def trained(runs, home) -> tuple[Path, subprocess.CompletedProcess]:
    result = make("train", "EXP=iris_mlp", f"ARGS=--trainer.max_epochs 3 --runs_dir {runs}", home=home)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir, result


def test_train_eval_and_predict_print_no_warning(trained, home, tmp_path):
    run_dir, train = trained
    assert list((run_dir / "wandb").glob("offline-run-*"))  # the wandb logger did run
    assert warnings_in(train) == []
    assert warnings_in(make("eval", f"RUN={run_dir}", home=home)) == []
    flowers = tmp_path / "flowers.csv"
    flowers.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    assert warnings_in(make("predict", f"RUN={run_dir}", f"INPUT={flowers}", home=home)) == []
    resumed = make("train", f"RESUME={run_dir}", "ARGS=--trainer.max_epochs 4", home=home)
    assert warnings_in(resumed) == []
    (continuing,) = [line for line in resumed.stdout.splitlines() if line.startswith("continuing ")]
    assert continuing in (run_dir / "train.log").read_text()  # appended, from its first line
    assert "Restored all states" not in resumed.stdout  # the line above says it


def test_each_sweep_trial_is_its_own_wandb_run_and_nothing_warns(tmp_path, home):
    runs = tmp_path / "runs"
    data = tmp_path / "my data" / "iris.csv"  # a path with a space, quoted as a user types it
    data.parent.mkdir()
    shutil.copy(ROOT / "src" / "lightlab" / "data" / "iris.csv", data)
    args = shlex.join(["--runs_dir", str(runs), "--trainer.max_epochs", "2"])
    args += f' --data.init_args.csv_path "{data}"'
    result = make("sweep", "EXP=iris_mlp", "TRIALS=2", f"ARGS={args}", home=home)
    assert warnings_in(result) == []
    trials = sorted((runs / "iris_mlp" / "sweep-iris_mlp").glob("trial-*"))
    assert [t.name for t in trials] == ["trial-000", "trial-001"]
    config = yaml.safe_load((trials[0] / "config.yaml").read_text())
    assert config["data"]["init_args"]["csv_path"] == str(data)  # the quoted flag arrived whole
    ids = set()
    for trial in trials:
        (wandb_run,) = (trial / "wandb").glob("offline-run-*")  # its files in its own folder
        ids.add(wandb_run.name.rsplit("-", 1)[-1])
        (log,) = wandb_run.glob("run-*.wandb")
        recorded = log.read_bytes()
        assert field("iris_mlp-iris_mlp") in recorded  # grouped by the sweep's study
        assert field(f"iris_mlp/{trial.name}") in recorded  # named by the trial
        trial_log = (trial / "train.log").read_text()  # the trial's output, from its first line
        assert f"wandb sync {wandb_run}" in trial_log and trial_log.startswith("Seed set to")
        (line,) = [line for line in result.stdout.splitlines() if line.startswith(str(trial))]
        assert "val/acc" in line and "after 2 epochs" in line and " lr=" not in line  # its one line
        assert "(lr=" in line and "dropout=" in line and "init_args" not in line
    assert len(ids) == 2
    assert "epoch 1/2" not in result.stdout  # the trials' epoch lines stay in their logs
    assert "Seed set" not in result.stdout  # so does what a trial prints before its folder exists


def test_a_run_in_a_pipe_prints_one_plain_line_per_epoch_and_fits_a_screen(trained):
    _, train = trained
    lines = train.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"]
    stopped = next(i for i, line in enumerate(lines) if line.startswith("`Trainer.fit` stopped"))
    assert lines.index(epochs[-1]) < stopped  # the last epoch's line, then why training stopped
    assert all("train/loss" in line and "val/loss" in line for line in epochs)
    assert "\x1b" not in train.stdout + train.stderr and "\r" not in train.stdout
    assert len(lines) - len(epochs) <= 25, train.stdout
    assert "net.layers" not in train.stdout and "layers: train.log" in train.stdout  # the table, in short
    assert train.stdout.count("restoring ") == 1 and "Loaded model weights" not in train.stdout
    assert "Run history" not in train.stdout + train.stderr  # wandb's closing wall, replaced by one line


def test_every_run_folder_keeps_what_it_printed_in_train_log(trained):
    run_dir, train = trained
    log = (run_dir / "train.log").read_text()
    assert "\x1b" not in log and "\r" not in log
    assert "net.layers.1" in log and "Linear" in log  # the full layer table
    assert log.startswith("Seed set to 42\n")  # from before the folder existed, too
    for line in train.stdout.splitlines():
        if line.startswith(("epoch ", "run directory", "`Trainer.fit` stopped", "batch size")):
            assert line in log
    assert "test" in log and "best checkpoint" in log  # the results table


def test_the_log_keeps_text_without_terminal_codes(tmp_path, capsys):
    from lightlab.run import log as run_log

    run_log.start(tmp_path)
    try:
        print("\x1b[1;32mgreen\x1b[0m and a \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\ 50%\r100%")
        run_log.to_log_only("only in the file\n")
    finally:
        run_log.stop()
    assert (tmp_path / "train.log").read_text() == "green and a link 50%100%\nonly in the file\n"
    assert "only in the file" not in capsys.readouterr().out
    run_log.start(tmp_path / "missing")  # no folder (a failed start): nothing is logged, nothing breaks
    print("still printed")
    run_log.stop()
    assert "still printed" in capsys.readouterr().out
