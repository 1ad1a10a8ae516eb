"""The private Lightning API that ``lightlab.internals`` relies on is still there and works."""

import inspect

import torch
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import ModelSummary

from lightlab.internals import LayerSummary
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask


def test_rich_model_summary_still_builds_its_table_from_summary():
    hook = getattr(RichModelSummary, "_summary", None)
    assert callable(hook), "RichModelSummary._summary is gone: update LayerSummary"
    assert list(inspect.signature(hook).parameters) == ["self", "trainer", "pl_module"]
    assert isinstance(LayerSummary(max_depth=2)._max_depth, int)


def test_model_summary_still_keeps_the_model_in_model():
    task = ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3)
    assert ModelSummary(task)._model is task


def test_layer_summary_lists_the_net_and_no_metrics():
    task = ClassificationTask(MLP(num_classes=3, in_features=4, hidden_sizes=[8]), num_classes=3)
    task.example_input_array = {"inputs": torch.zeros(2, 4)}
    summary = LayerSummary(max_depth=3)._summary(None, task)
    names = [name for name, _ in summary.named_modules]
    assert "net" in names and "net.layers.1" in names
    assert not any("metrics" in name or "loss" in name or "confusion" in name for name in names)
    assert summary.out_sizes[names.index("net")] == [2, 3]


def test_torch_operators_still_cache_their_kernels_in_dispatch_cache():
    from lightlab.internals import forget_rnn_kernels

    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        cache = getattr(op, "_dispatch_cache", None)
        assert hasattr(cache, "clear"), f"{op}._dispatch_cache is gone: update forget_rnn_kernels"
    forget_rnn_kernels()
    assert not torch.ops.aten.lstm.input._dispatch_cache
