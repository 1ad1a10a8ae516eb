"""Plain ``nn.Module`` nets. They know nothing of Lightning; the task module wraps any of them."""

from lightlab.nets.mlp import MLP

__all__ = ["MLP"]
