"""Old module paths, still importable: a run folder written before the modules moved into their
packages names them in its ``config.yaml`` (``lightlab.stop_signals.StopOnSignal``), and a user's
own code may import them. One table, read by one import hook that ``lightlab/__init__`` installs;
``import lightlab.stop_signals`` gives the module that now lives at ``lightlab.cluster.signals``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

MOVED = {
    "lightlab.lightning_internals": "lightlab.internals",
    "lightlab.checkpoint_io": "lightlab.callbacks.checkpoint_io",
    "lightlab.checkpoints": "lightlab.run.checkpoints",
    "lightlab.environment": "lightlab.cluster.environment",
    "lightlab.eval_run": "lightlab.inference.evaluate",
    "lightlab.evaluation": "lightlab.run.evaluation",
    "lightlab.failed_runs": "lightlab.run.failures",
    "lightlab.image_preprocessing": "lightlab.nets.image_preprocessing",
    "lightlab.last_checkpoint": "lightlab.callbacks.last_checkpoint",
    "lightlab.onnx_export": "lightlab.deploy.export",
    "lightlab.onnx_predictor": "lightlab.deploy.onnx_predictor",
    "lightlab.predict_run": "lightlab.inference.predict",
    "lightlab.prediction": "lightlab.inference.predict_split",
    "lightlab.predictions_csv": "lightlab.inference.predictions_csv",
    "lightlab.random_state": "lightlab.callbacks.random_state",
    "lightlab.requeue": "lightlab.cluster.requeue",
    "lightlab.results": "lightlab.run.results",
    "lightlab.resume": "lightlab.run.resume",
    "lightlab.run_config": "lightlab.run.config",
    "lightlab.run_dir": "lightlab.run.folder",
    "lightlab.serve": "lightlab.deploy.serve",
    "lightlab.show_data": "lightlab.data.show",
    "lightlab.stop_signals": "lightlab.cluster.signals",
    "lightlab.summary": "lightlab.run.summary",
    "lightlab.sweep": "lightlab.sweeps.sweep",
    "lightlab.sweep_report": "lightlab.sweeps.report",
    "lightlab.sweep_space": "lightlab.sweeps.space",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to (whose own ``__spec__`` is
    put back: the import system sets the alias's on the module it is given)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The module it moved to ran when it was imported; only its spec needs putting back.
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
