import hashlib
import warnings

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from PIL import Image

from lightlab.data import ImageFolderDataModule, ShapesDataModule
from lightlab.data.shapes import SHAPES, generate_shapes
from lightlab.errors import UserError


def _write(path, mode="RGB", size=(20, 14), colour=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    fill = colour if mode in ("L", "P") else (colour,) * len(mode)
    Image.new(mode, size, fill).save(path)


def _folder(root, per_class=10, classes=("cat", "dog", "fox")):
    for name in classes:
        for i in range(per_class):
            _write(root / name / f"{i}.png", colour=20 * i)
    return root


def test_one_root_is_split_by_class(tmp_path):
    dm = ImageFolderDataModule(
        root=str(_folder(tmp_path / "img", per_class=20)),
        image_size=16,
        val_fraction=0.2,
        test_fraction=0.1,
        batch_size=16,
        num_workers=0,
    )
    dm.setup("fit")
    assert dm.class_names == ["cat", "dog", "fox"] and dm.num_classes == 3
    assert [len(dm.samples[s]) for s in ("train", "val", "test")] == [42, 12, 6]
    val_targets = torch.tensor([t for _, t in dm.samples["val"]])
    assert torch.bincount(val_targets).tolist() == [4, 4, 4]
    paths = [{p for p, _ in dm.samples[s]} for s in ("train", "val", "test")]
    assert not (paths[0] & paths[1]) and not (paths[0] & paths[2]) and not (paths[1] & paths[2])
    batch = next(iter(dm.train_dataloader()))
    assert batch["inputs"].shape == (16, 3, 16, 16) and batch["target"].dtype == torch.int64
    assert dm.state_dict()["class_to_idx"] == {"cat": 0, "dog": 1, "fox": 2}


def test_separate_folders_map_classes_by_name(tmp_path):
    _folder(tmp_path / "train")
    _folder(tmp_path / "val", per_class=2, classes=("dog", "fox"))  # no "cat": indices must still match
    dm = ImageFolderDataModule(
        train_dir=str(tmp_path / "train"), val_dir=str(tmp_path / "val"), num_workers=0
    )
    dm.setup("fit")
    assert sorted({t for _, t in dm.samples["val"]}) == [1, 2]
    with pytest.raises(UserError, match="no test images"):
        dm.test_dataloader()


def test_val_folder_with_an_unknown_class(tmp_path):
    _folder(tmp_path / "train", classes=("cat", "dog"))
    _folder(tmp_path / "val", per_class=1, classes=("cat", "emu"))
    dm = ImageFolderDataModule(train_dir=str(tmp_path / "train"), val_dir=str(tmp_path / "val"))
    with pytest.raises(UserError, match=r"has classes not in .*train: emu"):
        dm.setup("fit")


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(UserError, match=r"image folder not found: .*nope .*one subfolder per class"):
        ImageFolderDataModule(root=str(tmp_path / "nope")).setup("fit")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="Couldn't find any class folder"):
        ImageFolderDataModule(root=str(tmp_path / "empty")).setup("fit")
    _folder(tmp_path / "one_empty", classes=("cat", "dog"))
    (tmp_path / "one_empty" / "emu").mkdir()
    with pytest.raises(UserError, match="Found no valid file for the classes emu"):
        ImageFolderDataModule(root=str(tmp_path / "one_empty")).setup("fit")


def test_corrupt_image_is_skipped_with_a_warning_naming_it(tmp_path):
    root = _folder(tmp_path / "img")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    dm = ImageFolderDataModule(root=str(root), num_workers=0)
    with pytest.warns(UserWarning, match=r"skipped 1 unusable image\(s\): .*dog/broken\.png"):
        dm.setup("fit")
    assert all("broken" not in p for split in dm.samples.values() for p, _ in split)
    strict = ImageFolderDataModule(root=str(root), on_corrupt="error")
    with pytest.raises(UserError, match=r"unusable image: .*broken\.png \(remove it"):
        strict.setup("fit")


def test_class_left_without_readable_images(tmp_path):
    root = _folder(tmp_path / "img", classes=("cat",))
    _write(root / "dog" / "0.png")
    (root / "dog" / "0.png").write_bytes(b"garbage")
    # The error alone: a warning about the same files first would make it two lines.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError, match=r"no readable training images for class.*dog"):
            ImageFolderDataModule(root=str(root), val_fraction=0, test_fraction=0).setup("fit")


@pytest.mark.parametrize("channels", [1, 3])
def test_mixed_image_modes_become_the_configured_channels(tmp_path, channels):
    root = tmp_path / "img"
    for i, mode in enumerate(["L", "RGB", "RGBA", "P", "RGB", "L"]):
        _write(root / ("a" if i % 2 else "b") / f"{mode}{i}.png", mode=mode, size=(10 + i, 12))
    dm = ImageFolderDataModule(
        root=str(root),
        channels=channels,
        image_size=8,
        val_fraction=0,
        test_fraction=0,
        batch_size=6,
        num_workers=0,
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["inputs"].shape == (6, channels, 8, 8)
    assert dm.input_shape == (channels, 8, 8)


def test_shapes_generation_is_deterministic_and_complete(tmp_path):
    first = generate_shapes(tmp_path / "a", images_per_class=5, image_size=16, seed=3)
    second = generate_shapes(tmp_path / "b", images_per_class=5, image_size=16, seed=3)

    def digest(root):
        return {
            p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))
        }

    assert digest(first) == digest(second) and len(digest(first)) == 5 * len(SHAPES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no staging folders left


def test_shapes_datamodule_generates_on_first_use(tmp_path):
    dm = ShapesDataModule(data_dir=str(tmp_path / "shapes"), images_per_class=10, num_workers=0)
    assert dm.num_classes == 4  # asking for sizes already generates the folder
    assert (tmp_path / "shapes" / "triangle" / "0009.png").is_file()


def _train_shapes(shapes_root, runs_dir, experiment: str, *extra: str) -> dict:
    """Eight epochs of the shapes_cnn experiment (or a variant) on the shared generated folder."""
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "shapes_cnn.yaml"),
        "--data.init_args.data_dir",
        str(shapes_root),
        "--trainer.max_epochs",
        "8",
        "--experiment",
        experiment,
        *extra,
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, experiment)
    return read_summary(run_dir)


@pytest.mark.slow
def test_shapes_cnn_learns_and_draws_its_pictures(shapes_root, runs_dir):
    summary = _train_shapes(shapes_root, runs_dir, "shapes_cnn")
    (run_dir,) = run_dirs(runs_dir, "shapes_cnn")
    assert summary["test"]["test/acc"] >= 0.5  # chance is 0.25
    assert summary["class_names"] == sorted(SHAPES)
    checkpoint = torch.load(run_dir / summary["best_checkpoint"], map_location="cpu", weights_only=False)
    assert checkpoint["ShapesDataModule"]["class_to_idx"] == {
        name: i for i, name in enumerate(sorted(SHAPES))
    }
    matrix = torch.tensor(summary["confusion_matrix"])
    assert matrix.shape == (4, 4) and matrix.sum().item() == 180  # 15% of 1200 images
    assert matrix.diag().sum().item() / 180 == pytest.approx(summary["test"]["test/acc"], abs=1e-6)
    for picture in ("samples.png", "confusion_matrix.png"):
        with Image.open(run_dir / picture) as image:
            assert image.format == "PNG" and image.width > 200

    # The same data and budget through an MLP: shapes at random places need convolutions.
    mlp = _train_shapes(
        shapes_root,
        runs_dir,
        "shapes_mlp",
        "--model.net",
        "lightlab.nets.MLP",
        "--model.net.init_args.hidden_sizes",
        "[256, 128]",
    )
    assert summary["test"]["test/acc"] > mlp["test"]["test/acc"] + 0.1
