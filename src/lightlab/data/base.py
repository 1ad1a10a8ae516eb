"""The loader methods every DataModule here shares: one split name in, one DataLoader out."""

from __future__ import annotations

from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from lightlab.data.in_memory import Batch


class SplitDataModule(LightningDataModule):
    """A DataModule with ``train``/``val``/``test`` splits; subclasses build a split's loader in
    ``_loader(split, train)``. ``predict`` runs on the test split unless a subclass says otherwise.
    """

    def _loader(self, split: str, train: bool) -> DataLoader:
        raise NotImplementedError

    def example_input(self) -> Batch:
        """A two-sample batch without ``target``, in the same form the loaders yield: the model
        summary passes it through the batch-transfer hooks and then the net for its output shapes."""
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
