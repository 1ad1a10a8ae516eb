"""Class balance in sight: counts per split in the summary and ``make show-data``, the one line a
rare class prints, and the two remedies (balanced batches, class weights) doing what they say."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
import torch
import yaml
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from PIL import Image

from lightlab.data.balance import BalancedSampler, balanced_class_weights, imbalance_line
from lightlab.data.bucketing import BucketBatchSampler
from lightlab.data.show import main as show_data

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")
ALL_EXPERIMENTS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
REMEDIES = [["--data.init_args.balanced", "true"], ["--model.class_weights", "balanced"]]


def imbalanced_csv(path: Path, common: int = 1900, rare: int = 100, seed: int = 0) -> Path:
    """Two overlapping 2-D Gaussian classes, ``common`` : ``rare`` rows."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "label"])
        for label, count, centre in (("common", common, 0.0), ("rare", rare, 1.5)):
            writer.writerows([rng.gauss(centre, 1), rng.gauss(centre, 1), label] for _ in range(count))
    return path


def csv_run(csv_path: Path, runs: Path, *flags: str) -> dict:
    run_cli(
        "fit", "--config", IRIS, "--data", "lightlab.data.NumericCsvDataModule",
        "--data.init_args.csv_path", str(csv_path), "--data.init_args.label_column", "label",
        "--data.init_args.batch_size", "64", "--trainer.max_epochs", "5", *flags, runs_dir=runs,
    )  # fmt: skip
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return read_summary(run_dir)


def rare_recall(summary: dict) -> float:
    """The rare class's recall on the test split, from the summary's confusion matrix."""
    matrix = summary["confusion_matrix"]
    rare = summary["class_names"].index("rare")
    return matrix[rare][rare] / sum(matrix[rare])


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory) -> tuple[Path, dict, str]:
    """The imbalanced CSV, and the summary and output of a run on it without a remedy."""
    folder = tmp_path_factory.mktemp("imbalanced")
    path = imbalanced_csv(folder / "rows.csv")
    summary = csv_run(path, folder / "runs")
    (run_dir,) = run_dirs(folder / "runs", "iris_mlp")
    return path, summary, (run_dir / "train.log").read_text()


def test_a_rare_class_prints_one_line_with_the_remedies_and_the_summary_counts_it(imbalanced):
    _, summary, log = imbalanced
    lines = [line for line in log.splitlines() if line.startswith("class balance:")]
    assert lines == [
        "class balance: 'rare' has 60 training samples, 'common' has 1140; accuracy will flatter the "
        "model. Remedies: --model.class_weights balanced (weights the training loss), "
        "--data.init_args.balanced true (draws every class equally often); watch val/recall and val/f1"
    ]
    assert summary["class_counts"] == {
        "train": {"common": 1140, "rare": 60},
        "val": {"common": 380, "rare": 20},
        "test": {"common": 380, "rare": 20},
    }


@pytest.mark.parametrize(
    "remedy", [["--data.init_args.balanced", "true"], ["--model.class_weights", "balanced"]]
)
def test_each_remedy_raises_the_rare_class_recall(remedy, imbalanced, tmp_path):
    path, plain, _ = imbalanced
    remedied = csv_run(path, tmp_path, *remedy)
    assert rare_recall(remedied) >= rare_recall(plain) + 0.2, (rare_recall(plain), rare_recall(remedied))
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    assert "class balance:" not in (run_dir / "train.log").read_text()  # a remedy is in place


def test_both_remedies_at_once_are_named_as_counting_twice(imbalanced, tmp_path):
    path, _, _ = imbalanced
    csv_run(path, tmp_path, *REMEDIES[0], *REMEDIES[1], "--trainer.max_epochs", "1")
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    lines = [line for line in (run_dir / "train.log").read_text().splitlines() if "class balance" in line]
    assert lines == [
        "class balance: class_weights and balanced both favour the rare classes, so they count twice; "
        "keep one of them"
    ]


def test_balanced_data_prints_no_line(tmp_path):
    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "1", runs_dir=tmp_path)
    (run_dir,) = run_dirs(tmp_path, "iris_mlp")
    assert "class balance" not in (run_dir / "train.log").read_text()
    assert imbalance_line({"a": 10, "b": 100}) is None  # a tenth is the bound
    assert "'a' has 9" in imbalance_line({"a": 9, "b": 100})
    # A DataModule without a balanced option is offered the remedy it has.
    assert "--data.init_args.balanced" not in imbalance_line({"a": 9, "b": 100}, offers_balanced=False)
    own_loss = imbalance_line({"a": 9, "b": 100}, offers_weights=False)
    assert "class weights in your own loss" in own_loss and "--model.class_weights" not in own_loss


def test_the_balanced_sampler_draws_classes_evenly_and_shares_one_draw_between_processes():
    targets = torch.tensor([0] * 950 + [1] * 50)
    ranks = [BalancedSampler(targets, seed=3, num_replicas=2, rank=r) for r in (0, 1)]
    shares = [list(sampler) for sampler in ranks]
    assert [len(share) for share in shares] == [500, 500] == [len(sampler) for sampler in ranks]
    whole = ranks[0].draw()
    assert shares[0] == whole[0::2].tolist() and shares[1] == whole[1::2].tolist()
    rare_share = (targets[whole] == 1).float().mean().item()
    assert 0.43 < rare_share < 0.57, rare_share
    ranks[0].set_epoch(1)
    assert list(ranks[0]) != shares[0]  # a new draw each epoch
    assert len(set(whole[targets[whole] == 1].tolist())) > 40  # most of the rare samples, not a few


def test_balanced_text_batches_draw_the_rare_class_as_often():
    lengths = [random.Random(i).randint(1, 30) for i in range(1000)]
    targets = torch.tensor([0] * 950 + [1] * 50)
    sampler = BucketBatchSampler(lengths, 32, shuffle=True, balanced_targets=targets, drop_last=True)
    drawn = torch.tensor([i for batch in sampler for i in batch])
    assert 0.43 < (targets[drawn] == 1).float().mean().item() < 0.57
    assert len(drawn) == len(lengths) and len(list(sampler)) == len(sampler)


def test_balanced_class_weights_give_each_class_the_same_total():
    weights = balanced_class_weights([90, 10, 0])
    assert weights.tolist() == pytest.approx([100 / (2 * 90), 100 / (2 * 10), 0.0])


def experiment_with_data(experiment: str, folder: Path, smoke_args: dict[str, list[str]]) -> Path:
    """A copy of ``experiments/<experiment>.yaml`` whose data section points at the test's data."""
    config = yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())
    flags = smoke_args.get(experiment, [])
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        config["data"].setdefault("init_args", {})[flag.removeprefix("--data.init_args.")] = yaml.safe_load(
            value
        )
    path = folder / f"{experiment}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("experiment", ALL_EXPERIMENTS)
def test_show_data_draws_the_class_counts_of_every_experiment(experiment, smoke_args, tmp_path, capsys):
    config = experiment_with_data(experiment, tmp_path, smoke_args)
    show_data([str(config), "--out", str(tmp_path / "out"), "--count", "8"])
    out = capsys.readouterr().out
    assert f"{experiment}: samples per class" in out and "total" in out
    assert Image.open(tmp_path / "out" / "class_counts.png").format == "PNG"
    is_image = (tmp_path / "out" / "samples.png").is_file()
    assert is_image == (experiment.startswith(("fashion", "shapes", "image")))


def test_show_data_counts_match_the_data(tmp_path, capsys):
    path = imbalanced_csv(tmp_path / "rows.csv", common=95, rare=5)
    config = tmp_path / "rows.yaml"
    config.write_text(
        "data:\n  class_path: lightlab.data.NumericCsvDataModule\n  init_args:\n"
        f"    csv_path: {path}\n    label_column: label\n"
    )
    show_data([str(config), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    cells = [[cell.strip() for cell in line.strip("│").split("│")] for line in out.splitlines()]
    rows = {row[0]: row[1:] for row in cells if len(row) == 4}
    assert rows["common"] == ["57", "19", "19"] and rows["rare"] == ["3", "1", "1"]
    assert rows["total"] == ["60", "20", "20"]
    assert "class balance: 'rare' has 3 training samples, 'common' has 57" in out
