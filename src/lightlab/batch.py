"""The batch format that DataModules yield and the task consumes.

A batch is a dict of tensors: ``target`` holds the class indices, every other entry (``inputs``,
plus ``lengths`` for sequences) is passed to the net as a keyword argument.
"""

from __future__ import annotations

import torch

Batch = dict[str, torch.Tensor]
