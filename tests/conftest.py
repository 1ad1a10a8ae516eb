"""Fixtures: a temporary runs directory and small generated data in each real on-disk format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["WANDB_MODE"] = "disabled"  # tests never touch the network or write wandb files
os.environ.pop("LIGHTLAB_RUN_DIR", None)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(scope="session")
def fashion_root(tmp_path_factory) -> Path:
    """A small Fashion-MNIST in torchvision's raw IDX layout: 1200 train and 300 test images."""
    from synthetic_data import patterned_images

    from lightlab.data.idx import write_fashion_mnist

    root = tmp_path_factory.mktemp("fashion")
    write_fashion_mnist(root, patterned_images(1200, seed=0), patterned_images(300, seed=1))
    return root


@pytest.fixture(scope="session")
def shapes_root(tmp_path_factory) -> Path:
    """A small generated shapes image folder: 300 images per class."""
    from lightlab.data.shapes import generate_shapes

    return generate_shapes(tmp_path_factory.mktemp("shapes") / "shapes", images_per_class=300)


@pytest.fixture(scope="session")
def negation_csv(tmp_path_factory) -> Path:
    """The negation demo as a CSV file: 600 sentences."""
    from lightlab.data.negation import generate_negation

    return generate_negation(tmp_path_factory.mktemp("text") / "negation.csv", count=600)


@pytest.fixture
def smoke_args(fashion_root, shapes_root, negation_csv) -> dict[str, list[str]]:
    """Extra flags per experiment for the smoke test, pointing it at generated data."""
    fashion = ["--data.init_args.data_dir", str(fashion_root), "--data.init_args.val_size", "200"]
    args = {name: fashion for name in ("fashion_mnist_mlp", "fashion_mnist_cnn", "fashion_mnist_custom")}
    args["shapes_cnn"] = ["--data.init_args.data_dir", str(shapes_root)]
    args["text_bilstm"] = args["text_file_bilstm"] = ["--data.init_args.path", str(negation_csv)]
    return args
