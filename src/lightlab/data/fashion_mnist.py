"""Fashion-MNIST: 70 000 grayscale 28x28 clothing images in 10 classes, held in memory as tensors."""

from pathlib import Path
from urllib.error import URLError

import torch
from torchvision.datasets import FashionMNIST

from lightlab.batch import Batch
from lightlab.data.augment import random_crop, random_hflip
from lightlab.data.idx import FASHION_MNIST_FILES, find_idx_file, read_image_label_pair
from lightlab.data.in_memory import InMemoryDataModule, InMemoryDataset
from lightlab.data.input_encoding import ImageInputs
from lightlab.data.read_once import read_once
from lightlab.data.splits import split_for_run
from lightlab.errors import UserError
from lightlab.ranges import FoldCount, NonNegativeInt, PositiveInt, Seed


class FashionMNISTDataModule(InMemoryDataModule):
    """torchvision's Fashion-MNIST, parsed once into uint8 tensors, normalised in bulk, batched by slicing.

    The four IDX files are read from ``data_dir`` itself or from torchvision's
    ``data_dir/FashionMNIST/raw/``, raw or gzipped, whatever tool compressed them; each is checked
    (header, 28x28, image and label counts) before use. ``prepare_data`` downloads missing files
    into ``data_dir/FashionMNIST/raw/``; offline it fails with one line naming the files and
    where to put them. ``data_dir`` may be read-only, e.g. ``/usr/share/datasets/fashion-mnist``.

    A stratified, seeded ``val_size`` of the 60 000 training images is held out for validation;
    the 10 000 test images are the test split. Normalisation uses the mean and std of the training split.

    ``augment`` adds a random 2-pixel-padded crop and a horizontal flip, done on the whole batch
    after it reaches the device. ``device_resident`` keeps the normalised splits (~220 MB) on the
    GPU so no batch is copied from host memory. ``balanced`` draws training batches with every
    class equally likely.
    """

    input_kind = "image"
    resplittable = True
    input_shape = (1, 28, 28)

    def __init__(
        self,
        data_dir: str = "data",
        val_size: NonNegativeInt = 5000,
        split_seed: Seed = 0,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        batch_size: PositiveInt = 256,
        download: bool = True,
        augment: bool = False,
        device_resident: bool = False,
        balanced: bool = False,
    ) -> None:
        super().__init__()
        self.save_arguments(locals())
        self.class_names = list(FashionMNIST.classes)
        self.splits: dict[str, InMemoryDataset] = {}
        self.normalization: dict[str, float] = {}  # the training split's pixel mean and std

    @property
    def raw_dir(self) -> Path:
        """Where a download puts the files (torchvision's layout under ``data_dir``)."""
        return Path(self.hparams.data_dir) / "FashionMNIST" / "raw"

    def _folders(self) -> list[Path]:
        # The four files directly (e.g. a read-only system copy), or torchvision's download layout.
        return [Path(self.hparams.data_dir), self.raw_dir]

    def _files(self) -> dict[tuple[str, str], Path | None]:
        return {key: find_idx_file(self._folders(), name) for key, name in FASHION_MNIST_FILES.items()}

    def missing_files(self) -> list[str]:
        return [FASHION_MNIST_FILES[key] for key, path in self._files().items() if path is None]

    def prepare_data(self) -> None:
        missing = self.missing_files()
        if not missing:
            return
        where = (
            f"put them, raw or .gz from any source, in {self.hparams.data_dir}/ or {self.raw_dir}/ "
            "(or point --data.init_args.data_dir at a folder that holds them)"
        )
        if not self.hparams.download:
            raise UserError(
                f"Fashion-MNIST files missing: {', '.join(missing)}; {where}, "
                "or set --data.init_args.download true"
            )
        try:
            for train in (True, False):
                FashionMNIST(self.hparams.data_dir, train=train, download=True)
        except (RuntimeError, URLError, OSError) as error:
            reason = str(error).strip().splitlines()[-1]
            raise UserError(
                f"could not download Fashion-MNIST ({reason}): the download needs network access; "
                f"otherwise fetch {', '.join(missing)} and {where}"
            ) from None

    def setup(self, stage: str) -> None:
        if self.splits:
            return
        files = self._files()
        if None in files.values():
            self.prepare_data()  # e.g. setup called directly, outside a Trainer
            files = self._files()
        train_images, train_targets = read_once(
            read_image_label_pair,
            files[("train", "images")],
            files[("train", "labels")],
            num_classes=self.num_classes,
        )
        test_images, test_targets = read_once(
            read_image_label_pair,
            files[("test", "images")],
            files[("test", "labels")],
            num_classes=self.num_classes,
        )
        val_fraction = self.hparams.val_size / len(train_targets)
        folds, fold = self.hparams.get("folds"), self.hparams.get("fold", 0)
        train_idx, val_idx, _ = split_for_run(
            train_targets, val_fraction, 0.0, self.hparams.split_seed, folds, fold
        )
        pixels = train_images[train_idx].float().div_(255)
        mean, std = pixels.mean().item(), pixels.std().item()
        self.normalization = {"mean": mean, "std": std}

        def normalised(images: torch.Tensor) -> torch.Tensor:
            return images.float().div_(255).sub_(mean).div_(std).unsqueeze(1)  # (N, 1, 28, 28)

        parts = {
            "train": (normalised(train_images[train_idx]), train_targets[train_idx]),
            "val": (normalised(train_images[val_idx]), train_targets[val_idx]),
            "test": (normalised(test_images), test_targets),
        }
        device = self._resident_device()
        self.splits = {
            name: InMemoryDataset(inputs=images.to(device), target=targets.to(device))
            for name, (images, targets) in parts.items()
        }

    def _resident_device(self) -> torch.device:
        trainer = self.trainer
        if self.hparams.device_resident and trainer is not None:
            return trainer.strategy.root_device
        return torch.device("cpu")

    def example_input(self) -> Batch:
        return {"inputs": torch.zeros(2, *self.input_shape)}

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        trainer = self.trainer
        if self.hparams.augment and trainer is not None and trainer.training and not trainer.overfit_batches:
            batch = {**batch, "inputs": random_hflip(random_crop(batch["inputs"], padding=2))}
        return batch

    def input_encoding(self) -> ImageInputs:
        """Images turned grayscale and 28x28 (light garment on dark ground, as in Fashion-MNIST) and
        normalised with the training pixels' mean and std."""
        norm = self.normalization
        return ImageInputs("L", [norm["mean"]], [norm["std"]], size=list(self.input_shape[1:]))

    def state_dict(self) -> dict:
        return {"class_names": self.class_names, **self.normalization}

    def load_state_dict(self, state: dict) -> None:
        self.normalization = {"mean": float(state["mean"]), "std": float(state["std"])}
