"""Any labelled image collection: class subfolders (torchvision's ``ImageFolder``) or a manifest."""

import os
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2 as T

from lightlab.batch import Batch
from lightlab.data.base import LabDataModule
from lightlab.data.image_inputs import MAX_IMAGE_PIXELS
from lightlab.data.image_sources import (
    ImageList,
    Sample,
    read_class_folder,
    read_manifest,
    readable,
    warn_skipped,
)
from lightlab.data.input_encoding import ImageInputs
from lightlab.data.splits import split_for_run
from lightlab.errors import UserError
from lightlab.nets.image_preprocessing import DeclaresImagePreprocessing, ImagePreprocessing
from lightlab.ranges import (
    FoldCount,
    Fraction,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Seed,
    UnitInterval,
)


def default_num_workers() -> int:
    """Loader processes to use when not configured: none on 1-2 cores, else one per spare core, up to 4.

    On 2 cores a worker competes with the model for CPU: shapes_cnn took 34 s with no worker
    and 38 s with one. With more cores, decoding in parallel pays off.
    """
    cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(4, cores - 1)


class ImageFolderDataModule(LabDataModule):
    """Images in ``<root>/<class name>/*.png|jpg|…``, split into train/val/test by class, or given as
    separate ``train_dir``/``val_dir``/``test_dir`` folders with the same class subfolders, or
    listed in a ``manifest`` (.csv/.tsv/.txt rows of ``path,label[,split]``, paths relative to it,
    a header optional): a ``split`` column (train/val/test) is honoured instead of the random
    split. ``classes`` fixes a manifest's class names and their order (every label must be one).

    Every image is resized to ``image_size`` and converted to ``channels`` (1 or 3), so folders
    of mixed grayscale/RGB/RGBA files work. With a pretrained net (``TorchvisionNet``) the
    images are prepared as its weights were trained with instead (their resize, centre crop and
    mean/std, as RGB), and that preprocessing is saved in checkpoints with the class names.

    Files that are missing, that PIL cannot read, whose header claims more than
    ``max_image_pixels``, or that a manifest lists twice, are found
    before training: with ``on_corrupt: skip`` (default) they are
    left out with one warning that names them, with ``on_corrupt: error`` the run stops naming
    the first one. The class names and their indices are saved in checkpoints and in the run's
    ``summary.json``. ``balanced`` draws training batches with every class equally likely.
    """

    def __init__(
        self,
        root: str | None = None,
        manifest: str | None = None,
        classes: list[str] | None = None,
        train_dir: str | None = None,
        val_dir: str | None = None,
        test_dir: str | None = None,
        val_fraction: Fraction = 0.15,
        test_fraction: Fraction = 0.15,
        split_seed: Seed = 0,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        image_size: PositiveInt = 64,
        channels: Literal[1, 3] = 3,
        mean: UnitInterval = 0.5,
        std: PositiveFloat = 0.5,
        augment: bool = False,
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt | None = None,
        pin_memory: bool | None = None,
        on_corrupt: str = "skip",
        max_image_pixels: PositiveInt = MAX_IMAGE_PIXELS,
        balanced: bool = False,
    ) -> None:
        super().__init__()
        self.save_arguments(locals())
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
        if on_corrupt not in ("skip", "error"):
            raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
        if [root, manifest, train_dir].count(None) != 2:
            raise ValueError(
                "give one of root (split by fraction), manifest (a CSV of path,label[,split] rows) or "
                "train_dir (with val_dir/test_dir)"
            )
        if folds is not None and train_dir is not None:
            raise ValueError("folds re-split one set: give root or manifest to cross-validate, not train_dir")
        if classes is not None and manifest is None:
            raise ValueError("classes fixes a manifest's class names: give a manifest, or drop classes")
        if classes is not None and (len(classes) < 2 or len(set(classes)) != len(classes)):
            raise ValueError(f"classes needs two or more different names, got {classes}")
        self.num_workers = default_num_workers() if num_workers is None else num_workers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.samples: dict[str, list[Sample]] = {}
        self.class_names: list[str] = []
        self.preprocessing: ImagePreprocessing | None = None

    input_kind = "image"
    resplittable = True

    @property
    def input_shape(self) -> tuple[int, int, int]:
        if self.preprocessing is not None:
            return (3, self.preprocessing.crop, self.preprocessing.crop)
        return (self.hparams.channels, self.hparams.image_size, self.hparams.image_size)

    @property
    def _mode(self) -> str:
        """The PIL mode images are converted to; grayscale is repeated to RGB for a pretrained net."""
        return "L" if self.input_shape[0] == 1 else "RGB"

    def adapt_to(self, net: nn.Module) -> None:
        if isinstance(net, DeclaresImagePreprocessing):
            self.preprocessing = net.image_preprocessing()

    @property
    def num_classes(self) -> int:
        self._scan()
        return len(self.class_names)

    # ---- finding the files

    def _readable(
        self, samples: Sequence[Sample], known: Sequence[str] = ()
    ) -> tuple[list[Sample], list[str]]:
        bound = self.hparams.get("max_image_pixels", MAX_IMAGE_PIXELS)
        return readable(samples, bound, self.hparams.on_corrupt, known)

    def _folder(self, path: str) -> tuple[list[Sample], list[str], list[str]]:
        """``(usable samples, class names, unusable files)`` of one class-per-subfolder folder."""
        samples, classes = read_class_folder(path)
        kept, broken = self._readable(samples)
        return kept, classes, broken

    def _cut(self, samples: list[Sample]) -> dict[str, list[Sample]]:
        """Train/val/test of one set, stratified and seeded (one fold of it, with ``folds``)."""
        hp = self.hparams
        targets = torch.tensor([target for _, target in samples])
        folds, fold = hp.get("folds"), hp.get("fold", 0)
        parts = split_for_run(targets, hp.val_fraction, hp.test_fraction, hp.split_seed, folds, fold)
        return {
            name: [samples[i] for i in index.tolist()]
            for name, index in zip(("train", "val", "test"), parts, strict=True)
        }

    def _from_manifest(self) -> list[str]:
        hp = self.hparams
        listed = read_manifest(hp.manifest, hp.get("classes"))
        self.class_names = listed.class_names
        if listed.splits is None:
            samples, broken = self._readable(listed.samples, listed.duplicates)
            if not samples:
                raise UserError(f"{hp.manifest}: no usable images ({len(broken)} unusable)")
            self.samples = self._cut(samples)
            return broken
        if hp.get("folds") is not None:
            raise UserError(
                f"{hp.manifest} has a split column, which fixes the splits; remove it to cross-validate "
                "with folds, or drop --data.init_args.folds"
            )
        broken, known = [], listed.duplicates  # named once, with the first split's unusable files
        for split, samples in listed.by_split().items():
            self.samples[split], unusable = self._readable(samples, known)
            broken, known = broken + unusable, ()
        empty = [split for split in ("val", "test") if not self.samples[split]]
        if empty:  # found now, not after training: fit scores the val and test splits
            raise UserError(
                f"{hp.manifest}: its split column gives no usable {' or '.join(empty)} rows; every split "
                "needs some"
            )
        return broken

    def _scan(self) -> None:
        if self.samples:
            return
        self.prepare_data()  # sizes may be asked for before the Trainer runs prepare_data
        hp = self.hparams
        broken: list[str] = []
        if hp.get("manifest") is not None:
            broken = self._from_manifest()
        elif hp.root is not None:
            samples, self.class_names, broken = self._folder(hp.root)
            if not samples:
                raise UserError(f"{hp.root}: no readable images ({len(broken)} unreadable file(s))")
            self.samples = self._cut(samples)
        else:
            self.samples["train"], self.class_names, broken = self._folder(hp.train_dir)
            for split, path in (("val", hp.val_dir), ("test", hp.test_dir)):
                if path is None:
                    self.samples[split] = []
                    continue
                samples, classes, unreadable = self._folder(path)
                broken += unreadable
                unknown = sorted(set(classes) - set(self.class_names))
                if unknown:
                    raise UserError(f"{path} has classes not in {hp.train_dir}: {', '.join(unknown)}")
                remap = [self.class_names.index(name) for name in classes]
                self.samples[split] = [(p, remap[t]) for p, t in samples]
        present = {target for _, target in self.samples["train"]}
        empty = [name for i, name in enumerate(self.class_names) if i not in present]
        if empty:
            raise UserError(f"no readable training images for class(es): {', '.join(empty)}")
        if len(self.class_names) < 2:
            raise UserError(
                f"{self._source}: one class ({', '.join(self.class_names)}); a classifier needs at least two"
            )
        warn_skipped(broken)

    @property
    def _source(self) -> str:
        hp = self.hparams
        return hp.get("manifest") or hp.root or hp.train_dir

    # ---- loading

    def _transform(self, train: bool) -> T.Compose:
        hp = self.hparams
        overfitting = self.trainer is not None and bool(self.trainer.overfit_batches)
        if self.preprocessing is not None:
            return self.preprocessing.transform(augment=train and hp.augment and not overfitting)
        size = hp.image_size
        # Resized while still a PIL image, as ``input_encoding`` resizes new inputs.
        steps: list = [T.Resize((size, size), antialias=True)]
        if train and hp.augment and not overfitting:
            steps += [T.RandomResizedCrop(size, scale=(0.8, 1.0), antialias=True), T.RandomHorizontalFlip()]
        steps += [
            T.ToImage(),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize([hp.mean] * hp.channels, [hp.std] * hp.channels),
        ]
        return T.Compose(steps)

    def setup(self, stage: str) -> None:
        self._scan()

    def _loader(self, split: str, train: bool) -> DataLoader:
        if not self.samples.get(split):
            if self.hparams.get("manifest"):
                raise UserError(f"no {split} images: {self.hparams.manifest} has no usable {split} rows")
            raise UserError(
                f"no {split} images: give --data.init_args.{split}_dir or use root with a {split}_fraction"
            )
        balanced = train and self.balanced
        return DataLoader(
            ImageList(self.samples[split], self._mode, self._transform(train)),
            batch_size=self.batch_size,
            shuffle=train and not balanced,
            sampler=self.balanced_sampler() if balanced else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
        )

    def split_targets(self, split: str) -> torch.Tensor | None:
        samples = self.samples.get(split)
        return torch.tensor([target for _, target in samples], dtype=torch.long) if samples else None

    def example_input(self) -> Batch:
        return {"inputs": torch.zeros(2, *self.input_shape)}

    # ---- new images

    def input_encoding(self) -> ImageInputs:
        """Images as the evaluation loaders prepare them: the net's declared preprocessing, else
        resized to ``image_size`` and normalised with ``mean``/``std``."""
        hp, p = self.hparams, self.preprocessing
        if p is not None:
            return ImageInputs(
                "RGB",
                list(p.mean),
                list(p.std),
                resize=p.resize,
                crop=p.crop,
                interpolation=p.interpolation,
                on_corrupt=hp.on_corrupt,
                max_pixels=hp.get("max_image_pixels", MAX_IMAGE_PIXELS),
            )
        channels = self.input_shape[0]
        size = [hp.image_size, hp.image_size]
        mean, std = [hp.mean] * channels, [hp.std] * channels
        bound = hp.get("max_image_pixels", MAX_IMAGE_PIXELS)
        return ImageInputs(self._mode, mean, std, size=size, on_corrupt=hp.on_corrupt, max_pixels=bound)

    # ---- saved in checkpoints

    def state_dict(self) -> dict:
        return {
            "class_names": self.class_names,
            "class_to_idx": {n: i for i, n in enumerate(self.class_names)},
            "preprocessing": self.preprocessing.to_dict() if self.preprocessing is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.class_names = list(state["class_names"])
        if state.get("preprocessing"):
            self.preprocessing = ImagePreprocessing.from_dict(state["preprocessing"])
