"""The one place that uses Lightning's and torch's private API, where no public hook does the job.

``tests/test_internals.py`` checks each use against the installed Lightning and torch, so an
upgrade that changes one fails there, by name, rather than somewhere in a training run or export.
"""

import io
from typing import Any

import rich
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import ModelSummary, get_human_readable_count
from torch import nn
from torchmetrics import Metric, MetricCollection

from lightlab.ranges import SummaryDepth


class _WithoutMetrics(ModelSummary):
    """Lightning's summary table minus torchmetrics modules, which hold no parameters."""

    @property
    def named_modules(self) -> list[tuple[str, nn.Module]]:
        # Private: the summarised model.
        metrics = [n for n, m in self._model.named_modules() if isinstance(m, Metric | MetricCollection)]
        return [
            (name, module)
            for name, module in super().named_modules
            if not any(name == m or name.startswith(f"{m}.") for m in metrics)
        ]


class LayerSummary(RichModelSummary):
    """The rich model summary at the start of training, listing only the net's layers: each one's
    type, parameter count and, given the DataModule's example input, its output shape. The table
    goes into the run's ``train.log``; the console gets one line of totals (``print_table``: the
    table too).
    """

    def __init__(
        self, max_depth: SummaryDepth = 1, print_table: bool = False, **summarize_kwargs: Any
    ) -> None:
        super().__init__(max_depth=max_depth, **summarize_kwargs)
        self.print_table = print_table

    def summarize(
        self,
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        from lightlab.run import log as run_log

        table = io.StringIO()
        # Lightning prints the table through rich's global console: pointed at a string meanwhile.
        rich.reconfigure(file=table, width=100, color_system=None)
        try:
            super().summarize(
                summary_data,
                total_parameters,
                trainable_parameters,
                model_size,
                total_training_modes,
                total_flops,
                **summarize_kwargs,
            )
        finally:
            rich.reconfigure()
        if self.print_table:
            print(table.getvalue(), end="")
        else:
            run_log.to_log_only(table.getvalue())
        names = dict(summary_data).get("Type") or ["?"]
        print(
            f"net: {names[0]}, {get_human_readable_count(total_parameters)} parameters, "
            f"{get_human_readable_count(trainable_parameters)} trainable, "
            f"{get_human_readable_count(total_flops)} FLOPs"
            + ("" if self.print_table else " (layers: train.log)")
        )

    # Private: RichModelSummary builds its table from the ModelSummary this returns.
    def _summary(self, trainer: Trainer, pl_module: LightningModule) -> ModelSummary:
        return _WithoutMetrics(pl_module, max_depth=self._max_depth)


def forget_rnn_kernels() -> None:
    """Let the exporter's dynamic-length LSTM/GRU decompositions take effect again.

    The exporter registers them for the duration of each export, but the kernel an operator
    resolved during an earlier export stays cached on it, so a second export in the same process
    unrolled the LSTM over the example's length (a fixed sequence length). Clearing the operators'
    dispatch caches (no public call does it) makes every export resolve the kernels afresh.
    """
    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        op._dispatch_cache.clear()  # Private: the kernels an operator has resolved
