"""Where the template's per-epoch overhead over bare Lightning goes, one part at a time.

The jobs of ``bench_task_overhead.py`` (small and fashion), trained under a plain ``Trainer`` with
the template's parts added one after another, interleaved (bare, +task, +logger, … bare, +task,
…) ``--repeats`` times:

- bare: the minimal LightningModule (loss only), no logger, checkpointing or callbacks;
- +task: ``ClassificationTask`` (epoch metrics, the non-finite-loss check);
- +csv logger: ``CSVLogger`` writing metrics.csv;
- +checkpoints: the best checkpoint by val/loss and ``last.ckpt``, written atomically (fsync);
- +callbacks: the other default callbacks (signals, random states, learning rate, plots,
  learning curves, speed, layer summary), progress bar off;
- template: ``make train`` as shipped (``lightlab.cli.main``: adds offline wandb, the run folder,
  config, log and summary).

Each figure is the median over repeats of that variant's epoch time over bare Lightning's in the
same repeat, with its range; the difference between two rows is what the added part costs.
``--profile`` instead runs the template's parts once under Lightning's ``SimpleProfiler`` and
prints what the callbacks' per-batch hooks, the epoch metrics, the checkpoint writes and the
learning curves take per epoch.

    python benchmarks/bench_overhead_parts.py [--jobs small fashion] [--repeats 7] [--epochs 4] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch
from bench_task_overhead import BareModule, EpochStarts, Job, median_epoch, template
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.profilers import SimpleProfiler

from lightlab.callbacks import ClassificationPlots, LearningCurves, SpeedMeter
from lightlab.callbacks.batch_hooks import skip_empty_batch_hooks
from lightlab.callbacks.checkpoint_io import AtomicCheckpointIO
from lightlab.callbacks.last_checkpoint import LastCheckpoint
from lightlab.callbacks.random_state import RandomStateInCheckpoints
from lightlab.cluster.signals import StopOnSignal
from lightlab.internals import LayerSummary
from lightlab.tasks import ClassificationTask

PARTS = ["bare", "+task", "+csv logger", "+checkpoints", "+callbacks"]


def with_parts(
    job: Job, epochs: int, parts: int, root: Path, profiler: SimpleProfiler | None = None
) -> float:
    """Epoch time of the job under a Trainer with the first ``parts`` entries of PARTS."""
    clock = EpochStarts()
    net = job.net()
    module: LightningModule = BareModule(net, job.lr())
    if parts >= 2:
        module = ClassificationTask(net, num_classes=4 if job.name == "small" else 10, lr=job.lr())
    callbacks: list[Callback] = [clock]
    plugins = []
    if parts >= 4:
        callbacks += [ModelCheckpoint(monitor="val/loss", mode="min"), LastCheckpoint()]
        plugins.append(AtomicCheckpointIO())
    if parts >= 5:
        callbacks += [
            StopOnSignal(),
            RandomStateInCheckpoints(),
            LearningRateMonitor(logging_interval="epoch"),
            ClassificationPlots(),
            LearningCurves(),
            SpeedMeter(),
            LayerSummary(max_depth=3),
        ]
    folder = Path(tempfile.mkdtemp(dir=root))
    trainer = Trainer(
        max_epochs=epochs + 1,
        accelerator="cpu",
        logger=CSVLogger(folder, name="", version="") if parts >= 3 else False,
        enable_checkpointing=parts >= 4,
        callbacks=callbacks,
        plugins=plugins,
        default_root_dir=folder,
        enable_progress_bar=False,
        enable_model_summary=parts >= 5,
        num_sanity_val_steps=0,
        profiler=profiler,
    )
    if parts >= 5:
        skip_empty_batch_hooks(trainer)  # as the template's command line does
    trainer.fit(module, datamodule=job.datamodule())
    return median_epoch(clock.starts)


def measure(job: Job, repeats: int, epochs: int) -> None:
    names = [*PARTS, "template"]
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for parts, name in enumerate(PARTS, start=1):
            times[name].append(with_parts(job, epochs, parts, job.root))
        times["template"].append(template(job, epochs, job.root / "runs"))
    bare = times["bare"]
    print(
        f"\n{job.name}: ms/epoch, ratio to bare Lightning ({repeats} interleaved repeats of {epochs} epochs)"
    )
    for name in names:
        ratios = [t / b for t, b in zip(times[name], bare, strict=True)]
        print(
            f"  {name:13s} {statistics.median(times[name]) * 1e3:7.1f} ms  "
            f"{statistics.median(ratios):.3f}x (range {min(ratios):.3f}-{max(ratios):.3f})"
        )


BATCH_HOOK_WORDS = ("batch", "backward", "optimizer_step", "zero_grad")


def profile(job: Job, epochs: int) -> None:
    """Lightning's SimpleProfiler over the template's parts: what each costs per epoch."""
    profiler = SimpleProfiler()
    with_parts(job, epochs, len(PARTS), job.root, profiler)
    durations = profiler.recorded_durations
    epoch = statistics.median(durations["run_training_epoch"])
    per_epoch = {name: sum(values) / (epochs + 1) for name, values in durations.items()}
    callbacks = {name: t for name, t in per_epoch.items() if name.startswith("[Callback]")}
    rows = {
        "callbacks' per-batch hooks": sum(
            t for n, t in callbacks.items() if any(word in n for word in BATCH_HOOK_WORDS)
        ),
        "task: epoch metrics and logging": sum(
            per_epoch.get(f"[LightningModule]ClassificationTask.on_{split}_epoch_end", 0.0)
            for split in ("train", "validation")
        ),
        "checkpoint writes (best and last)": per_epoch.get("save_checkpoint", 0.0),
        "learning curves": sum(t for n, t in callbacks.items() if "LearningCurves" in n),
    }
    print(f"\n{job.name}: SimpleProfiler, {epochs + 1} epochs, median epoch {epoch * 1e3:.1f} ms")
    for name, seconds in rows.items():
        print(f"  {name:36s} {seconds * 1e3:7.2f} ms/epoch  ({seconds / epoch:6.1%} of an epoch)")
    steps = len(durations["run_training_batch"])
    calls = sum(
        len(v) for n, v in durations.items() if n in callbacks and any(w in n for w in BATCH_HOOK_WORDS)
    )
    print(f"  callback hook calls per training step: {calls / steps:.1f} (evaluation steps' included)")
    print(f"  Lightning's dispatch of one callback hook: {dispatch_microseconds(job):.1f} µs")


class Empty(Callback):
    """A callback that does nothing: what Lightning's dispatch of its hooks costs."""


class TrainingClock(Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def dispatch_microseconds(job: Job, extra: int = 48, pairs: int = 5) -> float:
    """Per hook call: two epochs of the bare job with ``extra`` empty callbacks against none
    (training time only, set-up left out), the median over interleaved pairs."""
    costs = []
    for _ in range(pairs):
        seconds = []
        for empties in (0, extra):
            clock = TrainingClock()
            trainer = Trainer(
                max_epochs=2,
                accelerator="cpu",
                logger=False,
                enable_checkpointing=False,
                callbacks=[clock, *(Empty() for _ in range(empties))],
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(BareModule(job.net(), job.lr()), datamodule=job.datamodule())
            seconds.append(clock.seconds)
        hooks = 2 * (6 * trainer.num_training_batches + 2 * sum(trainer.num_val_batches))
        costs.append((seconds[1] - seconds[0]) / (extra * hooks) * 1e6)
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=["small", "fashion"], default=["small", "fashion"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--profile", action="store_true", help="where the time goes, per part, instead")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_MODE", "offline")
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}")
    for name in args.jobs:
        with tempfile.TemporaryDirectory() as root:
            job = Job(name, Path(root))
            profile(job, args.epochs) if args.profile else measure(job, args.repeats, args.epochs)


if __name__ == "__main__":
    main()
