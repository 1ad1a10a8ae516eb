"""The search space file of a sweep (``experiments/sweeps/<name>.yaml``), read and checked.

```yaml
metric: val/acc            # default: the checkpoint's monitor, with its mode as the direction
direction: maximize        # default: minimize for a loss, else maximize
trials: 20
sampler: {name: tpe, seed: 0}           # tpe | random
pruner: {name: median, warmup_epochs: 3} # median | hyperband | none
fixed: {trainer.max_epochs: 30}          # set in every trial
params:                                  # dotted keys of the experiment's config
  model.lr: {type: float, low: 1.0e-4, high: 0.3, log: true}
  model.net.init_args.dropout: {type: float, low: 0.0, high: 0.5}
  data.init_args.batch_size: {type: categorical, choices: [8, 16, 32]}
```

Everything is checked before a study exists, so a mistake costs one line and leaves nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml

from lightlab.errors import UserError

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
TYPES = ("float", "int", "categorical")


@dataclass(frozen=True)
class Param:
    """One searched config key and its distribution."""

    key: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.type == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), log=self.log, step=int(self.step or 1)
            )
        # Optuna stores scalars only: a list choice (e.g. hidden sizes) is searched as its JSON text.
        picked = trial.suggest_categorical(self.key, [self.encode(c) for c in self.choices])
        return self.decode(picked)

    def encode(self, choice: Any) -> Any:
        return (
            choice if choice is None or isinstance(choice, bool | int | float | str) else json.dumps(choice)
        )

    def decode(self, value: Any) -> Any:
        listed = {self.encode(c): c for c in self.choices}
        return listed.get(value, value)


@dataclass(frozen=True)
class SweepSpace:
    """What a sweep searches, how it judges a trial and when it stops."""

    name: str
    params: tuple[Param, ...]
    metric: str | None = None
    direction: str | None = None
    trials: int = 20
    sampler: dict[str, Any] = field(default_factory=lambda: {"name": "tpe", "seed": 0})
    pruner: dict[str, Any] = field(default_factory=lambda: {"name": "median"})
    fixed: dict[str, Any] = field(default_factory=dict)

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        options = {k: v for k, v in self.sampler.items() if k != "name"}
        kind = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}[
            self.sampler["name"]
        ]
        return kind(**options)

    def make_pruner(self) -> optuna.pruners.BasePruner:
        options = {k: v for k, v in self.pruner.items() if k != "name"}
        name = self.pruner["name"]
        if name == "none":
            return optuna.pruners.NopPruner()
        if name == "hyperband":
            return optuna.pruners.HyperbandPruner(**options)
        warmup = options.pop("warmup_epochs", 2)
        return optuna.pruners.MedianPruner(n_warmup_steps=warmup, **options)


def _param(space_file: Path, key: str, spec: Any) -> Param:
    where = f"{space_file}: params.{key}"
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise UserError(f"{where} needs a type: one of {', '.join(TYPES)}")
    unknown = set(spec) - {"type", "low", "high", "log", "step", "choices"}
    if unknown:
        raise UserError(
            f"{where}: unknown setting {sorted(unknown)[0]!r} (use low, high, log, step or choices)"
        )
    if spec["type"] == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UserError(f"{where}: a categorical parameter needs a non-empty list of choices")
        return Param(key, "categorical", choices=tuple(choices))
    low, high, log = spec.get("low"), spec.get("high"), bool(spec.get("log", False))
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise UserError(f"{where}: low and high must both be numbers")
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise UserError(f"{where}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise UserError(f"{where}: a log scale needs low > 0 (got {low})")
    if spec["type"] == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise UserError(f"{where}: an int parameter needs whole-number bounds")
    step = spec.get("step")
    if step is not None and (log or not isinstance(step, int | float) or step <= 0):
        raise UserError(f"{where}: step must be a positive number, and cannot go with log")
    return Param(key, spec["type"], float(low), float(high), log, step)


def read_space(space_file: Path) -> SweepSpace:
    """Parse and check ``space_file``; a mistake is one ``UserError`` naming the file and the key."""
    if not space_file.is_file():
        folder = space_file.parent
        names = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "none"
        raise UserError(f"search space not found: {space_file} (spaces in {folder}: {names})")
    try:
        raw = yaml.safe_load(space_file.read_text()) or {}
    except yaml.YAMLError as error:
        raise UserError(f"{space_file}: invalid YAML: {' '.join(str(error).split())}") from None
    unknown = set(raw) - {"metric", "direction", "trials", "sampler", "pruner", "fixed", "params"}
    if unknown:
        raise UserError(f"{space_file}: unknown key {sorted(unknown)[0]!r}")
    params = raw.get("params")
    if not isinstance(params, dict) or not params:
        raise UserError(f"{space_file}: no params to search; list them under params: as dotted config keys")
    sampler = raw.get("sampler", {"name": "tpe", "seed": 0})
    pruner = raw.get("pruner", {"name": "median"})
    sampler = sampler if isinstance(sampler, dict) else {"name": sampler}
    pruner = pruner if isinstance(pruner, dict) else {"name": pruner}
    if sampler.get("name") not in SAMPLERS:
        raise UserError(
            f"{space_file}: unknown sampler {sampler.get('name')!r} (choose {', '.join(SAMPLERS)})"
        )
    if pruner.get("name") not in PRUNERS:
        raise UserError(f"{space_file}: unknown pruner {pruner.get('name')!r} (choose {', '.join(PRUNERS)})")
    direction = raw.get("direction")
    if direction not in (None, "minimize", "maximize"):
        raise UserError(f"{space_file}: direction must be minimize or maximize, not {direction!r}")
    trials = raw.get("trials", 20)
    if not isinstance(trials, int) or trials < 1:
        raise UserError(f"{space_file}: trials must be a positive whole number")
    space = SweepSpace(
        name=space_file.stem,
        params=tuple(_param(space_file, str(key), spec) for key, spec in params.items()),
        metric=raw.get("metric"),
        direction=direction,
        trials=trials,
        sampler=sampler,
        pruner=pruner,
        fixed=dict(raw.get("fixed") or {}),
    )
    for maker in (space.make_sampler, space.make_pruner):
        try:
            maker()
        except TypeError as error:
            raise UserError(f"{space_file}: {error}") from None
    return space


def flatten(node: Any, prefix: str = "") -> set[str]:
    """Every dotted key of a nested config (``model.net.init_args.dropout``…)."""
    if not isinstance(node, dict):
        return {prefix} if prefix else set()
    keys = {prefix} if prefix else set()
    for key, value in node.items():
        keys |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return keys
