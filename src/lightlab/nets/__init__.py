"""Plain ``nn.Module`` nets. They know nothing of Lightning; the task module wraps any of them."""

from lightlab.nets.bilstm import BiLSTM
from lightlab.nets.cnn import CNN
from lightlab.nets.custom_linear import CustomLinear, init_weight_
from lightlab.nets.mlp import MLP
from lightlab.nets.skip_net import SkipNet

__all__ = ["CNN", "MLP", "BiLSTM", "CustomLinear", "SkipNet", "init_weight_"]
