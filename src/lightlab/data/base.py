"""The contract every DataModule of the template meets, and the loader methods they share.

The CLI, the task's callbacks, the run summary and ``show_data`` use only what is declared here,
so a new DataModule that subclasses ``LabDataModule`` and fills it in works with all of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from lightning.pytorch import LightningDataModule
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from lightlab.batch import Batch
from lightlab.data.balance import SPLITS, BalancedSampler, count_classes, named_counts
from lightlab.data.eval_shards import EvaluationShard, evaluating_in_shards
from lightlab.data.input_encoding import InputEncoding
from lightlab.errors import UserError

InputKind = Literal["tabular", "image", "sequence"]


class LabDataModule(LightningDataModule):
    """A classification DataModule with ``train``/``val``/``test`` splits.

    What a subclass provides:

    - ``input_kind``: ``"tabular"``, ``"image"`` or ``"sequence"``; callbacks decide by it (sample
      grids are drawn for images only).
    - ``class_names``: the label of each class index, in order (``num_classes`` is their count).
    - size attributes the CLI links into the net's constructor, by kind: ``num_features``
      (tabular), ``input_shape`` = ``(channels, height, width)`` (image), ``vocab_size``
      (sequence). They may read the data on first use, before ``setup``.
    - ``resplittable``: True when it takes ``folds`` and ``fold`` and cuts its splits with
      ``splits.split_for_run`` (k-fold cross-validation, ``make train FOLDS=k``).
    - ``_loader(split, train)``: the DataLoader of one split, yielding ``Batch`` dicts; with
      ``balanced`` among its arguments and true, the training loader draws with
      ``balanced_sampler()`` (every class equally likely).
    - ``split_targets(split)``: the class index of each sample of a split, after ``setup``; the
      class counts that ``make show-data`` draws and the summary records come from it.
    - ``example_input()``: a small batch in the form the loaders yield, without ``target``.
    - for prediction on new data: ``input_encoding()``, how raw inputs become the net's input
      (``data/input_encoding.py``), built only from what ``state_dict`` keeps (class names,
      scaling, vocabulary), so a run folder predicts without its training data. ``read_inputs``
      and ``collate_inputs`` use it, and an ONNX export writes it to ``preprocess.json``.

    Constructor arguments are kept with ``self.save_arguments(locals())`` as the first statement
    after ``super().__init__()`` and read from ``self.hparams``; every DataModule takes
    ``batch_size``. Data that has to be downloaded or generated is made in
    ``prepare_data`` (once per node), which the size attributes call too when asked early.
    """

    input_kind: ClassVar[InputKind]
    resplittable: ClassVar[bool] = False
    class_names: list[str]
    # New inputs set by predict_on/predict_from; None predicts on the test split.
    _predict_items: list[Any] | None = None
    _predict_names: tuple[str, ...] = ()

    def save_arguments(self, arguments: dict[str, Any], ignore: tuple[str, ...] = ()) -> None:
        """``save_hyperparameters()``, plus this class's own ``arguments`` where they are missing.

        Under LightningCLI the saved values are the arguments of the class the config names; when
        that is a subclass presetting some of a parent's arguments (the demo DataModules), the
        parent's other arguments would be missing from ``self.hparams``.
        """
        self.save_hyperparameters(ignore=list(ignore), frame=inspect.currentframe().f_back)
        for name, value in arguments.items():
            if (
                name != "self"
                and not name.startswith("__")
                and name not in ignore
                and name not in self.hparams
            ):
                self.hparams[name] = value

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def batch_size(self) -> int:
        """Samples per batch in each process."""
        return int(self.hparams.batch_size)

    def example_input(self) -> Batch:
        """A two-sample batch without ``target``, in the same form the loaders yield: the model
        summary passes it through the batch-transfer hooks and then the net for its output shapes."""
        raise NotImplementedError

    def input_encoding(self) -> InputEncoding:
        """How raw inputs (feature rows, images, texts) become a batch for the net, in numpy."""
        raise UserError(f"{type(self).__name__} cannot encode new inputs (it declares no input_encoding)")

    def read_inputs(self, source: Path) -> tuple[list[Any], list[str]]:
        """New raw inputs from ``source`` (a file or folder) and a name for each (a path, ``file:row``),
        in the form ``collate_inputs`` takes. Errors name the file and what is wrong with it."""
        return self.input_encoding().read(source)

    def collate_inputs(self, items: Sequence[Any]) -> Batch:
        """A batch without ``target`` from raw inputs: what ``read_inputs`` returns, or what a user
        hands over in Python (feature rows, image paths or PIL images, strings)."""
        return {name: torch.from_numpy(array) for name, array in self.input_encoding().encode(items).items()}

    def predict_on(self, items: Sequence[Any], names: Sequence[str] | None = None) -> None:
        """Make ``predict_dataloader`` yield ``items`` (raw inputs) instead of the test split."""
        self._predict_items = list(items)
        self._predict_names = tuple(names) if names is not None else tuple(map(str, range(len(items))))

    def predict_from(self, source: str | Path) -> None:
        """Make ``predict_dataloader`` read new raw inputs from ``source`` (a file or folder)."""
        self.predict_on(*self.read_inputs(Path(source)))

    def predict_inputs(self) -> list[str]:
        """A name for each input ``predict_dataloader`` yields, in order; an empty list (the test
        split) numbers the rows instead."""
        return list(self._predict_names)

    def adapt_to(self, net: nn.Module) -> None:
        """Take up what ``net`` declares about its inputs once both are built (a pretrained image
        net's preprocessing, for example); the default ignores the net."""

    def vocabulary(self) -> list[str] | None:
        """The token of each id, for data the net reads as token ids (so a net can start from word
        vectors); None for other data."""
        return None

    def run_files(self) -> dict[str, Any]:
        """Files to write into the run folder when training starts: ``{name: JSON-able content}``,
        e.g. the vocabulary a text model needs to encode new inputs."""
        return {}

    def _loader(self, split: str, train: bool) -> DataLoader:
        raise NotImplementedError

    def split_targets(self, split: str) -> torch.Tensor | None:
        """The class index of every sample of ``split`` (after ``setup``), or None when the data has
        no such split or does not say (then it has no class counts)."""
        return None

    def class_counts(self) -> dict[str, dict[str, int]]:
        """``{split: {class name: samples}}`` for each split the data has."""
        counts = {}
        for split in SPLITS:
            targets = self.split_targets(split)
            if targets is not None and len(targets):
                counts[split] = named_counts(count_classes(targets, self.num_classes), self.class_names)
        return counts

    @property
    def balanced(self) -> bool:
        """Whether training batches are drawn with every class equally likely: asked for, and not
        overfitting a few batches (Lightning then reads them in order)."""
        overfitting = self.trainer is not None and bool(self.trainer.overfit_batches)
        return bool(self.hparams.get("balanced", False)) and not overfitting

    def balanced_sampler(self) -> BalancedSampler:
        """The training split's ``BalancedSampler``, for this process's share under DDP, seeded by
        the run's seed (the same on every process)."""
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        seed = torch.initial_seed() % 2**32
        sampler = BalancedSampler(self.split_targets("train"), seed=seed, num_replicas=replicas, rank=rank)
        if trainer is not None:  # a resumed run's epoch, before any worker draws ahead
            sampler.set_epoch(trainer.current_epoch)
        return sampler

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._evaluation_loader("test")

    def _evaluation_loader(self, split: str) -> DataLoader:
        """The split's loader; in a multi-process ``validate``/``test``, over this process's own
        unpadded share, so every sample counts once. A loader whose sampler already shares the data
        out (a ``DistributedSampler``, such as the text batches) is left as it is."""
        loader = self._loader(split, train=False)
        trainer = self.trainer
        if (
            not evaluating_in_shards(trainer)
            or isinstance(loader.sampler, DistributedSampler)
            or len(loader.dataset) < trainer.world_size  # a process would get nothing: Lightning's way
        ):
            return loader
        if loader.batch_size is None:
            raise NotImplementedError(f"{type(self).__name__}: share out its batch sampler per process")
        shard = EvaluationShard(len(loader.dataset), trainer.world_size, trainer.global_rank)
        return DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            sampler=shard,
            collate_fn=loader.collate_fn,
            num_workers=loader.num_workers,
            pin_memory=loader.pin_memory,
            persistent_workers=loader.persistent_workers,
        )

    def predict_dataloader(self) -> DataLoader:
        if self._predict_items is None:
            return self._loader("test", train=False)
        return DataLoader(
            self._predict_items, batch_size=self.batch_size, shuffle=False, collate_fn=self.collate_inputs
        )
