# ruff: noqa: E501  (a table of manifests reads best one row to a line)
"""Image manifests: ``path,label[,split]`` rows instead of class folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from PIL import Image

from lightlab.data import ImageFolderDataModule
from lightlab.errors import UserError

SHAPES = str(EXPERIMENTS / "shapes_cnn.yaml")


def images(folder: Path, per_class: int = 8) -> list[tuple[str, str]]:
    """``(relative path, label)`` of small images whose colour tells their class apart."""
    rows = []
    for label, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        for i in range(per_class):
            path = folder / "pictures" / f"{label}-{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (12, 12), tuple(max(0, c - 6 * i) for c in colour)).save(path)
            rows.append((f"pictures/{label}-{i}.png", label))
    return rows


def manifest(folder: Path, lines: list[str], name: str = "labels.csv") -> str:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def datamodule(path: str, **options) -> ImageFolderDataModule:
    dm = ImageFolderDataModule(manifest=path, image_size=8, batch_size=4, num_workers=0, **options)
    dm.setup("fit")
    return dm


def test_a_split_column_is_honoured_and_a_run_trains_on_it(tmp_path):
    rows = images(tmp_path)
    splits = ["train"] * 5 + ["val"] * 2 + ["test"]
    lines = ["path,label,split"] + [f"{p},{label},{splits[i % 8]}" for i, (p, label) in enumerate(rows)]
    path = manifest(tmp_path, lines)
    dm = datamodule(path)
    assert dm.class_names == ["blue", "red"]
    assert dm.class_counts() == {
        "train": {"blue": 5, "red": 5},
        "val": {"blue": 2, "red": 2},
        "test": {"blue": 1, "red": 1},
    }
    assert sorted(Path(p).name for p, _ in dm.samples["test"]) == ["blue-7.png", "red-7.png"]
    runs = tmp_path / "runs"
    run_cli(
        "fit", "--config", SHAPES, "--data", "lightlab.data.ImageFolderDataModule",
        "--data.init_args.manifest", path, "--data.init_args.image_size", "8",
        "--data.init_args.num_workers", "0", "--data.init_args.batch_size", "4",
        "--trainer.max_epochs", "2", runs_dir=runs,
    )  # fmt: skip
    (run_dir,) = run_dirs(runs, "shapes_cnn")
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["class_counts"]["val"] == {"blue": 2, "red": 2}


def test_a_text_manifest_without_header_is_split_at_random_by_class(tmp_path):
    rows = images(tmp_path, per_class=10)
    path = manifest(tmp_path, ["# exported labels", *(f"{p}\t{label}" for p, label in rows)], "labels.txt")
    dm = datamodule(path, val_fraction=0.2, test_fraction=0.2)
    assert {split: sum(c.values()) for split, c in dm.class_counts().items()} == {
        "train": 12,
        "val": 4,
        "test": 4,
    }


def test_fixed_classes_set_the_order(tmp_path):
    rows = images(tmp_path, per_class=10)
    path = manifest(tmp_path, ["path,label", *(f"{p},{label}" for p, label in rows)])
    dm = datamodule(path, classes=["red", "blue"])
    assert dm.class_names == ["red", "blue"]
    red_path, red = dm.samples["train"][0]
    assert (red == 0) == ("red" in red_path)


def test_missing_unreadable_and_duplicate_rows_are_skipped_with_one_warning_naming_them(tmp_path):
    rows = images(tmp_path, per_class=10)
    (tmp_path / "pictures" / "broken.png").write_bytes(b"not a png")
    lines = ["path,label", *(f"{p},{label}" for p, label in rows)]
    lines += ["pictures/gone.png,red", "pictures/broken.png,blue", f"{rows[0][0]},blue"]
    path = manifest(tmp_path, lines)
    with pytest.warns(UserWarning, match=r"skipped 3 unusable image\(s\): ") as caught:
        dm = datamodule(path)
    text = str(caught[0].message)
    assert "red-0.png (line 24, listed already at line 2 as red, which is kept)" in text
    assert "gone.png (missing)" in text and "broken.png" in text
    assert sum(len(samples) for samples in dm.samples.values()) == 20
    with pytest.raises(
        UserError, match=r"unusable image: .*red-0\.png \(line 24, listed already at line 2 as red"
    ):
        datamodule(path, on_corrupt="error")


@pytest.mark.parametrize(
    ("lines", "options", "words"),
    [
        (["file,label", "a.png,red"], {}, "its header has no 'path' column (it has: file, label)"),
        (["path,label", "pictures/red-0.png,"], {}, "labels.csv:2: a row needs both a path and a label"),
        (["path,label", "../elsewhere.png,red"], {}, "labels.csv:2: ../elsewhere.png is outside the manifest's folder"),
        (["path,label", "pictures/red-0.png,green"], {"classes": ["red", "blue"]}, "labels.csv:2: label 'green' is not one of the classes (red, blue)"),
        (["path,label,split", "pictures/red-0.png,red,holdout"], {}, "labels.csv:2: split 'holdout' is not train, val or test"),
        (["path,label,split", "pictures/red-0.png,red,train", "pictures/blue-0.png,blue,train"], {"folds": 2}, "has a split column, which fixes the splits"),
        (["# nothing here"], {}, "lists no images"),
        (["file,class", "pictures/red-0.png,red", "pictures/blue-0.png,blue"], {}, "labels.csv:1: the first row (file,class) looks like a header; name its columns path,label[,split]"),
    ],
)  # fmt: skip
def test_a_bad_manifest_is_one_line_naming_the_row(lines, options, words, tmp_path):
    images(tmp_path, per_class=2)
    with pytest.raises(UserError) as error:
        datamodule(manifest(tmp_path, lines), **options)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_duplicates_stop_a_manifest_with_a_split_column_under_on_corrupt_error(tmp_path):
    rows = images(tmp_path, per_class=4)
    lines = ["path,label,split", *(f"{p},{label},train" for p, label in rows), f"{rows[1][0]},red,val"]
    with pytest.raises(
        UserError, match=r"unusable image: .*red-1\.png \(line 10, listed already at line 3\)"
    ):
        datamodule(manifest(tmp_path, lines), on_corrupt="error")


def test_columns_besides_path_label_and_split_are_named_as_ignored(tmp_path):
    rows = images(tmp_path, per_class=4)
    lines = ["path,label,annotator", *(f"{p},{label},ann" for p, label in rows)]
    with pytest.warns(
        UserWarning, match=r"ignoring column\(s\) annotator \(a manifest reads path, label, split\)"
    ):
        dm = datamodule(manifest(tmp_path, lines), val_fraction=0.25, test_fraction=0.25)
    assert dm.class_counts()["train"] == {"blue": 2, "red": 2}


def test_integer_labels_are_numbered_in_numeric_order(tmp_path):
    rows = images(tmp_path, per_class=4)
    lines = ["path,label", *(f"{p},{'10' if label == 'red' else '9'}" for p, label in rows)]
    assert datamodule(manifest(tmp_path, lines), val_fraction=0.25, test_fraction=0.25).class_names == [
        "9",
        "10",
    ]


def test_a_manifest_of_another_suffix_or_missing_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"image manifest not found: .*nope\.csv"):
        datamodule(str(tmp_path / "nope.csv"))
    with pytest.raises(UserError, match=r"a manifest is a \.csv, \.tsv or \.txt file"):
        datamodule(manifest(tmp_path, ["path,label"], "labels.json"))
