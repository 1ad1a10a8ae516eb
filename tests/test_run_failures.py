"""A run that fails says so in one line and leaves either nothing or a summary with the reason."""

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs

from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask, NonFiniteLossError


def test_a_non_finite_loss_stops_the_run_with_a_failed_summary(runs_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            "fit", "--config", str(EXPERIMENTS / "iris_mlp.yaml"), "--model.lr", "1e12", runs_dir=runs_dir
        )
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "training loss is not finite" in lines[0] and "--model.lr" in lines[0] and "epoch 0" in lines[0]
    (run_dir,) = run_dirs(runs_dir, "iris_mlp")
    summary = read_summary(run_dir)
    assert summary["status"] == "failed" and "not finite" in summary["reason"]
    assert summary["epochs"] == 0 and summary["global_step"] >= 1
    for checkpoint in run_dir.rglob("*.ckpt"):  # whatever was saved holds finite weights only
        weights = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
        assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


def test_the_check_stops_before_the_bad_step_changes_anything():
    task = ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3)
    batch = {"inputs": torch.full((2, 4), float("nan")), "target": torch.tensor([0, 1])}
    with pytest.raises(NonFiniteLossError, match="not finite"):
        task.training_step(batch, 0)
    lenient = ClassificationTask(
        MLP(num_classes=3, in_features=4), num_classes=3, stop_on_nonfinite_loss=False
    )
    assert torch.isnan(lenient.training_step(batch, 0))


def test_discard_removes_only_what_this_run_made(tmp_path, monkeypatch):
    from lightlab import run_dir as run_dirs_module
    from lightlab.run.failures import discard

    monkeypatch.setattr(run_dirs_module, "_exported_here", None)
    # Set, then delete: monkeypatch then also undoes what resolve_run_dir exports.
    monkeypatch.setenv(run_dirs_module.RUN_DIR_ENV, "")
    monkeypatch.delenv(run_dirs_module.RUN_DIR_ENV)
    fresh = run_dirs_module.resolve_run_dir(tmp_path, "exp")
    (fresh / "config.yaml").write_text("x")
    discard(fresh)
    assert not fresh.exists()

    named = tmp_path / "my-folder"  # e.g. LIGHTLAB_RUN_DIR pointing at a folder of the user's
    named.mkdir()
    (named / "notes.txt").write_text("mine")
    discard(named)
    assert (named / "notes.txt").read_text() == "mine"

    kept = run_dirs_module.resolve_run_dir(tmp_path, "exp")
    (kept / "checkpoints").mkdir()
    (kept / "checkpoints" / "last.ckpt").write_text("x")
    discard(kept)
    assert (kept / "checkpoints" / "last.ckpt").exists()
