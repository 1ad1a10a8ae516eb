"""Fashion-MNIST on the real files: a short training must already be far above chance."""

import os
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, read_summary, run_cli, run_dirs

from lightlab.data import FashionMNISTDataModule

# Debian's dataset-fashion-mnist installs the four .gz files here; FASHION_MNIST_DIR points elsewhere.
REAL_DATA = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))


@pytest.mark.slow
def test_mlp_reaches_85_percent_in_two_epochs_on_the_real_data(runs_dir):
    missing = FashionMNISTDataModule(data_dir=str(REAL_DATA), download=False).missing_files()
    if missing:
        pytest.skip(
            f"real Fashion-MNIST not in {REAL_DATA} (missing {', '.join(missing)}): "
            "apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR"
        )
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "fashion_mnist_mlp.yaml"),
        "--data.init_args.data_dir",
        str(REAL_DATA),
        "--data.init_args.download",
        "false",
        "--trainer.max_epochs",
        "2",
        runs_dir=runs_dir,
    )
    (run_dir,) = run_dirs(runs_dir, "fashion_mnist_mlp")
    summary = read_summary(run_dir)
    assert summary["epochs"] == 2
    assert summary["test"]["test/acc"] >= 0.85
