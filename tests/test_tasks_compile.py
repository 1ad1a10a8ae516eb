"""``--model.compile_net``: a compiled net trains, resumes, predicts and exports like an eager one."""

from __future__ import annotations

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs

from lightlab.deploy.export import export_run
from lightlab.inference.predict import load_run

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")


@pytest.mark.slow
def test_a_compiled_run_trains_resumes_predicts_and_exports(tmp_path):
    run_cli(
        "fit", "--config", IRIS, "--model.compile_net", "true", "--trainer.max_epochs", "2", runs_dir=tmp_path
    )
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    first = read_summary(run_dir)
    keys = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert keys and not any("_orig_mod" in key for key in keys)  # the eager net's names
    assert first["speed"]["first_step_s"] > 5 * first["speed"]["step_ms"] / 1e3  # it compiled there
    run_cli("fit", "--config", IRIS, "--resume", str(run_dir), "--trainer.max_epochs", "4", runs_dir=tmp_path)
    resumed = read_summary(run_dir)
    assert resumed["status"] == "completed" and resumed["epochs"] == 4
    assert resumed["test"]["test/acc"] > 0.8
    predictor = load_run(run_dir)  # eager, as prediction and export build it
    flower = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    assert predictor.predict([flower])[0]["prediction"] == "setosa"
    export, parity = export_run(run_dir)
    assert (export / "model.onnx").is_file() and parity["same_predicted_class"] == 1


def test_compiling_on_a_cpu_without_a_cxx_compiler_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler on it
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            "fit",
            "--config",
            IRIS,
            "--model.compile_net",
            "true",
            "--trainer.max_epochs",
            "1",
            runs_dir=tmp_path,
        )
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "needs a C++ compiler" in lines[0] and "apt-get install g++" in lines[0]
    assert not any(p.is_dir() for d in tmp_path.iterdir() for p in d.iterdir())  # no run folder left


def test_an_unknown_compile_mode_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("fit", "--config", IRIS, "--model.compile_mode", "fastest", runs_dir=tmp_path)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "compile_mode" in lines[0] and "max-autotune" in lines[0]
