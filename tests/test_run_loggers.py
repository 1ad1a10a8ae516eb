"""Logger presets (``make train LOGGER=…``): each writes into the run folder, readable by its own tool."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import EXPERIMENTS, ROOT, run_cli, run_dirs

PRESETS = ROOT / "experiments" / "logger"


def test_tensorboard_writes_event_files_tensorboard_reads_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "iris_mlp.yaml"),
        "--trainer.max_epochs",
        "3",
        f"--trainer.logger+={PRESETS / 'tensorboard.yaml'}",
        runs_dir=runs,
    )
    (run_dir,) = run_dirs(runs, "iris_mlp")
    assert (run_dir / "metrics.csv").is_file()  # beside CSV, not instead of it
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "val/loss", "val/acc", "test/acc"} <= set(scalars)
    val_loss = events.Scalars("val/loss")
    assert len(val_loss) >= 3 and all(v.value > 0 for v in val_loss)


def test_a_preset_without_its_package_is_one_line_and_no_folder(tmp_path, monkeypatch, capsys):
    for name in ("tensorboard", "tensorboardX"):  # as in a project installed without the extra
        monkeypatch.setitem(sys.modules, name, None)
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit) as stop:
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "iris_mlp.yaml"),
            f"--trainer.logger+={PRESETS / 'tensorboard.yaml'}",
            runs_dir=runs,
        )
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "TensorBoardLogger needs the tensorboard package" in line and "EXTRAS=dev,tensorboard" in line
    assert not runs.exists() or not any(runs.rglob("config.yaml"))


def test_logger_presets_combine_and_an_unknown_one_is_named():
    dry = subprocess.run(
        ["make", "-n", "train", "EXP=iris_mlp", "LOGGER=tensorboard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "--trainer.logger+=experiments/logger/tensorboard.yaml" in dry.stdout
    wrong = subprocess.run(
        ["make", "-n", "train", "EXP=iris_mlp", "LOGGER=tensorboard,nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode != 0 and "unknown logger preset 'nope': choose from: tensorboard" in wrong.stderr


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESETS.glob("*.yaml")))
def test_each_preset_says_what_it_is_on_its_first_line(preset):
    assert (PRESETS / f"{preset}.yaml").read_text().startswith("# ")
