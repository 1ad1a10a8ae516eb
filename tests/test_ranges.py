"""Every numeric setting reachable from a shipped experiment has a declared range, and a value just
outside it is refused while parsing: one line naming the flag, the value and the range, exit 2, no
run folder. The values come from the declared ranges, so a new setting is covered without a row."""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml
from annotated_types import Ge, Gt, Le, Lt
from helpers import EXPERIMENTS, run_cli
from pydantic import TypeAdapter, ValidationError

from lightlab.callbacks.last_checkpoint import LastCheckpoint
from lightlab.ranges import CLI, FOREIGN_RANGES, TRAINER, declared_range, describe
from lightlab.tasks import ClassificationTask

SECTIONS = {"model": ClassificationTask, "save_last_every": LastCheckpoint}


def printed_config(experiment: Path, tmp_path: Path, capsys) -> dict:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("fit", "--config", str(experiment), "--print_config", runs_dir=tmp_path / "runs")
    assert exit_info.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)


def import_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def base_types(kind: object) -> set[type]:
    """The plain types a hint is built from (``PositiveInt | None`` -> {int, NoneType})."""
    if typing.get_origin(kind) is typing.Annotated:
        return base_types(typing.get_args(kind)[0])
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType, list, tuple, Sequence, typing.Literal):
        return set().union(*(base_types(a) for a in args)) if args else set()
    return {kind} if isinstance(kind, type) else set()


def is_numeric(kind: object) -> bool:
    return bool(base_types(kind) & {int, float}) and kind is not bool


def owned_settings(section: str, cls: type, given: dict) -> Iterator[tuple[str, str, object]]:
    """``(flag key, owner name, declared range or None)`` for each numeric argument of a lightlab
    class, found in the printed config (linked sizes such as num_classes are not settings)."""
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    for name in inspect.signature(cls).parameters:
        if name in given and is_numeric(hints.get(name)):
            yield (
                f"{section}.{name}",
                f"{cls.__module__}.{cls.__qualname__}.{name}",
                declared_range(cls, name),
            )


def settings(config: dict) -> Iterator[tuple[str, str, object]]:
    for name, kind in FOREIGN_RANGES[CLI].items():
        yield name, f"LightningCLI.{name}", kind
    for name, kind in FOREIGN_RANGES[TRAINER].items():
        yield f"trainer.{name}", f"Trainer.{name}", kind
    for section, cls in SECTIONS.items():
        yield from owned_settings(section, cls, config.get(section) or {})

    def nodes(node: object, key: str) -> Iterator[tuple[str, dict]]:
        if isinstance(node, dict):
            if isinstance(node.get("class_path"), str):
                yield key, node
            for child, value in node.items():
                yield from nodes(value, f"{key}.{child}" if key else child)
        elif isinstance(node, list):
            for value in node:  # an entry is set by appending its class: --trainer.callbacks+=<class>
                yield from nodes(value, f"{key}+")

    for key, node in nodes(config, ""):
        path, given = node["class_path"], node.get("init_args") or {}
        if path.startswith("lightlab."):
            yield from owned_settings(f"{key}.init_args", import_class(path), given)
        for name, kind in FOREIGN_RANGES.get(path, {}).items():
            yield f"{key}.init_args.{name}", f"{path}.{name}", kind


def members(kind: object) -> list[object]:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(kind) for m in members(a)]
    return [kind]


def just_outside(kind: object) -> list[object]:
    """Values one step past each bound of ``kind`` that no member of it accepts."""
    values = []
    for member in members(kind):
        if typing.get_origin(member) in (list, tuple, Sequence):
            items = typing.get_args(member)
            length = len(items) if typing.get_origin(member) is tuple and ... not in items else 1
            values += [[v] * length for v in just_outside(items[0])]
            continue
        if typing.get_origin(member) is not typing.Annotated:
            continue
        base, *bounds = typing.get_args(member)
        step = (lambda x, d: x + d) if base is int else (lambda x, d: math.nextafter(x, d * math.inf))
        for bound in bounds:
            if isinstance(bound, Gt):
                values.append(base(bound.gt))
            elif isinstance(bound, Ge):
                values.append(step(base(bound.ge), -1))
            elif isinstance(bound, Lt):
                values.append(base(bound.lt))
            elif isinstance(bound, Le):
                values.append(step(base(bound.le), 1))
    return [v for v in values if not accepts(kind, v)]


def accepts(kind: object, value: object) -> bool:
    try:
        TypeAdapter(kind).validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


def collect(tmp_path: Path, capsys) -> dict[str, tuple[Path, str, object]]:
    found: dict[str, tuple[Path, str, object]] = {}
    for experiment in sorted(EXPERIMENTS.glob("*.yaml")):
        for key, owner, kind in settings(printed_config(experiment, tmp_path, capsys)):
            found.setdefault(owner, (experiment, key, kind))
    return found


def flags(key: str, owner: str, value: str) -> list[str]:
    """The flags a user gives for ``key``: a list entry's class is appended, then its argument set."""
    if "+." not in key:
        return [f"--{key}={value}"]
    section, _, name = key.partition("+.init_args.")
    return [f"--{section}+={owner.rpartition('.')[0]}", f"--{section}.{name}={value}"]


def test_every_numeric_setting_of_every_experiment_declares_a_range(tmp_path, capsys):
    found = collect(tmp_path, capsys)
    owners = {owner.rsplit(".", 2)[-2] for owner in found}  # a DataModule, a net, the task, Trainer
    assert {"ClassificationTask", "Trainer"} <= owners and any(o.endswith("DataModule") for o in owners), (
        owners
    )
    unbounded = sorted(
        owner for owner, (_, _, kind) in found.items() if kind is None or not just_outside(kind)
    )
    assert not unbounded, f"numeric settings without a range: {unbounded}"


def test_a_value_just_outside_any_declared_range_is_one_line_before_a_folder(tmp_path, capsys):
    found = collect(tmp_path, capsys)
    for owner, (experiment, key, kind) in sorted(found.items()):
        for value in just_outside(kind):
            runs = tmp_path / "runs"
            shown = repr(value[0] if isinstance(value, list) else value)
            flag = f"[{', '.join(map(repr, value))}]" if isinstance(value, list) else shown
            with pytest.raises(SystemExit) as exit_info:
                run_cli("fit", "--config", str(experiment), *flags(key, owner, flag), runs_dir=runs)
            err = capsys.readouterr().err.strip().splitlines()
            assert exit_info.value.code == 2, (owner, value)
            assert len(err) == 1 and err[0].startswith("error: "), (owner, value, err)
            line = re.sub(r"\[\d+\]", "", err[0]).replace(".init_args", "")  # a list entry's index
            for word in (key.replace("+", "").replace(".init_args", ""), "out of range", describe(kind)):
                assert word in line, (owner, value, word, err[0])
            # jsonargparse reads a number for an int-or-float setting as a float: -1 comes back -1.0.
            shown_as = [shown] if isinstance(value, list) else [f" {shown} ", f" {float(value)!r} "]
            assert any(text in err[0] for text in shown_as), (owner, value, err[0])
            assert not runs.exists() or not any(runs.iterdir()), (owner, value)


def test_every_foreign_range_names_an_argument_of_its_class():
    for path, ranges in FOREIGN_RANGES.items():
        if path == CLI:  # seed_everything is the command line's own flag, not a class argument
            continue
        parameters = inspect.signature(import_class(path)).parameters
        assert set(ranges) <= set(parameters), (path, set(ranges) - set(parameters))


def test_help_shows_a_settings_range(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_cli("fit", "--config", str(EXPERIMENTS / "iris_mlp.yaml"), "--help", runs_dir=tmp_path)
    help_text = " ".join(capsys.readouterr().out.split())
    assert re.search(r"--model\.lr LR \(type: Annotated\[float, NotBool\(\), Gt\(gt=0\)", help_text), (
        help_text
    )


@pytest.mark.parametrize(
    ("kind_name", "value", "expected"),
    [
        ("PositiveInt", 0, "an integer > 0"),
        ("PositiveInt", 2**63, "an integer > 0"),
        ("Fraction", 1.0, "a number in [0, 1)"),
        ("EpochLimit", 0, "an integer > 0 or -1"),
        ("Seed", -1, "an integer in [0, 4294967295]"),
    ],
)
def test_ranges_read_as_words_and_refuse_the_value_past_them(kind_name, value, expected):
    import lightlab.ranges as ranges

    kind = getattr(ranges, kind_name)
    assert describe(kind) == expected
    assert value in just_outside(kind)
    assert not accepts(kind, value)
