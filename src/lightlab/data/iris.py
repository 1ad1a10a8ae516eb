"""The iris flowers table: 150 rows, 4 features, 3 species, shipped inside the package; the preset
of the numeric CSV DataModule."""

from pathlib import Path

from lightlab.data.numeric_csv import NumericCsvDataModule, read_labelled_csv
from lightlab.ranges import FoldCount, Fraction, NonNegativeInt, PositiveInt, Seed

BUNDLED_CSV = Path(__file__).with_name("iris.csv")

__all__ = ["BUNDLED_CSV", "IrisDataModule", "read_labelled_csv"]


class IrisDataModule(NumericCsvDataModule):
    """Iris, or another numeric CSV given as ``csv_path`` (its label column ``label_column``).

    Its own name is kept: a checkpoint stores the DataModule's state under its class name, so runs
    of every version load alike.
    """

    def __init__(
        self,
        csv_path: str | None = None,
        label_column: str = "species",
        val_fraction: Fraction = 0.2,
        test_fraction: Fraction = 0.2,
        split_seed: Seed = 0,
        batch_size: PositiveInt = 16,
        folds: FoldCount | None = None,
        fold: NonNegativeInt = 0,
        balanced: bool = False,
    ) -> None:
        super().__init__(
            str(csv_path or BUNDLED_CSV),
            label_column,
            val_fraction,
            test_fraction,
            split_seed,
            batch_size,
            folds,
            fold,
            balanced,
        )
