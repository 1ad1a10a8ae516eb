"""LightningModules. One generic task module wraps any net from ``lightlab.nets``; it may import
``nets``, ``losses``, the DataModule contract (``data.base``, for a vocabulary the net asks for),
``data.balance`` (class counts and weights) and the shared top-level modules, and knows no run
folder or CLI."""

from lightlab.tasks.classification import ClassificationTask, NonFiniteLossError, TaskConfigError

__all__ = ["ClassificationTask", "NonFiniteLossError", "TaskConfigError"]
