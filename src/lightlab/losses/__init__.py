"""Losses written with tensor operations; select one with ``model.loss`` in an experiment file.
They import torch only."""

from lightlab.losses.smoothed_nll import SmoothedNLLLoss

__all__ = ["SmoothedNLLLoss"]
