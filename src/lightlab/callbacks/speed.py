"""How fast a run trains and what it costs, measured by the run itself into ``summary.json``.

``SpeedMeter`` is always on (``configs/defaults.yaml``) and cheap enough to stay so: it reads the
host clock at each training batch's start and end, with no device synchronisation per step (on a
GPU it synchronises once at each training epoch's end, where the epoch's time is taken). What it
records (``speed`` in ``summary.json``, one line after the metrics table):

- ``samples_per_second`` (and ``tokens_per_second`` for sequences): training samples over the time
  spent in training steps, validation and checkpoints left out, all processes together; the
  first epoch is left out when others follow (it holds one-off work such as compilation).
- ``step_ms``: the median time from one training step's end to the next's, and
  ``data_wait_share``: the part of it spent before the step starts (loading, collating and moving
  the next batch; a mid-epoch checkpoint save counts here too).
- ``first_step_s``: the first step, which holds one-off work (a compiled net's compilation).
- ``peak_memory_mb`` and ``memory``: the peak of this run alone, ``cuda max allocated`` on a GPU
  (``torch.cuda.max_memory_allocated``), else ``process peak RSS`` (Linux's high-water mark, reset
  when fit starts, so the runs of a seed group or sweep in one process each get their own; where
  it cannot be reset, the whole process's peak and ``memory`` says so). DataLoader worker
  processes are not counted.
- ``train_flops_per_sample`` (``per_token`` for sequences): forward and backward FLOPs of the net
  on the DataModule's example input (torch's FLOP counter through Lightning's ``measure_flops``;
  matrix products and convolutions, not element-wise work), ``flops_per_second`` achieved, and
  ``mfu`` (model FLOPs utilisation) where Lightning knows the device's peak (some CUDA GPUs);
  elsewhere ``peak_flops`` is ``null`` ("unknown peak").
- ``seconds_to_best`` and ``epochs_to_best``: training time (resumed runs included) until the
  monitored value was last improved.

The main process's figures are recorded; throughput is scaled by the number of processes.
"""

from __future__ import annotations

import contextlib
import copy
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.fabric.utilities.throughput import get_available_flops, measure_flops
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.seed import isolate_rng

PROC_STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")
PRECISION_DTYPES = {"bf16": torch.bfloat16, "16": torch.float16, "64": torch.float64}


def reset_peak_memory(device: torch.device) -> bool:
    """Start this run's high-water mark; False where only the whole process's peak is known."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:
        CLEAR_REFS.write_text("5")  # Linux: reset VmHWM to the current resident size
    except OSError:
        return False
    return True


def peak_memory(device: torch.device, reset: bool) -> tuple[float, str]:
    """``(megabytes, what was measured)`` since ``reset_peak_memory``."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda max allocated"
    with contextlib.suppress(OSError):
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "process peak RSS" + ("" if reset else " (whole process)")
    # ru_maxrss: kilobytes on Linux, bytes on macOS; never reset.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 1024), "process peak RSS (whole process)"


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype matrix products run in under a Trainer ``precision`` such as ``bf16-mixed``."""
    return PRECISION_DTYPES.get(str(precision).split("-")[0], torch.float32)


def training_flops(net: torch.nn.Module, example: dict[str, torch.Tensor]) -> int | None:
    """Forward and backward FLOPs of ``net`` on ``example``, counted on a copy (the net's weights,
    gradients and random state stay as they were); None where the net cannot be counted."""
    try:
        counted = copy.deepcopy(net)
        with isolate_rng():
            # forward(), not the call: a net compiled in place is counted as the eager module.
            return measure_flops(counted, lambda: counted.forward(**example), lambda out: out.float().sum())
    except Exception:  # a net that cannot be copied or counted has no FLOP figure, and trains all the same
        return None


def batch_size_of(batch: Any) -> int:
    if isinstance(batch, dict) and "target" in batch:
        return len(batch["target"])
    first = batch[0] if isinstance(batch, list | tuple) else batch
    return len(first) if hasattr(first, "__len__") else 0


class SpeedMeter(Callback):
    """Measures throughput, step time and its data wait, peak memory, FLOPs and time to the best
    monitored value of each fit (see the module's docstring); ``record()`` gives them."""

    def __init__(self) -> None:
        self.trained_before = 0.0  # seconds of training in earlier processes of a resumed run
        self.best: tuple[float, float, int] | None = None  # (value, seconds, epochs) of the best
        self._reset()

    def _reset(self) -> None:
        self.steps: list[float] = []
        self.waited = 0.0  # seconds of those steps spent before each one started
        # Per training epoch of this process: samples, tokens (a device tensor) and seconds in steps.
        self.epochs: list[list[Any]] = []
        self.fit_started = time.perf_counter()
        self.mark: float | None = None
        self.step_started = 0.0
        self.flops: int | None = None
        self.example_items = 0
        self.memory: tuple[float, str] | None = None
        self.device = torch.device("cpu")
        self.reset_ok = False
        self.world_size = 1
        self.peak_flops: int | None = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._reset()
        self.device, self.world_size = pl_module.device, trainer.world_size
        self.reset_ok = reset_peak_memory(self.device)
        example = getattr(pl_module, "example_input_array", None)
        net = getattr(pl_module, "net", None)
        if isinstance(example, dict) and isinstance(net, torch.nn.Module):
            self.flops = training_flops(net, move_data_to_device(example, self.device))
            lengths = example.get("lengths")
            self.example_items = int(lengths.sum()) if lengths is not None else len(example["inputs"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "FLOPs not found" for a GPU outside Lightning's table
            self.peak_flops = get_available_flops(self.device, compute_dtype(trainer.precision))

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.epochs.append([0, 0, 0.0])
        self.mark = time.perf_counter()

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # A run resumed inside an epoch continues it without an epoch start: its record opens here.
        self.epochs.append([0, 0, 0.0])

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.step_started = time.perf_counter()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.perf_counter()
        epoch = self.epochs[-1]
        if self.mark is not None:
            self.steps.append(now - self.mark)
            self.waited += self.step_started - self.mark
            epoch[2] += now - self.mark
        self.mark = now
        epoch[0] += batch_size_of(batch)
        lengths = batch.get("lengths") if isinstance(batch, dict) else None
        if lengths is not None:
            epoch[1] = epoch[1] + lengths.sum()  # a device tensor: read once, at the end

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._end_of_training_steps()

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # The epoch's own validation runs before its on_train_epoch_end; one inside an epoch is not
        # the next batch's wait either.
        self._end_of_training_steps()

    def _end_of_training_steps(self) -> None:
        if self.mark is None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the steps' queued work belongs to their time
        self.epochs[-1][2] += time.perf_counter() - self.mark
        self.mark = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        checkpoint = next((c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)), None)
        if checkpoint is None or checkpoint.monitor is None:
            return
        value = trainer.callback_metrics.get(checkpoint.monitor)
        if value is None:
            return
        value = float(value)
        better = self.best is None or (
            value < self.best[0] if checkpoint.mode == "min" else value > self.best[0]
        )
        if better:
            self.best = (value, self.seconds_trained(), trainer.current_epoch + 1)

    def seconds_trained(self) -> float:
        return self.trained_before + time.perf_counter() - self.fit_started

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.memory = peak_memory(self.device, self.reset_ok)

    def state_dict(self) -> dict[str, Any]:
        return {"seconds_trained": self.seconds_trained(), "best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.trained_before = float(state_dict.get("seconds_trained", 0.0))
        best = state_dict.get("best")
        self.best = tuple(best) if best is not None else None  # type: ignore[assignment]

    def record(self) -> dict[str, Any]:
        """What ``summary.json`` keeps under ``speed``; figures that were not measured are None."""
        memory = self.memory or peak_memory(self.device, self.reset_ok)
        # The first epoch holds one-off work (compilation, warming caches): left out when others follow.
        trained_epochs = [e for e in self.epochs if e[0]]  # the record train start opens may stay empty
        counted = trained_epochs[1:] if len(trained_epochs) > 1 else trained_epochs
        samples, tokens = sum(e[0] for e in counted), int(sum(e[1] for e in counted))
        trained = sum(e[2] for e in counted)
        per_second = samples * self.world_size / trained if trained > 0 and samples else None
        token_rate = tokens * self.world_size / trained if tokens and trained > 0 else None
        per_item = self.flops / self.example_items if self.flops and self.example_items else None
        rate = token_rate if token_rate is not None else per_second
        achieved = per_item * rate if per_item is not None and rate is not None else None
        unit = "token" if token_rate is not None else "sample"
        median_step = statistics.median(self.steps) if self.steps else None
        return {
            "samples_per_second": round(per_second, 1) if per_second is not None else None,
            "tokens_per_second": round(token_rate, 1) if token_rate is not None else None,
            "step_ms": round(median_step * 1e3, 3) if median_step is not None else None,
            "data_wait_share": round(self.waited / sum(self.steps), 4) if self.steps else None,
            "first_step_s": round(self.steps[0], 3) if self.steps else None,
            "peak_memory_mb": round(memory[0], 1),
            "memory": memory[1],
            f"train_flops_per_{unit}": round(per_item) if per_item is not None else None,
            "flops_per_second": round(achieved) if achieved is not None else None,
            "peak_flops": self.peak_flops,
            "mfu": round(achieved / self.world_size / self.peak_flops, 4)
            if achieved is not None and self.peak_flops
            else None,
            "seconds_to_best": round(self.best[1], 2) if self.best is not None else None,
            "epochs_to_best": self.best[2] if self.best is not None else None,
        }


def speed_meter(trainer: Trainer) -> SpeedMeter | None:
    return next((c for c in trainer.callbacks if isinstance(c, SpeedMeter)), None)


def speed_line(speed: dict[str, Any]) -> str:
    """The run's speed in one line: ``speed: 41 230 samples/s, step 2.9 ms (4 % waiting for data), …``."""
    parts = []
    if speed.get("tokens_per_second"):
        parts.append(f"{speed['tokens_per_second']:,.0f} tokens/s")
    if speed.get("samples_per_second"):
        parts.append(f"{speed['samples_per_second']:,.0f} samples/s")
    if speed.get("step_ms") is not None:
        parts.append(f"step {speed['step_ms']:.3g} ms ({speed['data_wait_share']:.0%} waiting for data)")
    parts.append(f"peak memory {speed['peak_memory_mb']:,.0f} MB ({speed['memory']})")
    if speed.get("flops_per_second"):
        peak = f"MFU {speed['mfu']:.1%}" if speed.get("mfu") is not None else "unknown peak"
        parts.append(f"{speed['flops_per_second'] / 1e9:.3g} GFLOP/s ({peak})")
    if speed.get("epochs_to_best") is not None:
        parts.append(f"best after {speed['epochs_to_best']} epoch(s), {speed['seconds_to_best']:.1f} s")
    return "speed: " + ", ".join(parts)
