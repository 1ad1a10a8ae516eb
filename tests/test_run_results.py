"""``make results``: one row per run folder, the settings that differ, best first, CSV and Markdown."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import EXPERIMENTS, ROOT, run_cli

from lightlab.run.results import main as results


def fake_run(parent: Path, name: str, lr: float, summary: dict | None, last_ckpt: bool = False) -> Path:
    """A run folder as training leaves it: the experiment's config with one setting changed."""
    folder = parent / name
    (folder / "checkpoints").mkdir(parents=True)
    config = yaml.safe_load((EXPERIMENTS / "iris_mlp.yaml").read_text())
    config["model"]["lr"] = lr
    config["trainer"]["default_root_dir"] = str(folder)  # differs per run, but is not a setting
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    if last_ckpt:
        (folder / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return folder


def completed(score: float, acc: float) -> dict:
    return {
        "status": "completed",
        "best_score": score,
        "epochs": 5,
        "fit_seconds": 12.0,
        "test": {"test/acc": acc, "test/f1": acc - 0.01},
    }


def test_rows_are_sorted_by_the_monitored_metric_with_differing_settings(tmp_path, capsys):
    runs = tmp_path / "runs" / "iris_mlp"
    fake_run(runs, "a", 0.1, completed(0.40, 0.80))
    fake_run(runs, "b", 0.01, completed(0.10, 0.95))
    fake_run(runs, "c", 0.001, {"status": "failed", "reason": "loss", "best_score": None})
    fake_run(runs, "d", 0.01, None, last_ckpt=True)
    fake_run(runs, "e", 0.01, None)
    results(["--runs-dir", str(tmp_path / "runs"), "--experiment", "iris_mlp"])
    with (runs / "results.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [row["run"] for row in table[:2]] == ["iris_mlp/b", "iris_mlp/a"]  # val/loss: lower is better
    assert {row["run"]: row["status"] for row in table} == {
        "iris_mlp/a": "completed",
        "iris_mlp/b": "completed",
        "iris_mlp/c": "failed",
        "iris_mlp/d": "interrupted",
        "iris_mlp/e": "running",
    }
    varying = [
        key
        for key in table[0]
        if key
        not in ("run", "status", "best", "test acc", "test f1", "epochs", "fit s", "samples/s", "peak MB")
    ]
    assert varying == ["model.lr"]
    assert table[0]["test acc"] == "0.9500" and table[2]["best"] == "-"
    markdown = (runs / "results.md").read_text().splitlines()
    assert markdown[0].startswith("| run | status | model.lr |") and len(markdown) == 7
    assert "5 run(s)" in capsys.readouterr().out


def test_real_runs_through_the_command(tmp_path):
    runs = tmp_path / "runs"
    for lr in ("0.01", "0.05"):
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "iris_mlp.yaml"),
            "--trainer.max_epochs",
            "3",
            "--model.lr",
            lr,
            runs_dir=runs,
        )
    result = subprocess.run(
        [sys.executable, "-m", "lightlab", "results", "--runs-dir", str(runs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader((runs / "results.csv").open()))
    assert sorted(row["model.lr"] for row in table) == ["0.01", "0.05"]
    assert all(row["status"] == "completed" and float(row["test acc"]) > 0 for row in table)
    # Each run's own speed record: training samples/s and its peak memory, on screen too.
    assert all(float(row["samples/s"]) > 0 and float(row["peak MB"]) > 50 for row in table)
    assert "samples/s" in result.stdout and "peak MB" in result.stdout


def test_sort_by_a_column_best_first(tmp_path, capsys):
    runs = tmp_path / "runs" / "iris_mlp"
    for name, lr, rate, memory in (
        ("a", 0.1, 900.0, 300.0),
        ("b", 0.01, 2500.0, 700.0),
        ("c", 0.001, None, 500.0),
    ):
        summary = completed(0.3, 0.9)
        summary["speed"] = {"samples_per_second": rate, "peak_memory_mb": memory}
        fake_run(runs, name, lr, summary)
    fake_run(runs, "d", 0.05, None)  # still running: no speed yet

    def order(column: str) -> list[str]:
        results(["--runs-dir", str(tmp_path / "runs"), "--experiment", "iris_mlp", "--sort", column])
        return [row["run"].split("/")[1] for row in csv.DictReader((runs / "results.csv").open())]

    assert order("samples/s") == ["b", "a", "c", "d"]  # higher first, runs without a figure last
    assert order("peak MB") == ["a", "c", "b", "d"]  # lower first
    assert order("model.lr") == ["c", "b", "d", "a"]
    assert "best first by model.lr" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        results(["--runs-dir", str(tmp_path / "runs"), "--sort", "speed"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--sort 'speed' is no column" in lines[0] and "samples/s" in lines[0]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [(["--experiment", "nope"], "no runs of 'nope'"), ([], "no run folders under")],
)
def test_nothing_to_compare_is_one_line(arguments, words, tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        results(["--runs-dir", str(tmp_path / "runs"), *arguments])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


def many_settings_runs(parent: Path, count: int = 12) -> None:
    """A morning's worth of runs: a dozen settings change from run to run, some with long keys."""
    for i in range(count):
        folder = fake_run(
            parent, f"20261201-1030{i:02d}", 0.028648679132 / (i + 1), completed(1 / (i + 2), 0.9)
        )
        config = yaml.safe_load((folder / "config.yaml").read_text())
        config["model"]["net"]["init_args"]["dropout"] = round(0.01 * i, 3)
        config["model"]["net"]["init_args"]["hidden_sizes"] = [16 + i, 16]
        config["data"]["init_args"]["batch_size"] = 8 + i
        config["trainer"]["max_epochs"] = 10 + i
        config["trainer"]["gradient_clip_val"] = 0.5 + i
        config["trainer"]["enable_model_summary"] = None  # unset, as a flag-less run leaves it
        config["save_last_every"] = {"dirpath": str(folder / "checkpoints")}
        config["ckpt_path"] = str(folder / "checkpoints" / "last.ckpt") if i % 2 else None
        config["seed_everything"] = 40 + i
        (folder / "config.yaml").write_text(yaml.safe_dump(config))


def rendered(tmp_path: Path, width: int | None, wide: bool = False) -> str:
    """What ``make results`` prints into a console of ``width`` columns (None: not a terminal)."""
    import io

    from rich.console import Console

    from lightlab.run.results import find_runs, rows
    from lightlab.run.results_view import print_results

    header, table = rows(find_runs(tmp_path / "runs", "iris_mlp"))
    text = io.StringIO()
    console = Console(file=text, width=width) if width else Console(file=text)
    print_results(header, table, "runs", console, wide=wide)
    return text.getvalue()


@pytest.mark.parametrize("width", [80, 200, None])
def test_the_table_fits_the_terminal_with_no_cell_cut(tmp_path, width, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    many_settings_runs(tmp_path / "runs" / "iris_mlp")
    output = rendered(tmp_path, width)
    limit = width or 80  # not a terminal: rich's 80 columns
    lines = output.splitlines()
    assert all(len(line) <= limit for line in lines), max(lines, key=len)
    header = next(line for line in lines if line.startswith("run "))
    shown = header.split()
    assert lines[0].startswith("iris_mlp: runs")  # one experiment: named once, in the title
    assert [line for line in lines if line.startswith("20261201-")] == lines[3:15]  # a line per run
    for i in range(12):  # run names whole, no value cut
        assert f"\n20261201-1030{i:02d} " in output
    assert "…" not in output
    for word in ("run", "status", "best", "test acc", "test f1"):
        assert word in header
    assert "0.02865" in output and "0.028648" not in output  # lr, to 4 significant digits
    for by_construction in ("dirpath", "ckpt_path", "enable_model_summary", "default_root_dir"):
        assert by_construction not in output
    if width == 200:
        assert {"dropout", "hidden_sizes", "lr", "epochs"} <= set(shown) and "model.lr" not in header
        assert "also differing" not in output
    else:
        assert "lr" in shown  # the model's settings first
        assert "also differing, not shown at 80 columns" in output and "trainer.max_epochs" in output


def test_a_groups_row_fits_80_columns_with_its_spread_and_count():
    import io

    from rich.console import Console

    from lightlab.run.results_view import print_results

    header = ["run", "status", "best", "test acc", "test f1"]
    table = [
        ["iris_mlp/20261202-015846", "completed", "0.0952", "0.9000", "0.8977"],
        *[
            ["iris_mlp/group-20261202-020002 (2 runs)", "completed"]
            + [f"0.{k}190 ± 0.0416 (n=2)" for k in (2, 9, 8)]
        ],
        ["iris_mlp/20261202-020051", "interrupted", "0.3941", "0.8333", "0.8222"],
    ]
    text = io.StringIO()
    print_results(header, table, "runs", Console(file=text, width=80))
    output = text.getvalue()
    assert all(len(line) <= 80 for line in output.splitlines()) and "…" not in output
    assert output.startswith("iris_mlp: runs") and "\ngroup-20261202-020002 (n=2) " in output
    assert "0.919±0.042" in output and "completed" in output and "interrupted" in output


def test_wide_shows_every_differing_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    many_settings_runs(tmp_path / "runs" / "iris_mlp")
    header = next(line for line in rendered(tmp_path, 80, wide=True).splitlines() if line.startswith("run "))
    for key in (
        "lr",
        "dropout",
        "hidden_sizes",
        "batch_size",
        "max_epochs",
        "gradient_clip_val",
        "seed_everything",
    ):
        assert key in header


def test_numbers_and_keys_read_short():
    from lightlab.run.results_view import short_keys, significant

    assert significant("0.028648679132") == "0.02865" and significant("[0.123456, 32]") == "[0.1235, 32]"
    assert significant("1e-05") == "1e-05" and significant("adam_v2") == "adam_v2"
    keys = ["model.net.dropout", "data.batch_size", "model.batch_size", "model.lr"]
    assert short_keys(keys) == {
        "model.net.dropout": "dropout",
        "data.batch_size": "data.batch_size",
        "model.batch_size": "model.batch_size",
        "model.lr": "lr",
    }
