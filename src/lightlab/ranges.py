"""The valid range of every numeric setting, stated once, in the signature that takes it.

The types are ``Annotated`` ints and floats with ``annotated_types`` bounds: jsonargparse checks
them while it parses (through pydantic), ``--help`` shows them, a value outside is refused before a
run folder exists, and the constructor still receives a plain ``int`` or ``float`` (so checkpoints
hold only plain numbers). Classes the template configures but does not own (Lightning's Trainer
and callbacks, torch's schedulers) cannot carry these types; the ranges of the settings the
template's configs give them are in ``FOREIGN_RANGES``, checked right after parsing by
``check_foreign_ranges`` with the same words.
"""

from __future__ import annotations

import argparse
from collections import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AllowInfNan, BeforeValidator, TypeAdapter, ValidationError

from lightlab.errors import UserError


def _not_a_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; a YAML `batch_size: true` is a mistake, not a size.
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not true or false")
    return value


@dataclass(frozen=True)
class _NotBool(BeforeValidator):
    """Refuses true and false where a number is meant (shown as ``NotBool()`` in ``--help``)."""

    def __repr__(self) -> str:
        return "NotBool()"


NotBool = _NotBool(_not_a_bool)
# What torch can index and count with; beyond it a loader fails deep inside.
LARGEST_INT = 2**63 - 1
PositiveInt = Annotated[int, NotBool, Gt(0), Le(LARGEST_INT)]
NonNegativeInt = Annotated[int, NotBool, Ge(0), Le(LARGEST_INT)]
# Floats bounded only below also refuse inf (nan fails every bound).
PositiveFloat = Annotated[float, NotBool, Gt(0), AllowInfNan(False)]
NonNegativeFloat = Annotated[float, NotBool, Ge(0), AllowInfNan(False)]
FiniteFloat = Annotated[float, NotBool, AllowInfNan(False)]
# A share that must leave something over: a dropout rate, the fraction split off for validation.
Fraction = Annotated[float, NotBool, Ge(0), Lt(1)]
UnitInterval = Annotated[float, NotBool, Ge(0), Le(1)]
# Cross-validation: one fold would leave nothing to validate on.
FoldCount = Annotated[int, NotBool, Ge(2), Le(LARGEST_INT)]
# What numpy's generators accept, and so what Lightning's seed_everything keeps.
Seed = Annotated[int, NotBool, Ge(0), Le(2**32 - 1)]
# Lightning's "-1 means no limit" counts (max_epochs, max_steps); 0 would train nothing.
EpochLimit = PositiveInt | Literal[-1]
# The ports LitServe listens on (below 1024 needs root, and LitServe refuses them).
Port = Annotated[int, Ge(1024), Le(65535)]
# Lightning's model summary depth, -1 for every level.
SummaryDepth = Annotated[int, NotBool, Ge(-1), Le(LARGEST_INT)]
# A count of batches or a fraction of them (Lightning's limit_*_batches, val_check_interval).
BatchesOrFraction = Annotated[int, Gt(0)] | Annotated[float, Gt(0), Le(1)]

# Settings of classes the template does not own, by class path, for the values its configs set.
_ADAPTIVE = {"weight_decay": NonNegativeFloat, "eps": PositiveFloat}
_BETAS = {**_ADAPTIVE, "betas": tuple[Fraction, Fraction]}
_MOMENTUM = {"weight_decay": NonNegativeFloat, "momentum": UnitInterval}
FOREIGN_RANGES: dict[str, dict[str, Any]] = {
    "lightning.pytorch.cli.LightningCLI": {"seed_everything": Seed | bool},
    "lightning.pytorch.trainer.trainer.Trainer": {
        "max_epochs": EpochLimit | None,
        "max_steps": EpochLimit,
        "log_every_n_steps": PositiveInt | None,
        "check_val_every_n_epoch": PositiveInt | None,
        "accumulate_grad_batches": PositiveInt,
        "min_epochs": NonNegativeInt | None,
        "min_steps": NonNegativeInt | None,
        "num_sanity_val_steps": Annotated[int, Ge(-1)] | None,
        "gradient_clip_val": NonNegativeFloat | None,
        "val_check_interval": BatchesOrFraction | None,
        "limit_train_batches": BatchesOrFraction | None,  # 0 would train nothing
        "limit_val_batches": NonNegativeInt | UnitInterval | None,  # 0 turns validation off
        "limit_test_batches": BatchesOrFraction | None,
        "overfit_batches": NonNegativeInt | UnitInterval,
    },
    "lightning.pytorch.callbacks.EarlyStopping": {"patience": NonNegativeInt, "min_delta": NonNegativeFloat},
    "lightning.pytorch.callbacks.ModelCheckpoint": {
        "save_top_k": Annotated[int, Ge(-1)],
        "every_n_epochs": NonNegativeInt | None,
        "every_n_train_steps": NonNegativeInt | None,
    },
    "lightning.pytorch.callbacks.BackboneFinetuning": {
        "unfreeze_backbone_at_epoch": NonNegativeInt,
        "backbone_initial_ratio_lr": PositiveFloat,
        "backbone_initial_lr": PositiveFloat | None,
    },
    **{f"torch.optim.{name}": _BETAS for name in ("Adam", "AdamW", "NAdam", "RAdam", "Adamax")},
    "torch.optim.Adagrad": {**_ADAPTIVE, "lr_decay": NonNegativeFloat},
    "torch.optim.SGD": _MOMENTUM,
    "torch.optim.RMSprop": {**_ADAPTIVE, **_MOMENTUM},
    "torch.optim.lr_scheduler.CosineAnnealingLR": {"T_max": PositiveInt, "eta_min": NonNegativeFloat},
    "torch.optim.lr_scheduler.StepLR": {"step_size": PositiveInt, "gamma": PositiveFloat},
    "torch.optim.lr_scheduler.MultiStepLR": {"milestones": list[NonNegativeInt], "gamma": PositiveFloat},
    "torch.optim.lr_scheduler.ExponentialLR": {"gamma": PositiveFloat},
    "torch.optim.lr_scheduler.OneCycleLR": {"max_lr": PositiveFloat, "pct_start": Fraction},
    "torch.optim.lr_scheduler.ReduceLROnPlateau": {
        "factor": Fraction,
        "patience": NonNegativeInt,
        "cooldown": NonNegativeInt,
    },
}
# Trainer settings that are a count of batches as an int, or a fraction of them as a float.
BATCH_COUNTS = {"limit_train_batches", "limit_val_batches", "limit_test_batches", "val_check_interval"}
CLI = "lightning.pytorch.cli.LightningCLI"
TRAINER = "lightning.pytorch.trainer.trainer.Trainer"


def describe(kind: Any) -> str:
    """A declared type in words: ``PositiveInt | None`` is "an integer > 0, or null"."""
    args = get_args(kind)
    if get_origin(kind) in (Union, UnionType):
        words = " or ".join(dict.fromkeys(describe(a) for a in args if a is not type(None)))
        return f"{words}, or null" if type(None) in args else words
    if get_origin(kind) is Literal:
        return " or ".join(repr(a) for a in args)
    if get_origin(kind) is Annotated:
        base, *metadata = args
        finite = base is float and any(getattr(m, "allow_inf_nan", True) is False for m in metadata)
        return f"{'a finite number' if finite else _noun(base)} {_bounds(metadata)}".strip()
    if get_origin(kind) in (list, tuple, Sequence, abc.Sequence):
        return f"a list, each {describe(args[0])}" if args else "a list"
    return _noun(kind)


def _noun(kind: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _bounds(metadata: list[Any]) -> str:
    low = next((f"{m.gt}" for m in metadata if isinstance(m, Gt)), None)
    low_eq = next((f"{m.ge}" for m in metadata if isinstance(m, Ge)), None)
    high = next((f"{m.lt}" for m in metadata if isinstance(m, Lt)), None)
    high_eq = next((f"{m.le}" for m in metadata if isinstance(m, Le) and m.le != LARGEST_INT), None)
    if (low or low_eq) and (high or high_eq):
        return f"in {'(' if low else '['}{low or low_eq}, {high or high_eq}{')' if high else ']'}"
    if low or low_eq:
        return f"> {low}" if low else f">= {low_eq}"
    if high or high_eq:
        return f"< {high}" if high else f"<= {high_eq}"
    return ""


def declared_range(owner: type | str, name: str) -> Any | None:
    """The range a setting ``name`` of ``owner`` (a class or its class path) is declared with:
    ``Annotated`` bounds in the signature, else the ``FOREIGN_RANGES`` entry, else None."""
    path = owner if isinstance(owner, str) else f"{owner.__module__}.{owner.__qualname__}"
    if name in FOREIGN_RANGES.get(path, {}):
        return FOREIGN_RANGES[path][name]
    if isinstance(owner, str):
        return None
    try:
        hints = get_type_hints(owner.__init__, include_extras=True)
    except (NameError, TypeError):
        return None
    hint = hints.get(name)
    return hint if hint is not None and _has_bounds(hint) else None


def _has_bounds(hint: Any) -> bool:
    if getattr(hint, "__metadata__", None):
        return True
    return any(_has_bounds(arg) for arg in getattr(hint, "__args__", ()))


def _class_nodes(node: Any, key: str) -> Iterator[tuple[str, str, Mapping]]:
    """Every ``class_path``/``init_args`` pair in a parsed config, with the key leading to it."""
    if isinstance(node, Mapping):
        if isinstance(node.get("class_path"), str):
            yield key, node["class_path"], node.get("init_args") or {}
        for child, value in node.items():
            yield from _class_nodes(value, f"{key}.{child}" if key else str(child))
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from _class_nodes(value, f"{key}[{index}]")


def check_foreign_ranges(config: Mapping) -> None:
    """Refuse a Trainer, callback or scheduler setting outside its ``FOREIGN_RANGES`` range."""
    config = config.as_dict() if hasattr(config, "as_dict") else config  # a jsonargparse Namespace
    nodes = [
        ("", CLI, config),
        ("trainer", TRAINER, config.get("trainer") or {}),
        *_class_nodes(config, ""),
    ]
    for key, path, arguments in nodes:
        prefix = key if path in (CLI, TRAINER) else f"{key}.init_args"
        for name, kind in FOREIGN_RANGES.get(path, {}).items():
            if name not in arguments:
                continue
            value = arguments[name]
            if name in BATCH_COUNTS and isinstance(value, float) and value.is_integer() and value > 1:
                value = int(value)  # Lightning reads 3.0 batches as 3 (jsonargparse may give a float)
            try:
                TypeAdapter(kind).validate_python(value, strict=True)
            except ValidationError:
                key = f"{prefix}.{name}" if prefix else name
                raise UserError(f"{key}: {value} is out of range (expected {describe(kind)})") from None


def flag_type(kind: Any, base: type = int) -> Callable[[str], Any]:
    """An argparse ``type=`` that reads a flag as ``base`` and refuses a value outside ``kind``."""

    def read(text: str) -> Any:
        try:
            value = base(text)
            TypeAdapter(kind).validate_python(value, strict=True)
        except ValueError:  # pydantic's ValidationError is one
            raise argparse.ArgumentTypeError(f"{text!r} is not {describe(kind)}") from None
        return value

    read.__name__ = describe(kind)
    return read
