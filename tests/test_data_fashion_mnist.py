import gzip
import shutil

import pytest
import torch
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs
from synthetic_data import patterned_images

from lightlab.data import FashionMNISTDataModule
from lightlab.data.augment import random_crop, random_hflip
from lightlab.data.idx import FASHION_MNIST_FILES, write_fashion_mnist, write_idx
from lightlab.errors import UserError
from lightlab.nets import CNN


@pytest.fixture(scope="module")
def fashion(fashion_root) -> FashionMNISTDataModule:
    dm = FashionMNISTDataModule(data_dir=str(fashion_root), val_size=200, batch_size=64)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_real_loader_reads_the_idx_files(fashion):
    assert [len(fashion.splits[s]) for s in ("train", "val", "test")] == [1000, 200, 300]
    batch = next(iter(fashion.train_dataloader()))
    assert batch["inputs"].shape == (64, 1, 28, 28) and batch["inputs"].dtype == torch.float32
    assert batch["target"].dtype == torch.int64
    assert fashion.class_names[0] == "T-shirt/top" and fashion.num_classes == 10


def test_validation_split_is_stratified_and_disjoint(fashion):
    counts = torch.bincount(fashion.splits["val"].tensors["target"], minlength=10)
    assert counts.tolist() == [20] * 10
    train = {tuple(x.flatten()[:50].tolist()) for x in fashion.splits["train"].tensors["inputs"]}
    val = {tuple(x.flatten()[:50].tolist()) for x in fashion.splits["val"].tensors["inputs"]}
    assert not train & val


def test_normalised_with_training_statistics(fashion):
    train = fashion.splits["train"].tensors["inputs"]
    assert abs(train.mean().item()) < 1e-4 and train.std().item() == pytest.approx(1.0, abs=1e-3)


def test_offline_without_files_says_what_to_put_where(tmp_path):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path))
    with pytest.raises(UserError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert "needs network access" in message
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    no_download = FashionMNISTDataModule(data_dir=str(tmp_path), download=False)
    with pytest.raises(UserError, match=r"files missing: .* or set --data.init_args.download true"):
        no_download.prepare_data()


@pytest.fixture
def flat_gz_copy(fashion_root, tmp_path):
    """The four files gzipped by another tool (level 1, a file name in the header, so not the
    original mirror's bytes) and lying flat in one folder, as Debian's dataset-fashion-mnist has them."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in FASHION_MNIST_FILES.values():
        data = (fashion_root / "FashionMNIST" / "raw" / name).read_bytes()
        (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1, mtime=1))
    return folder


def test_recompressed_gz_files_in_a_read_only_folder_read_like_the_raw_files(flat_gz_copy, fashion):
    flat_gz_copy.chmod(0o555)
    try:
        dm = FashionMNISTDataModule(data_dir=str(flat_gz_copy), val_size=200, download=False)
        dm.prepare_data()
        dm.setup("fit")
    finally:
        flat_gz_copy.chmod(0o755)
    assert sorted(p.name for p in flat_gz_copy.iterdir()) == sorted(
        f"{n}.gz" for n in FASHION_MNIST_FILES.values()
    )
    for split in ("train", "val", "test"):
        for name in ("inputs", "target"):
            assert torch.equal(dm.splits[split].tensors[name], fashion.splits[split].tensors[name])


def test_gz_files_in_the_download_folder_are_not_downloaded_again(flat_gz_copy, tmp_path):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    shutil.copytree(flat_gz_copy, raw)
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"), val_size=200)  # download on, no network
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.splits["test"]) == 300


def damage_truncate(raw):
    path = raw / FASHION_MNIST_FILES[("train", "images")]
    path.write_bytes(path.read_bytes()[:5000])
    return path.name, "truncated or damaged"


def damage_magic(raw):
    path = raw / FASHION_MNIST_FILES[("test", "labels")]
    path.write_bytes(b"<html>Not Found</html>")
    return path.name, "not an IDX file"


def damage_bad_gzip(raw):
    path = raw / FASHION_MNIST_FILES[("test", "images")]
    path.unlink()
    (raw / f"{path.name}.gz").write_bytes(gzip.compress(path.name.encode())[:12])
    return f"{path.name}.gz", "cannot read it"


def damage_count_mismatch(raw):
    write_idx(raw / FASHION_MNIST_FILES[("test", "labels")], patterned_images(299, seed=1)[1])
    return FASHION_MNIST_FILES[("test", "images")], "300 images but"


def damage_image_size(raw):
    write_idx(raw / FASHION_MNIST_FILES[("test", "images")], torch.zeros(300, 32, 32, dtype=torch.uint8))
    return FASHION_MNIST_FILES[("test", "images")], "expected 28x28 images"


def damage_label_range(raw):
    write_idx(raw / FASHION_MNIST_FILES[("test", "labels")], torch.full((300,), 12, dtype=torch.uint8))
    return FASHION_MNIST_FILES[("test", "labels")], "label 12 is outside 0..9"


@pytest.mark.parametrize(
    "damage",
    [
        damage_truncate,
        damage_magic,
        damage_bad_gzip,
        damage_count_mismatch,
        damage_image_size,
        damage_label_range,
    ],
)
def test_a_damaged_file_is_named_with_what_is_wrong(damage, tmp_path):
    raw = write_fashion_mnist(tmp_path, patterned_images(400, seed=0), patterned_images(300, seed=1))
    name, problem = damage(raw)
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), val_size=100)
    with pytest.raises(UserError) as error:
        dm.prepare_data()
        dm.setup("fit")
    message = str(error.value)
    assert name in message and problem in message and "\n" not in message


def test_offline_experiment_fails_in_one_line_and_leaves_no_folder(tmp_path, runs_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "fashion_mnist_mlp.yaml"),
            "--data.init_args.data_dir",
            str(tmp_path / "empty"),
            runs_dir=runs_dir,
        )
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "could not download Fashion-MNIST" in lines[0]
    assert not (runs_dir / "fashion_mnist_mlp").exists() or run_dirs(runs_dir, "fashion_mnist_mlp") == []


def test_random_crop_shifts_each_image_within_the_padding():
    images = torch.zeros(64, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0
    cropped = random_crop(images, padding=2, generator=torch.Generator().manual_seed(0))
    assert cropped.shape == images.shape
    positions = [torch.nonzero(img[0]).tolist() for img in cropped]
    assert all(len(p) == 1 for p in positions)  # a centre pixel never leaves a 2-padded crop
    shifts = {(r - 4, c - 4) for ((r, c),) in positions}
    assert shifts <= {(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3)}
    assert len(shifts) > 5  # offsets differ per image
    assert torch.equal(random_crop(images, padding=0), images)


def test_random_hflip_mirrors_about_half_the_batch():
    images = torch.arange(4.0).repeat(200, 1, 4, 1)  # every row is 0 1 2 3
    flipped = random_hflip(images, generator=torch.Generator().manual_seed(0))
    mirrored = (flipped[:, 0, 0, 0] == 3).sum().item()
    assert 70 < mirrored < 130
    assert torch.equal(flipped[flipped[:, 0, 0, 0] == 0], images[: 200 - mirrored])


def test_cnn_adapts_to_channels_and_size():
    assert CNN(num_classes=10, input_shape=(1, 28, 28))(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert CNN(num_classes=4, input_shape=(3, 40, 32), channels=[8, 16, 32])(
        torch.randn(2, 3, 40, 32)
    ).shape == (2, 4)
    with pytest.raises(ValueError, match="halve a 6x6 image to nothing"):
        CNN(num_classes=2, input_shape=(1, 6, 6), channels=[8, 8, 8])


@pytest.mark.parametrize(
    "experiment", ["fashion_mnist_mlp", pytest.param("fashion_mnist_cnn", marks=pytest.mark.slow)]
)
def test_learns_well_above_chance(experiment, fashion_root, runs_dir):
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / f"{experiment}.yaml"),
        "--trainer.max_epochs",
        "8",
        "--data.init_args.data_dir",
        str(fashion_root),
        "--data.init_args.val_size",
        "200",
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, experiment)
    assert read_summary(run_dir)["test"]["test/acc"] >= 0.6  # chance is 0.1
