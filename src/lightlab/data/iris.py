"""The iris flowers table: 150 rows, 4 features, 3 species, shipped inside the package."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch

from lightlab.batch import Batch
from lightlab.data.feature_rows import FLOAT32_MAX, is_number
from lightlab.data.in_memory import InMemoryDataModule, InMemoryDataset
from lightlab.data.input_encoding import TabularInputs
from lightlab.data.splits import stratified_split
from lightlab.data.text_files import check_unique_columns, column_list, decode
from lightlab.errors import UserError

BUNDLED_CSV = Path(__file__).with_name("iris.csv")


def read_labelled_csv(path: Path, label_column: str) -> tuple[torch.Tensor, list[str], list[str]]:
    """Read a CSV of numeric feature columns plus one label column.

    Returns ``(features, labels, feature_names)`` with labels as the raw strings.
    """
    if not path.is_file():
        raise UserError(f"data file not found: {path} (pass an existing CSV to --data.csv_path)")
    try:
        reader = csv.DictReader(io.StringIO(decode(path, "utf-8"), newline=""))
        header = reader.fieldnames or []
        if not header:
            raise UserError(
                f"{path} is empty; it needs a header row naming the feature columns and {label_column}"
            )
        check_unique_columns(path, header)
        if label_column not in header:
            raise UserError(
                f"{path} has no column {label_column!r} (columns found: {column_list(header)}); "
                "set --data.init_args.label_column"
            )
        feature_names = [c for c in header if c != label_column]
        records = list(enumerate(reader, start=2))
    except csv.Error as error:
        raise UserError(f"{path}:{reader.line_num}: not a readable CSV ({error})") from None
    if not records:
        raise UserError(f"{path} has a header but no rows")
    labels = [(row[label_column] or "").strip() for _, row in records]
    for (line_number, _), label in zip(records, labels, strict=True):
        if not label:
            raise UserError(f"{path}:{line_number}: no {label_column} given; fill it in or drop the row")
    textual = [c for c in feature_names if not any(is_number(row[c]) for _, row in records)]
    if textual and all(is_number(label) for label in labels):
        raise UserError(
            f"{path}: label column {label_column!r} holds numbers but column {textual[0]!r} holds only text; "
            f"did you mean --data.init_args.label_column {textual[0]}?"
        )
    distinct = len(set(labels))
    if distinct > max(20, len(labels) // 5):  # under five rows a class on average
        raise UserError(
            f"{path}: label column {label_column!r} has {distinct} different values in {len(labels)} rows, "
            "so it looks like a feature, not a class; set --data.init_args.label_column"
        )
    rows = []
    for line_number, row in records:
        try:
            values = [float(row[c]) for c in feature_names]
        except (TypeError, ValueError):
            raise UserError(f"{path}:{line_number}: non-numeric feature value in {row}") from None
        # Finite in 32 bits, the precision features are trained in.
        bad = [c for c, v in zip(feature_names, values, strict=True) if not abs(v) <= FLOAT32_MAX]
        if bad:
            raise UserError(
                f"{path}:{line_number}: column {bad[0]!r} is {row[bad[0]]!r}, not a finite number; "
                "fill it in or drop the row"
            )
        rows.append(values)
    return torch.tensor(rows, dtype=torch.float32), labels, feature_names


class IrisDataModule(InMemoryDataModule):
    """Iris (or any small numeric CSV with a label column), held in memory and split by class.

    The split is stratified and seeded by ``split_seed``, independent of the training seed, so
    every run of an experiment sees the same train/val/test rows. Features are standardised with
    the mean and standard deviation of the training rows only.
    """

    input_kind = "tabular"

    def __init__(
        self,
        csv_path: str | None = None,
        label_column: str = "species",
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        batch_size: int = 16,
    ) -> None:
        super().__init__()
        self.save_arguments(locals())
        path = Path(csv_path) if csv_path else BUNDLED_CSV
        features, labels, self.feature_names = read_labelled_csv(path, label_column)
        self.class_names = sorted(set(labels))
        index_of = {name: i for i, name in enumerate(self.class_names)}
        targets = torch.tensor([index_of[name] for name in labels])
        train, val, test = stratified_split(targets, val_fraction, test_fraction, split_seed)
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
