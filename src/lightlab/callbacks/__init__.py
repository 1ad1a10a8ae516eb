"""What ``configs/defaults.yaml`` plugs into the Trainer besides Lightning's own: the writer of
``last.ckpt``, random states in checkpoints, atomic checkpoint files, the pictures and the layer
summary. (The stop-signal callback lives with the other signal handling in ``cluster``.)

May import ``data``, ``tasks``, ``run.folder`` (the paths in a run folder) and the shared top-level
modules; nothing else of ``run``, nor ``inference``, ``deploy`` or ``sweeps``.
"""

from lightlab.callbacks.plots import ClassificationPlots, LayerSummary, LearningCurves, epoch_history

__all__ = ["ClassificationPlots", "LayerSummary", "LearningCurves", "epoch_history"]
