"""The iris flowers table: 150 rows, 4 features, 3 species, shipped inside the package."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from lightlab.batch import Batch
from lightlab.data.in_memory import InMemoryDataModule, InMemoryDataset
from lightlab.data.splits import stratified_split
from lightlab.data.text_files import check_unique_columns, column_list, decode
from lightlab.errors import UserError

BUNDLED_CSV = Path(__file__).with_name("iris.csv")
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


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
    textual = [c for c in feature_names if not any(_is_number(row[c]) for _, row in records)]
    if textual and all(_is_number(label) for label in labels):
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


def read_feature_rows(path: Path, feature_names: list[str]) -> tuple[list[list[float]], list[str]]:
    """The ``feature_names`` columns of each row of a CSV (other columns are ignored), and each
    row's name ``file:line``."""
    if not path.is_file():
        raise UserError(f"predict file not found: {path}")
    reader = csv.DictReader(io.StringIO(decode(path, "utf-8"), newline=""))
    header = reader.fieldnames or []
    needed = ", ".join(feature_names)
    if not header:
        raise UserError(f"{path} is empty; it needs a header row naming the feature columns {needed}")
    check_unique_columns(path, header)
    missing = [name for name in feature_names if name not in header]
    if missing:
        raise UserError(
            f"{path} lacks feature column(s) {', '.join(missing)} (columns found: {column_list(header)}); "
            f"the model takes {needed}"
        )
    rows, names = [], []
    try:
        for line, row in enumerate(reader, start=2):
            bad = [
                c for c in feature_names if not _is_number(row[c]) or not abs(float(row[c])) <= FLOAT32_MAX
            ]
            if bad:
                raise UserError(f"{path}:{line}: column {bad[0]!r} is {row[bad[0]]!r}, not a finite number")
            rows.append([float(row[c]) for c in feature_names])
            names.append(f"{path.name}:{line}")
    except csv.Error as error:
        raise UserError(f"{path}:{reader.line_num}: not a readable CSV ({error})") from None
    if not rows:
        raise UserError(f"{path} has a header but no rows to classify")
    return rows, names


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

    def read_inputs(self, source: Path) -> tuple[list[list[float]], list[str]]:
        """Rows of a CSV with (at least) the training feature columns, in any order; other columns,
        such as the label, are ignored. Named ``file:line``."""
        return read_feature_rows(source, self.feature_names)

    def collate_inputs(self, items: Sequence[Sequence[float] | Mapping[str, float]]) -> Batch:
        """Feature rows (in ``feature_names`` order, or dicts by name), scaled like the training rows."""
        rows = [
            [row[name] for name in self.feature_names] if isinstance(row, Mapping) else row for row in items
        ]
        features = torch.tensor(rows, dtype=torch.float32).reshape(len(rows), -1)
        if features.shape[1] != len(self.feature_names):
            raise UserError(
                f"each input needs {len(self.feature_names)} features ({', '.join(self.feature_names)}), "
                f"got {features.shape[1]}"
            )
        return {"inputs": (features - self.scaling["mean"]) / self.scaling["std"]}

    def state_dict(self) -> dict:
        """Saved in checkpoints, so a prediction can be mapped back to a class name and scaled alike."""
        return {"class_names": self.class_names, "feature_names": self.feature_names, **self.scaling}

    def load_state_dict(self, state: dict) -> None:
        self.class_names = list(state["class_names"])
        self.feature_names = list(state["feature_names"])
        self.scaling = {"mean": state["mean"], "std": state["std"]}
