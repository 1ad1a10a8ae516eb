"""LightningModules. One generic task module wraps any net from ``lightlab.nets``."""

from lightlab.tasks.classification import ClassificationTask

__all__ = ["ClassificationTask"]
