"""Fixtures: a temporary runs directory and small generated data in each real on-disk format.

Where a test goes: ``test_<package>_<topic>.py`` for the code of one package (``run``,
``cluster``, ``callbacks``, ``inference``, ``deploy``, ``sweeps``, ``data``, ``nets``, ``tasks``),
``test_<module>.py`` for a top-level module (``cli``, ``internals``, ``atomic_writes``), and no
prefix for the template as a whole (every command's bad input, the experiments, the README, the
lock, ``make new-project``). ``helpers.py`` and ``synthetic_data.py`` hold what tests share.
Which tier a test belongs to (``make test``, or ``@pytest.mark.slow`` for ``make test-all``) is
in AGENTS.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ["WANDB_MODE"] = "disabled"  # tests never touch the network or write wandb files
os.environ.pop("LIGHTLAB_RUN_DIR", None)
os.environ.pop("LIGHTLAB_VIA_MAKE", None)  # `make test` sets it; the tests' messages name flags


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


@pytest.fixture(scope="session")
def keyword_csv(tmp_path_factory) -> Path:
    """3000 texts whose label one keyword gives away (a bag of words separates them)."""
    from synthetic_data import keyword_texts

    return keyword_texts(tmp_path_factory.mktemp("keywords") / "keywords.csv")


@pytest.fixture(scope="session")
def torch_home(tmp_path_factory) -> Path:
    """A ``TORCH_HOME`` whose cache holds ResNet-18 weights under the file name torchvision
    downloads them to (seeded random values, so a test can tell they were loaded); set for this
    process and the runs it starts, so nothing is downloaded."""
    from torchvision.models import ResNet18_Weights, resnet18

    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(1234)
    torch.save(resnet18().state_dict(), checkpoints / Path(ResNet18_Weights.DEFAULT.url).name)
    os.environ["TORCH_HOME"] = str(home)
    return home


@pytest.fixture
def smoke_args(fashion_root, shapes_root, negation_csv, keyword_csv, torch_home) -> dict[str, list[str]]:
    """Extra flags per experiment for the smoke test, pointing it at generated data (an entry per
    experiment: a project that drops an experiment drops its entry)."""
    return {
        "fashion_mnist_mlp": [
            "--data.init_args.data_dir",
            str(fashion_root),
            "--data.init_args.val_size",
            "200",
        ],
        "fashion_mnist_cnn": [
            "--data.init_args.data_dir",
            str(fashion_root),
            "--data.init_args.val_size",
            "200",
        ],
        "fashion_mnist_custom": [
            "--data.init_args.data_dir",
            str(fashion_root),
            "--data.init_args.val_size",
            "200",
        ],
        "shapes_cnn": ["--data.init_args.data_dir", str(shapes_root)],
        "text_bilstm": ["--data.init_args.path", str(negation_csv)],
        "text_file_bilstm": ["--data.init_args.path", str(negation_csv)],
        "text_file_ngrams": ["--data.init_args.path", str(keyword_csv)],
        # Pretrained ResNet-18 at 224 x 224 on the CPU (torch_home holds its weights): small batches.
        "image_folder_resnet18": [
            "--data.init_args.root",
            str(shapes_root),
            "--data.init_args.batch_size",
            "8",
        ],
    }
