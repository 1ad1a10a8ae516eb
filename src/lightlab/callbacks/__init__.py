"""What ``configs/defaults.yaml`` plugs into the Trainer besides Lightning's own: the writer of
``last.ckpt``, random states in checkpoints, atomic checkpoint files, the pictures, the layer
summary, the progress display and the run's own speed measurements. (The stop-signal callback
lives with the other signal handling in ``cluster``.)

May import ``data``, ``tasks``, ``run.folder`` (the paths in a run folder), ``run.log`` (the
run's ``train.log``) and the shared top-level
modules; nothing else of ``run``, nor ``inference``, ``deploy`` or ``sweeps``.
"""

from lightlab.callbacks.plots import ClassificationPlots, LayerSummary, LearningCurves, epoch_history
from lightlab.callbacks.progress import ProgressBarOrLines
from lightlab.callbacks.speed import SpeedMeter, speed_line, speed_meter

__all__ = [
    "ClassificationPlots",
    "LayerSummary",
    "LearningCurves",
    "ProgressBarOrLines",
    "SpeedMeter",
    "epoch_history",
    "speed_line",
    "speed_meter",
]
