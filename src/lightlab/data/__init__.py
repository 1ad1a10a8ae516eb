"""LightningDataModules: each knows its sizes (``num_classes`` and the like) and tells the net."""

from lightlab.data.fashion_mnist import FashionMNISTDataModule
from lightlab.data.iris import IrisDataModule

__all__ = ["FashionMNISTDataModule", "IrisDataModule"]
