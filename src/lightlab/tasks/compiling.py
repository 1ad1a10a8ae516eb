"""The task's compile switch: ``torch.compile`` applied to the net in place.

``nn.Module.compile`` keeps the module and its parameters as they are and only replaces how it is
called, so state-dict keys keep their names: checkpoints, the checkpoint-fit check, resuming,
warm starts, ``make eval/predict`` and export see the same net as without compiling. Only training
compiles (a run's evaluation after fit reuses the compiled net); loading a run for prediction or
export builds the eager net.
"""

from __future__ import annotations

import os
import shutil
from typing import Literal

from torch import nn

from lightlab.tasks.class_loss import TaskConfigError

CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
CXX_COMPILERS = ("g++", "clang++", "c++")


def has_cxx_compiler() -> bool:
    """Whether a C++ compiler is on the PATH: TorchInductor builds the CPU kernels with one."""
    named = os.environ.get("CXX")
    return any(shutil.which(name) for name in ((named,) if named else ()) + CXX_COMPILERS)


def compile_in_place(net: nn.Module, mode: CompileMode, device_type: str) -> None:
    """Compile ``net`` for training on ``device_type``; the first steps pay the compilation."""
    if device_type == "cpu" and not has_cxx_compiler():
        raise TaskConfigError(
            "compile_net on the CPU needs a C++ compiler (g++ or clang++, or one named by CXX) and none "
            "is on the PATH; install one (apt-get install g++) or remove --model.compile_net"
        )
    net.compile(mode=mode)
