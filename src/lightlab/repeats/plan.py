"""Which runs a group trains: the seeds (``SEEDS=5`` counts from the config's seed, ``SEEDS="3 7
11"`` names them), the folds (``FOLDS=k``), and the flags that make each member its own run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lightlab.errors import UserError
from lightlab.run.groups import Member

SEED_LIMIT = 2**32 - 1  # what Lightning's seed_everything takes


def read_seeds(text: str, first: int) -> list[int]:
    """``"5"``: five seeds from ``first`` on; ``"3 7 11"`` (or commas): those seeds."""
    words = text.replace(",", " ").split()
    if not words:
        raise UserError('SEEDS is empty: give a count (SEEDS=5) or a list of seeds (SEEDS="3 7 11")')
    try:
        numbers = [int(word) for word in words]
    except ValueError:
        raise UserError(
            f'SEEDS={text!r} is not a count or a list of integers: give SEEDS=5 or SEEDS="3 7 11"'
        ) from None
    if len(numbers) == 1:
        count = numbers[0]
        if count < 1:
            raise UserError(f"SEEDS={count}: give how many seeds to train (1 or more), or a list of seeds")
        seeds = list(range(first, first + count))
    else:
        seeds = numbers
    bad = [seed for seed in seeds if not 0 <= seed <= SEED_LIMIT]
    if bad:
        raise UserError(f"SEEDS: seed {bad[0]} is outside [0, {SEED_LIMIT}], the seeds Lightning can set")
    if len(set(seeds)) < len(seeds):
        raise UserError(f"SEEDS={text!r} names a seed twice; each member needs a seed of its own")
    return seeds


def check_folds(folds: int | None) -> None:
    if folds is not None and folds < 2:
        raise UserError(f"FOLDS={folds}: cross-validation needs at least 2 folds (FOLDS=5 is usual)")


def plan(seeds: list[int], folds: int | None) -> list[Member]:
    """Every member, seed by seed, each seed's folds in order."""
    return [Member(seed, fold) for seed in seeds for fold in (range(folds) if folds else [None])]


def member_flags(member: Member, folds: int | None) -> list[str]:
    """The flags that make ``member`` of a group its own run: its seed, and its fold."""
    flags = [f"--seed_everything={member.seed}"]
    if member.fold is not None:
        flags += [f"--data.init_args.folds={folds}", f"--data.init_args.fold={member.fold}"]
    return flags


def first_seed(config: dict[str, Any]) -> int:
    """Where a count of seeds starts: the config's ``seed_everything`` (0 when it names none)."""
    seed = config.get("seed_everything")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def check_resplittable(config: dict[str, Any]) -> None:
    """FOLDS needs a DataModule that can cut its data into folds (``resplittable``)."""
    from lightlab.run.config import load_class

    data = config.get("data") or {}
    try:
        module = load_class(SimpleNamespace(class_path=data.get("class_path", "")))
    except (ImportError, AttributeError, ValueError):
        return  # the config's own check names an unimportable class
    if not getattr(module, "resplittable", False):
        raise UserError(
            f"FOLDS: {module.__name__} cannot re-split its data into folds (it has a fixed split, or "
            "declares no resplittable); use SEEDS=… alone, or a DataModule that splits one source"
        )


def group_config(config: dict[str, Any], seeds: list[int], folds: int | None) -> dict[str, Any]:
    """The config the group's members share, with the settings that vary (the seed, the fold)
    given as the values they take."""
    shared = {**config, "seed_everything": seeds}
    if folds:
        data = dict(shared.get("data") or {})
        data["init_args"] = {**(data.get("init_args") or {}), "folds": folds, "fold": list(range(folds))}
        shared["data"] = data
    return shared


def experiment_file(experiment: str) -> Path:
    path = Path("experiments") / f"{experiment}.yaml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in Path("experiments").glob("*.yaml")))
        raise UserError(f"unknown experiment {experiment!r}; choose one of: {names}")
    return path
