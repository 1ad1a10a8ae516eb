"""An experiment's config as ``make train`` would use it, read without training: the whole
resolved config (defaults, the experiment file, flags) and the metric its checkpoints monitor."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import yaml

from lightlab.errors import UserError


def resolved_config(experiment_file: Path, extra: list[str]) -> dict[str, Any]:
    """The experiment's whole config with ``extra`` flags; a mistake in them is the parser's one line."""
    from lightlab.cli import main as cli_main  # imports torch and Lightning: only when asked

    printed, errors = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(printed),
        contextlib.redirect_stderr(errors),
        contextlib.suppress(SystemExit),
    ):
        cli_main(["fit", "--config", str(experiment_file), *extra, "--print_config"])
    try:
        config = yaml.safe_load(printed.getvalue())
    except yaml.YAMLError:
        config = None
    if not isinstance(config, dict):
        message = errors.getvalue().strip().removeprefix("error: ")
        raise UserError(message[:400] or f"cannot resolve the config of {experiment_file}")
    return config


def checkpoint_monitor(config: dict[str, Any]) -> tuple[str, str]:
    """``(monitor, mode)`` of the config's ModelCheckpoint; ``("val/loss", "min")`` without one."""
    for callback in (config.get("trainer") or {}).get("callbacks") or []:
        if str(callback.get("class_path", "")).endswith("ModelCheckpoint"):
            args = callback.get("init_args") or {}
            if args.get("monitor"):
                return args["monitor"], args.get("mode", "min")
    return "val/loss", "min"
