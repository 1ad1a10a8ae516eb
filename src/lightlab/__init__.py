"""lightlab: a Lightning experiment template.

The package by concern: ``data``, ``nets``, ``losses``, ``tasks`` (what is trained), ``callbacks``
(what the defaults plug into the Trainer), ``run`` (a run's folder and its life), ``cluster``
(processes, signals, SLURM), ``inference`` (a finished run used again), ``deploy`` (ONNX and
serving), ``sweeps`` (hyperparameter search). ``cli`` is the LightningCLI wiring and
``__main__`` the command surface (``python -m lightlab --help``).
"""

from lightlab import compat

compat.install()

__version__ = "0.1.0"
