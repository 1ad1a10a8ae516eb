"""LightningModules. One generic task module wraps any net from ``lightlab.nets``."""

from lightlab.tasks.classification import ClassificationTask, NonFiniteLossError, TaskConfigError

__all__ = ["ClassificationTask", "NonFiniteLossError", "TaskConfigError"]
