"""Plain ``nn.Module`` nets. They know nothing of Lightning; the task module wraps any of them.
They import torch, torchvision, ``lightlab.batch`` and ``lightlab.errors`` only (and each other)."""

from lightlab.nets.bilstm import BiLSTM
from lightlab.nets.cnn import CNN
from lightlab.nets.custom_linear import CustomLinear, init_weight_
from lightlab.nets.mlp import MLP
from lightlab.nets.ngrams import NGramClassifier
from lightlab.nets.skip_net import SkipNet
from lightlab.nets.torchvision_net import TorchvisionNet

__all__ = [
    "CNN",
    "MLP",
    "BiLSTM",
    "CustomLinear",
    "NGramClassifier",
    "SkipNet",
    "TorchvisionNet",
    "init_weight_",
]
