"""LightningDataModules: each knows its sizes (``num_classes`` and the like) and tells the net."""

from lightlab.data.fashion_mnist import FashionMNISTDataModule
from lightlab.data.image_folder import ImageFolderDataModule
from lightlab.data.iris import IrisDataModule
from lightlab.data.negation import NegationDataModule
from lightlab.data.shapes import ShapesDataModule
from lightlab.data.text import TextDataModule

__all__ = [
    "FashionMNISTDataModule",
    "ImageFolderDataModule",
    "IrisDataModule",
    "NegationDataModule",
    "ShapesDataModule",
    "TextDataModule",
]
