"""``make eval RUN=<folder>``: the run's own config and checkpoint, scored again, nothing overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from helpers import EXPERIMENTS, ROOT, read_summary, run_cli, run_dirs, snapshot

from lightlab.inference.evaluate import main as eval_run


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("eval") / "runs"
    run_cli("fit", "--config", str(EXPERIMENTS / "iris_mlp.yaml"), "--trainer.max_epochs", "4", runs_dir=runs)
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir


def test_eval_reproduces_the_summary_and_only_adds_its_file(iris_run):
    before = snapshot(iris_run)
    result = subprocess.run(
        ["make", "--no-print-directory", "eval", f"RUN={iris_run}"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    after = snapshot(iris_run)
    added = set(after) - set(before)
    assert added == {str(iris_run / "eval-test.json")}
    assert all(after[path] == digest for path, digest in before.items())
    record = json.loads((iris_run / "eval-test.json").read_text())
    assert record["metrics"] == pytest.approx(read_summary(iris_run)["test"])
    assert record["checkpoint"] == read_summary(iris_run)["best_checkpoint"]


def test_eval_of_the_validation_split_with_the_last_checkpoint(iris_run):
    eval_run([str(iris_run), "--split", "val", "--ckpt", "last"])
    record = json.loads((iris_run / "eval-val.json").read_text())
    assert record["checkpoint"].endswith("last.ckpt") and set(record["metrics"]) >= {"val/acc", "val/loss"}


def test_eval_of_a_text_run_uses_its_vocabulary(negation_csv, runs_dir):
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "text_bilstm.yaml"),
        "--trainer.max_epochs",
        "2",
        "--data.init_args.path",
        str(negation_csv),
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, "text_bilstm")
    eval_run([str(run_dir)])
    record = json.loads((run_dir / "eval-test.json").read_text())
    assert record["metrics"]["test/acc"] == pytest.approx(read_summary(run_dir)["test"]["test/acc"])


@pytest.mark.parametrize(
    ("damage", "words"), [("no_config", "is not a run folder"), ("no_checkpoints", "no best checkpoint")]
)
def test_a_folder_that_cannot_be_scored_is_one_line(damage, words, iris_run, tmp_path, capsys):
    broken = tmp_path / "run"
    shutil.copytree(iris_run, broken)
    if damage == "no_config":
        (broken / "config.yaml").unlink()
    else:
        shutil.rmtree(broken / "checkpoints")
        (broken / "summary.json").unlink()
    with pytest.raises(SystemExit) as exit_info:
        eval_run([str(broken)])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
