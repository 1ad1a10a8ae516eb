import pytest
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from lightning.pytorch.utilities.model_summary import ModelSummary

from lightlab.data import IrisDataModule
from lightlab.nets import SkipNet
from lightlab.tasks import ClassificationTask

IRIS_CUSTOM = str(EXPERIMENTS / "iris_custom.yaml")


def test_iris_custom_trains_well_in_a_short_seeded_run(runs_dir):
    run_cli("fit", "--config", IRIS_CUSTOM, runs_dir=runs_dir)  # 60 epochs, about 2 s
    (run_dir,) = run_dirs(runs_dir, "iris_custom")
    summary = read_summary(run_dir)
    assert summary["test"]["test/acc"] >= 0.9 - 1e-6  # 27 of 30 rows is 0.9 in float32 as 0.8999999
    assert "SmoothedNLLLoss" in (run_dir / "config.yaml").read_text()


def test_model_summary_lists_custom_layers_with_shapes_and_counts():
    task = ClassificationTask(SkipNet(num_classes=3, in_features=4, hidden_size=32, depth=2), num_classes=3)
    task.example_input_array = IrisDataModule().example_input()
    summary = ModelSummary(task, max_depth=2)
    columns = zip(summary.layer_types, summary.out_sizes, summary.param_nums, strict=True)
    rows = dict(zip(summary.layer_names, columns, strict=True))
    assert rows["net.input"] == ("CustomLinear", [2, 32], 4 * 32 + 32)
    assert rows["net.hidden1"] == ("CustomLinear", [2, 32], 32 * 32 + 32)
    assert rows["net.output"] == ("CustomLinear", [2, 3], (32 + 4) * 3 + 3)


def _one_line_error(capsys, runs_dir, *args):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("fit", "--config", IRIS_CUSTOM, *args, runs_dir=runs_dir)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_unknown_init_scheme_from_config(capsys, runs_dir):
    line = _one_line_error(capsys, runs_dir, "--model.net.init_args.init", "glorot")
    assert "unknown init scheme 'glorot'; choose one of" in line


def test_binary_loss_on_a_three_class_task_from_config(capsys, runs_dir):
    line = _one_line_error(capsys, runs_dir, "--model.loss", "torch.nn.BCEWithLogitsLoss")
    assert "BCEWithLogitsLoss is for binary tasks" in line and "CrossEntropyLoss" in line
