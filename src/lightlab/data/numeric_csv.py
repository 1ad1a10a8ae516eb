"""Any small numeric CSV with a label column, held in memory and split by class."""

from pathlib import Path

import torch

from lightlab.batch import Batch
from lightlab.data.feature_rows import read_labelled_rows
from lightlab.data.in_memory import InMemoryDataModule, InMemoryDataset
from lightlab.data.input_encoding import TabularInputs
from lightlab.data.read_once import read_once
from lightlab.data.splits import split_for_run
from lightlab.ranges import FoldCount, Fraction, NonNegativeInt, PositiveInt, Seed


def read_labelled_csv(path: Path, label_column: str) -> tuple[torch.Tensor, list[str], list[str]]:
    """``(features, labels, feature_names)`` of a numeric CSV with a label column: the features a
    float32 tensor, the labels their strings (``feature_rows.read_labelled_rows`` checks it)."""
    rows, labels, feature_names = read_labelled_rows(path, label_column)
    return (
        torch.tensor(rows, dtype=torch.float32).reshape(len(rows), len(feature_names)),
        labels,
        feature_names,
    )


class NumericCsvDataModule(InMemoryDataModule):
    """A CSV of numeric feature columns and one label column (``IrisDataModule`` is its preset),
    held in memory and split by class.

    The split is stratified and seeded by ``split_seed``, independent of the training seed, so
    every run of an experiment sees the same train/val/test rows. Features are standardised with
    the mean and standard deviation of the training rows only. ``balanced`` draws training
    batches with every class equally likely (``data/balance.py``).
    """

    input_kind = "tabular"
    resplittable = True

    def __init__(
        self,
        csv_path: str,
        label_column: str,
        val_fraction: Fraction = 0.2,
        test_fraction: Fraction = 0.2,
        split_seed: Seed = 0,
        batch_size: PositiveInt = 16,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        balanced: bool = False,
    ) -> None:
        super().__init__()
        self.save_arguments(locals())
        features, labels, self.feature_names = read_once(
            read_labelled_csv, Path(csv_path), label_column=label_column
        )
        self.class_names = sorted(set(labels))
        index_of = {name: i for i, name in enumerate(self.class_names)}
        targets = torch.tensor([index_of[name] for name in labels])
        train, val, test = split_for_run(targets, val_fraction, test_fraction, split_seed, folds, fold)
        mean = features[train].mean(dim=0)
        std = features[train].std(dim=0).clamp_min(1e-8)
        self.scaling = {"mean": mean, "std": std}
        scaled = (features - mean) / std
        self.splits = {
            name: InMemoryDataset(inputs=scaled[index], target=targets[index])
            for name, index in (("train", train), ("val", val), ("test", test))
        }

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    def example_input(self) -> Batch:
        return {"inputs": self.splits["train"].tensors["inputs"][:2]}

    def input_encoding(self) -> TabularInputs:
        """Rows of the training feature columns (a CSV may hold them in any order, and other columns
        such as the label), scaled like the training rows."""
        return TabularInputs(self.feature_names, self.scaling["mean"].tolist(), self.scaling["std"].tolist())

    def state_dict(self) -> dict:
        """Saved in checkpoints, so a prediction can be mapped back to a class name and scaled alike."""
        return {"class_names": self.class_names, "feature_names": self.feature_names, **self.scaling}

    def load_state_dict(self, state: dict) -> None:
        self.class_names = list(state["class_names"])
        self.feature_names = list(state["feature_names"])
        self.scaling = {"mean": state["mean"], "std": state["std"]}
