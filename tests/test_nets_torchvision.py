"""Fine-tuning torchvision backbones: weights from torchvision's cache, offline, the weights' own
preprocessing in the image DataModule, freezing, gradual unfreezing and two learning rates."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import torch
from helpers import fit_to_end, read_summary, run_dirs
from PIL import Image
from torchvision.models import ResNet18_Weights

from lightlab.data import ImageFolderDataModule
from lightlab.inference.predict import load_run
from lightlab.nets import TorchvisionNet
from lightlab.nets.image_preprocessing import ImagePreprocessing
from lightlab.nets.torchvision_net import cached_file
from lightlab.tasks import ClassificationTask


def fit(runs: Path, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return fit_to_end("image_folder_resnet18", *flags, runs_dir=runs, env=env)


def test_weights_in_torchvisions_cache_are_loaded_offline(torch_home):
    saved = torch.load(cached_file(ResNet18_Weights.DEFAULT), map_location="cpu")
    net = TorchvisionNet("resnet18", num_classes=4, weights="DEFAULT")
    assert not torch.equal(net.backbone.conv1.weight, saved["conv1.weight"])  # built random
    net.load_pretrained()
    state = net.backbone.state_dict()
    for key, value in saved.items():
        if not key.startswith("fc."):  # the 1000-class head is replaced
            assert torch.equal(state[key], value), key
    assert net.head[-1].out_features == 4


def test_missing_weights_offline_is_one_line_naming_the_file(tmp_path, shapes_root):
    home = tmp_path / "empty_torch_home"
    dead_proxy = "http://127.0.0.1:9"  # nothing listens there: no download can succeed
    result = fit(
        tmp_path / "runs",
        "--data.init_args.root",
        str(shapes_root),
        # wandb on, as for a user: the weights are fetched before any logger starts.
        env={
            "TORCH_HOME": str(home),
            "https_proxy": dead_proxy,
            "HTTPS_PROXY": dead_proxy,
            "WANDB_MODE": "offline",
        },
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.count("\n") == 0, line
    assert str(home / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in line
    assert "download https://download.pytorch.org/models/resnet18-f37072fd.pth" in line
    assert not run_dirs(tmp_path / "runs", "image_folder_resnet18")


def test_frozen_backbone_stays_bit_identical_while_the_head_learns():
    task = ClassificationTask(TorchvisionNet("resnet18", 3, weights=None, freeze="backbone"), num_classes=3)
    before = {name: p.detach().clone() for name, p in task.named_parameters()}
    optimizer = task.configure_optimizers()
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == {
        id(p) for p in task.net.head.parameters()
    }
    task.train()
    loss = torch.nn.functional.cross_entropy(task(torch.randn(4, 3, 64, 64)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    optimizer.step()
    for name, p in task.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == name.startswith("net.head."), name


def test_backbone_learning_rate_is_its_own_parameter_group():
    net = TorchvisionNet("resnet18", 3, weights=None, freeze="layer3")
    task = ClassificationTask(net, num_classes=3, lr=1e-3, backbone_lr=1e-5)
    groups = {g["name"]: g for g in task.configure_optimizers().param_groups}
    assert (groups["head"]["lr"], groups["backbone"]["lr"]) == (1e-3, 1e-5)
    late = ("layer3", "layer4")
    trainable_backbone = {id(p) for n, p in net.backbone.named_parameters() if n.startswith(late)}
    assert {id(p) for p in groups["backbone"]["params"]} == trainable_backbone  # conv1..layer2 frozen


def test_pretrained_preprocessing_comes_from_the_weights_and_grayscale_becomes_rgb(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("L", (40, 30), color=60 * i).save(tmp_path / name / f"{i}.png")
    data = ImageFolderDataModule(root=str(tmp_path), channels=1)
    data.adapt_to(TorchvisionNet("resnet18", 2, weights="DEFAULT"))
    expected = ResNet18_Weights.DEFAULT.transforms()
    sizes = (data.preprocessing.resize, data.preprocessing.crop)
    assert sizes == (expected.resize_size[0], expected.crop_size[0])
    assert data.preprocessing.mean == tuple(expected.mean) and data.input_shape == (3, 224, 224)
    batch = data.collate_inputs([tmp_path / "a" / "2.png"])["inputs"]
    assert batch.shape == (1, 3, 224, 224)
    gray = torch.full((3,), 120 / 255)  # each channel: the gray value under that channel's mean/std
    normalised = (gray - torch.tensor(expected.mean)) / torch.tensor(expected.std)
    assert torch.allclose(batch[0, :, 100, 100], normalised)
    restored = ImageFolderDataModule(root=str(tmp_path), channels=1)
    restored.load_state_dict(data.state_dict())  # what a checkpoint keeps for prediction
    assert restored.preprocessing == data.preprocessing


@pytest.mark.slow
def test_unfreeze_epoch_and_both_learning_rates_show_in_the_metrics(tmp_path, shapes_root):
    runs = tmp_path / "runs"
    result = fit(
        runs,
        *("--data.init_args.root", str(shapes_root), "--data.init_args.image_size", "32"),
        *("--model.net.init_args.weights", "null", "--trainer.max_epochs", "3"),
        *("--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1"),
        "--trainer.callbacks.unfreeze_backbone_at_epoch=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(runs, "image_folder_resnet18")
    with (run_dir / "metrics.csv").open(newline="") as file:
        columns = ("lr-Adam", "lr-Adam/pg1", "lr-Adam/pg2")
        rates = [[float(row[c]) if row[c] else None for c in columns] for row in csv.DictReader(file)]
    rates = [row for row in rates if any(row)]  # one row per epoch start, in order
    assert rates[0] == [1e-3, None, None]  # the head alone
    assert rates[-1] == [None, 1e-3, 1e-4]  # unfrozen: the backbone at a tenth of the head's rate
    assert read_summary(run_dir)["status"] == "completed"


@pytest.mark.slow
def test_a_pretrained_run_predicts_with_the_weights_preprocessing(tmp_path, shapes_root, torch_home):
    runs = tmp_path / "runs"
    result = fit(
        runs,
        *("--data.init_args.root", str(shapes_root), "--data.init_args.batch_size", "8"),
        *("--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2"),
        *("--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(runs, "image_folder_resnet18")
    predictor = load_run(run_dir)  # rebuilt from the checkpoint: nothing to download
    assert predictor.datamodule.preprocessing == ImagePreprocessing.of_weights(ResNet18_Weights.DEFAULT)
    images = sorted((shapes_root / "circle").iterdir())[:3]
    _, rows = predictor.predict_file(images[0].parent, tmp_path / "predictions.csv")
    assert len(rows) - 1 == len(list(images[0].parent.iterdir()))
    transform = ResNet18_Weights.DEFAULT.transforms()  # torchvision's own pipeline for these weights
    batch = torch.stack([transform(Image.open(path).convert("RGB")) for path in images])
    with torch.no_grad():
        expected = predictor.task(batch).softmax(-1)
    assert torch.allclose(predictor.probabilities(images), expected, atol=1e-5)


@pytest.mark.slow
def test_random_weights_learn_the_shapes(tmp_path, shapes_root):
    result = fit_to_end(
        "shapes_cnn",
        *("--data.init_args.data_dir", str(shapes_root), "--data.init_args.image_size", "32"),
        *("--model.net", "lightlab.nets.TorchvisionNet", "--model.net.init_args.name", "resnet18"),
        *("--model.net.init_args.weights", "null", "--model.lr", "0.0003"),
        *("--data.init_args.batch_size", "32", "--trainer.max_epochs", "3"),
        runs_dir=tmp_path / "runs",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "runs", "shapes_cnn")
    with (run_dir / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    train = [float(row["train/acc"]) for row in rows if row["train/acc"]]
    assert train == sorted(train) and train[-1] > train[0] + 0.1  # rises every epoch
    assert max(float(row["val/acc"]) for row in rows if row["val/acc"]) > 0.35  # chance: 0.25
