import hashlib
import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from helpers import EXPERIMENTS, ROOT, read_summary, run_cli, run_dirs

from lightlab.data import IrisDataModule
from lightlab.tasks import ClassificationTask

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")
SHORT = ["--trainer.max_epochs", "25"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short real iris run shared by the tests that only read its outputs."""
    runs = tmp_path_factory.mktemp("trained") / "runs"
    run_cli("fit", "--config", IRIS, *SHORT, runs_dir=runs)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir


def test_run_directory_holds_config_metrics_checkpoints_and_summary(trained):
    assert (trained / "config.yaml").is_file()
    assert (trained / "metrics.csv").is_file()
    checkpoints = {p.name for p in (trained / "checkpoints").iterdir()}
    assert "last.ckpt" in checkpoints
    assert any(name.startswith("best-epoch") for name in checkpoints)
    summary = read_summary(trained)
    assert summary["status"] == "completed"
    assert summary["epochs"] == 25
    assert summary["seed"] == 42
    assert summary["monitor"] == "val/loss"
    # Relative to the run folder, so a moved or copied folder still finds it.
    assert summary["best_checkpoint"].startswith("checkpoints/best-epoch")
    assert (trained / summary["best_checkpoint"]).is_file()
    assert "run_dir" not in summary
    assert set(summary["test"]) == {"test/acc", "test/f1", "test/loss", "test/precision", "test/recall"}


def test_short_training_reaches_high_test_accuracy(trained):
    assert read_summary(trained)["test"]["test/acc"] >= 0.9 - 1e-6  # float32 27/30


def test_saved_config_reruns_under_the_same_experiment(trained, runs_dir):
    config = yaml.safe_load((trained / "config.yaml").read_text())
    assert config["experiment"] == "iris_mlp"
    assert config["data"]["class_path"] == "lightlab.data.IrisDataModule"
    assert config["model"]["net"]["init_args"]["hidden_sizes"] == [32, 32]
    assert config["trainer"]["max_epochs"] == 25
    run_cli(
        "fit", "--config", str(trained / "config.yaml"), "--trainer.fast_dev_run", "true", runs_dir=runs_dir
    )
    assert len(run_dirs(runs_dir, "iris_mlp")) == 1


def test_metrics_csv_has_one_row_of_epoch_metrics_per_epoch(trained):
    lines = (trained / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "epoch"} <= set(header)
    column = header.index("train/loss")
    assert sum(1 for line in lines[1:] if line.split(",")[column]) == 25


def test_best_checkpoint_loads_and_predicts_like_the_summary(trained):
    summary = read_summary(trained)
    task = ClassificationTask.load_from_checkpoint(trained / summary["best_checkpoint"], map_location="cpu")
    task.eval()
    test = IrisDataModule().splits["test"].tensors
    with torch.no_grad():
        accuracy = (task(test["inputs"]).argmax(-1) == test["target"]).float().mean().item()
    assert accuracy == pytest.approx(summary["test"]["test/acc"])


def test_test_subcommand_on_a_saved_checkpoint(trained, runs_dir, capsys):
    best = trained / read_summary(trained)["best_checkpoint"]
    run_cli("test", "--config", IRIS, "--ckpt_path", str(best), runs_dir=runs_dir)
    (test_dir,) = run_dirs(runs_dir, "iris_mlp")
    assert test_dir.name.endswith("-test")
    assert (test_dir / "config.yaml").is_file()


def _digest(run_dir):
    return {
        p.relative_to(run_dir): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def test_rerun_gets_a_new_directory_and_leaves_the_first_untouched(runs_dir):
    args = ("fit", "--config", IRIS, "--trainer.max_epochs", "2")
    run_cli(*args, runs_dir=runs_dir)
    (first,) = run_dirs(runs_dir, "iris_mlp")
    before = _digest(first)
    run_cli(*args, runs_dir=runs_dir)
    dirs = run_dirs(runs_dir, "iris_mlp")
    assert len(dirs) == 2
    assert _digest(first) == before


def test_same_seed_gives_identical_metrics(runs_dir):
    args = ("fit", "--config", IRIS, "--trainer.max_epochs", "4", "--seed_everything", "7")
    run_cli(*args, runs_dir=runs_dir)
    run_cli(*args, runs_dir=runs_dir)
    first, second = (read_summary(d) for d in run_dirs(runs_dir, "iris_mlp"))
    assert first["seed"] == second["seed"] == 7
    assert first["val"] == second["val"]
    assert first["test"] == second["test"]


def test_fast_dev_run_smoke(runs_dir):
    run_cli("fit", "--config", IRIS, "--trainer.fast_dev_run", "true", runs_dir=runs_dir)
    (run_dir,) = run_dirs(runs_dir, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["best_checkpoint"] is None  # fast_dev_run saves no checkpoints
    assert 0 <= summary["test"]["test/acc"] <= 1


# ---- bad input: one line on stderr, exit status 2, nothing left behind


def _fails(capsys, runs_dir, *args):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*args, runs_dir=runs_dir)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert not runs_dir.exists() or not any(runs_dir.rglob("*.yaml"))
    return err[0]


def test_unknown_config_key(capsys, runs_dir):
    line = _fails(capsys, runs_dir, "fit", "--config", IRIS, "--model.net.init_args.hiden_sizes", "[3]")
    assert line.startswith("error: ") and "hiden_sizes" in line


def test_unknown_key_in_a_config_file(capsys, runs_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXPERIMENTS / "iris_mlp.yaml").read_text() + "  learning_rate: 3\n")
    line = _fails(capsys, runs_dir, "fit", "--config", str(bad))
    assert "learning_rate" in line


def test_malformed_yaml(capsys, runs_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  lr: [0.1\n")
    line = _fails(capsys, runs_dir, "fit", "--config", str(bad))
    assert line.startswith(f"error: {bad}:3:1: invalid YAML: expected")


def test_subcommand_without_an_experiment_lists_them(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lightlab", "fit"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no experiment given: use python -m lightlab fit --config experiments/<name>.yaml "
        f"(experiments here: {', '.join(sorted(p.stem for p in EXPERIMENTS.glob('*.yaml')))})"
    ]


def test_missing_config_file(capsys, runs_dir):
    line = _fails(capsys, runs_dir, "fit", "--config", "experiments/does_not_exist.yaml")
    assert "does_not_exist.yaml" in line


def test_missing_checkpoint(capsys, runs_dir):
    line = _fails(capsys, runs_dir, "test", "--config", IRIS, "--ckpt_path", "nowhere/best.ckpt")
    assert line == "error: checkpoint not found: nowhere/best.ckpt (give --ckpt_path an existing .ckpt file)"


def test_invalid_value_at_build_time(capsys, runs_dir):
    line = _fails(capsys, runs_dir, "fit", "--config", IRIS, "--model.net.init_args.activation", "swish")
    assert "unknown activation 'swish'" in line
    assert not runs_dir.exists() or not any(p.is_dir() for p in (runs_dir / "iris_mlp").iterdir())


def _make(*args):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)


def test_make_train_without_experiment_lists_them():
    result = _make("train")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no experiment given" in result.stderr and "iris_mlp" in result.stderr


def test_make_train_with_unknown_experiment_lists_them():
    result = _make("train", "EXP=irs_mlp")
    assert result.returncode == 2
    assert "unknown experiment 'irs_mlp'" in result.stderr and "iris_mlp" in result.stderr


def test_module_entry_point_reports_errors_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lightlab", "fit", "--config", IRIS, "--model.lr", "fast"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "model.lr" in result.stderr


def test_wandb_stays_offline_without_credentials(monkeypatch):
    from lightlab.cluster.environment import wandb_offline

    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert wandb_offline()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert not wandb_offline()
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert wandb_offline()
    monkeypatch.setenv("WANDB_MODE", "online")
    assert not wandb_offline()


def test_summary_is_valid_json_with_git_commit_field(trained):
    summary = json.loads((trained / "summary.json").read_text())
    assert "git_commit" in summary


def test_predict_writes_class_names_for_the_test_split(trained, runs_dir):
    best = trained / read_summary(trained)["best_checkpoint"]
    run_cli("predict", "--config", IRIS, "--ckpt_path", str(best), runs_dir=runs_dir)
    (predict_dir,) = run_dirs(runs_dir, "iris_mlp")
    rows = (predict_dir / "predictions.csv").read_text().splitlines()
    assert rows[0] == "input,prediction,probability,prob_setosa,prob_versicolor,prob_virginica"
    assert len(rows) == 1 + 30
    assert {row.split(",")[1] for row in rows[1:]} <= {"setosa", "versicolor", "virginica"}


def test_default_run_logs_to_wandb_offline_inside_the_run_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "LIGHTLAB_RUN_DIR"}
    env["HOME"] = str(tmp_path)  # wandb may write settings under the home folder
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightlab",
            "fit",
            "--config",
            IRIS,
            "--trainer.max_epochs",
            "2",
            "--runs_dir",
            str(tmp_path / "runs"),
            "--trainer.enable_progress_bar",
            "false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = run_dirs(tmp_path / "runs", "iris_mlp")
    assert list((run_dir / "wandb").glob("offline-run-*"))
    assert "wandb sync" in result.stdout + result.stderr
