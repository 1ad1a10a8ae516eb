"""``python -m lightlab compare A B`` on run and group folders built on disk as training and the
group runner leave them (no training): the test it picks, its verdicts, and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lightlab.errors import UserError
from lightlab.repeats.compare import main as compare
from lightlab.run.groups import check_is_run

SEEDS = [1, 2, 3, 4, 5]
LOW_ACC = [0.80, 0.82, 0.79, 0.81, 0.80]
HIGH_ACC = [0.95, 0.96, 0.94, 0.95, 0.97]


def write_run(
    folder: Path,
    experiment: str,
    seed: int,
    acc: float,
    status: str = "completed",
    monitor: str = "val/loss",
) -> Path:
    """A run folder as ``fit`` leaves it: its config and its summary (val and test metrics)."""
    folder.mkdir(parents=True)
    config = {
        "experiment": experiment,
        "seed_everything": seed,
        "data": {"class_path": "lightlab.data.IrisDataModule", "init_args": {}},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    loss = round(1 - acc, 4)
    summary = {
        "status": status,
        "experiment": experiment,
        "seed": seed,
        "monitor": monitor,
        "best_score": loss,
        "val": {"val/loss": loss, "val/acc": acc},
        "test": {"test/acc": acc, "test/loss": loss},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def write_group(
    runs: Path,
    name: str,
    accs: list[float],
    seeds: list[int] = SEEDS,
    experiment: str = "iris_mlp",
    monitor: str = "val/loss",
    status: str = "completed",
) -> Path:
    """A group folder as ``python -m lightlab group`` leaves it: ``group.json`` and one run
    folder ``seed-<n>`` per member."""
    group = runs / experiment / name
    group.mkdir(parents=True)
    record = {
        "experiment": experiment,
        "members": [{"name": f"seed-{seed}", "seed": seed, "fold": None} for seed in seeds],
        "monitor": monitor,
        "mode": "min",
        "seeds": seeds,
        "folds": None,
    }
    (group / "group.json").write_text(json.dumps(record))
    for seed, acc in zip(seeds, accs, strict=False):  # fewer accs: members not started yet
        write_run(group / f"seed-{seed}", experiment, seed, acc, status=status, monitor=monitor)
    return group


COLUMNS = ["metric", "A", "B", "B - A", "95 % interval", "p", "verdict"]


def row(out: str, metric: str) -> dict[str, str]:
    """The printed table's row for ``metric``, by column."""
    lines = [line for line in out.splitlines() if f" {metric} " in line]
    assert len(lines) == 1, out
    cells = [cell.strip() for cell in lines[0].strip().strip("│").split("│")]
    assert len(cells) == len(COLUMNS), lines[0]
    return dict(zip(COLUMNS, cells, strict=True))


def refused(capsys, a: Path, b: Path) -> str:
    """Compare A and B expecting a refusal: exit 2, one ``error:`` line on stderr; that line."""
    with pytest.raises(SystemExit) as exit_info:
        compare([str(a), str(b)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and "B - A" not in captured.out
    return lines[0]


def test_groups_of_the_same_seeds_are_paired_and_b_is_better(tmp_path, capsys):
    runs = tmp_path / "runs"
    a, b = write_group(runs, "group-a", LOW_ACC), write_group(runs, "group-b", HIGH_ACC)
    compare([str(a), str(b)])
    out = capsys.readouterr().out
    assert "paired" in out and "Welch" not in out
    acc = row(out, "test/acc")
    assert acc["verdict"] == "B better"
    assert row(out, "test/loss")["verdict"] == "B better"  # B's loss is lower: lower is better
    assert row(out, "val/loss")["verdict"] == "B better"
    assert out.index("val/loss") < out.index("test/acc")  # the monitored metric comes first
    assert acc["A"] == "0.8040 ± 0.0114 (n=5)" and acc["B"] == "0.9540 ± 0.0114 (n=5)"
    assert acc["B - A"] == "+0.1500"
    assert acc["p"].endswith("[0.0625]")  # the exact sign-flip p of five positive pairs
    low, high = (float(x) for x in acc["95 % interval"].strip("[]").split(","))
    assert 0 < low < 0.15 < high
    assert "single run" not in out


def test_a_worse_b_is_a_better_both_ways_round(tmp_path, capsys):
    runs = tmp_path / "runs"
    a, b = write_group(runs, "group-a", HIGH_ACC), write_group(runs, "group-b", LOW_ACC)
    compare([str(a), str(b)])
    out = capsys.readouterr().out
    assert row(out, "test/acc")["verdict"] == "A better" and row(out, "val/loss")["verdict"] == "A better"
    assert row(out, "test/acc")["B - A"] == "-0.1500"
    assert "B better" not in out


def test_groups_of_the_same_numbers_differ_by_seed_noise(tmp_path, capsys):
    runs = tmp_path / "runs"
    a, b = write_group(runs, "group-a", LOW_ACC), write_group(runs, "group-b", LOW_ACC)
    compare([str(a), str(b)])
    out = capsys.readouterr().out
    assert row(out, "test/acc")["verdict"] == "no difference beyond seed noise at n = 5"
    assert row(out, "test/acc")["B - A"] == "+0.0000"
    assert "better" not in out


def test_groups_of_different_seeds_are_compared_by_welch(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_group(runs, "group-b", HIGH_ACC, seeds=[6, 7, 8, 9, 10])
    compare([str(a), str(b)])
    out = capsys.readouterr().out
    assert "Welch" in out and "paired" not in out
    acc = row(out, "test/acc")
    assert acc["verdict"] == "B better"
    assert "[" not in acc["p"]  # no sign-flip p without pairs


def test_a_group_against_a_single_run_allows_no_conclusion(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_run(runs / "iris_mlp" / "one-run", "iris_mlp", 1, 0.99)
    compare([str(a), str(b)])
    out = capsys.readouterr().out
    acc = row(out, "test/acc")
    assert "no conclusion" in acc["verdict"]
    assert acc["p"] == "-" and acc["95 % interval"] == "-"
    assert "better" not in out and "paired" not in out
    assert acc["A"] == "0.8040 ± 0.0114 (n=5)" and acc["B"] == "0.9900 (n=1)"
    assert "single run has no spread" in out and "SEEDS=5" in out


def test_a_and_b_of_different_experiments_are_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_group(runs, "group-b", HIGH_ACC, experiment="fashion_mnist_mlp")
    line = refused(capsys, a, b)
    assert "A is iris_mlp and B is fashion_mnist_mlp" in line


def test_a_and_b_monitoring_different_metrics_are_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_group(runs, "group-b", HIGH_ACC, monitor="val/acc")
    line = refused(capsys, a, b)
    assert "A monitors val/loss and B val/acc" in line


def test_a_single_run_monitoring_a_different_metric_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_run(runs / "iris_mlp" / "one-run", "iris_mlp", 1, 0.99, monitor="val/acc")
    assert "A monitors val/loss and B val/acc" in refused(capsys, a, b)


@pytest.mark.parametrize("side", ["A", "B"])
def test_a_path_that_is_neither_a_run_nor_a_group_is_refused(tmp_path, capsys, side):
    runs = tmp_path / "runs"
    group = write_group(runs, "group-a", LOW_ACC)
    elsewhere = tmp_path / "not-a-run"
    elsewhere.mkdir()
    a, b = (elsewhere, group) if side == "A" else (group, elsewhere)
    line = refused(capsys, a, b)
    assert f"{side}={elsewhere} is neither a run folder nor a group folder" in line


def test_a_missing_path_is_refused(tmp_path, capsys):
    group = write_group(tmp_path / "runs", "group-a", LOW_ACC)
    assert "B=" in refused(capsys, group, tmp_path / "no-such-folder")


def test_a_group_with_no_completed_member_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", LOW_ACC)
    b = write_group(runs, "group-b", HIGH_ACC, status="failed")
    line = refused(capsys, a, b)
    assert "B=" in line and "group-b is a group with no completed run yet" in line


def test_a_group_whose_members_never_started_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_group(runs, "group-a", [])  # group.json alone: no member folder yet
    b = write_group(runs, "group-b", HIGH_ACC)
    line = refused(capsys, a, b)
    assert "A=" in line and "no completed run" in line


def test_check_is_run_names_a_group_and_one_of_its_members(tmp_path):
    group = write_group(tmp_path / "runs", "group-a", LOW_ACC)
    with pytest.raises(UserError, match="is a group of runs, not a run") as error:
        check_is_run(group)
    assert str(group / "seed-1") in str(error.value)
    check_is_run(group / "seed-1")  # a member is a run


def test_runs_pair_by_seed_only_where_both_logged_the_metric(tmp_path):
    from lightlab.repeats.compare import compare_sides, read_side

    a_accs = [0.80, 0.90, 0.70, 0.85, 0.75]
    a = write_group(tmp_path, "group-a", a_accs)
    b = write_group(tmp_path, "group-b", [x + 0.01 for x in a_accs])
    for folder in (a / "seed-1", b / "seed-2"):  # each side lacks test/acc at another seed
        summary = json.loads((folder / "summary.json").read_text())
        del summary["test"]["test/acc"]
        (folder / "summary.json").write_text(json.dumps(summary))
    results = {r.metric: r for r in compare_sides(read_side(a, "A"), read_side(b, "B"))}
    acc = results["test/acc"]
    assert acc.paired and acc.n == 3 and acc.difference == pytest.approx(0.01)


def test_equal_accuracies_on_two_seeds_are_no_verdict():
    from lightlab.repeats.stats import compare_paired, compare_unpaired

    # iris' 30 test samples make accuracies discrete: equal gaps on 2 seeds prove nothing
    assert compare_paired("test/acc", [0.9, 0.8], [0.95, 0.85]).verdict.startswith("no difference")
    assert compare_unpaired("test/acc", [0.9, 0.9], [0.9333, 0.9333]).verdict.startswith("no difference")
    # on 6 seeds every one better is beyond chance (sign flips: p = 2/64)
    six = compare_paired("test/acc", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [0.95, 0.85, 0.75, 0.65, 0.55, 0.45])
    assert six.verdict == "B better" and six.p_value == pytest.approx(2 / 64)


def test_a_group_against_itself_or_its_own_run_is_refused(tmp_path, capsys):
    group = write_group(tmp_path / "runs", "group-a", LOW_ACC)
    assert "A and B are the same runs" in refused(capsys, group, group)
    assert "A and B are the same runs" in refused(capsys, group, group / "seed-1")


def test_folds_against_seeds_is_refused_as_their_validation_splits_differ(tmp_path, capsys):
    runs = tmp_path / "runs"
    seeds = write_group(runs, "group-a", LOW_ACC)
    folds = write_group(runs, "group-b", HIGH_ACC[:3], seeds=[1])
    record = json.loads((folds / "group.json").read_text())
    record["members"] = [{"name": f"fold-{k}-seed-1", "seed": 1, "fold": k} for k in range(3)]
    (folds / "group.json").write_text(json.dumps(record))
    for k, acc in enumerate(HIGH_ACC[:3]):
        write_run(folds / f"fold-{k}-seed-1", "iris_mlp", 1, acc)
    assert "B is cross-validated (FOLDS) and the other is not" in refused(capsys, seeds, folds)


def test_a_path_that_does_not_exist_says_so(tmp_path, capsys):
    group = write_group(tmp_path / "runs", "group-a", LOW_ACC)
    assert f"B={tmp_path / 'nowhere'} does not exist" in refused(capsys, group, tmp_path / "nowhere")
