"""Checks on the command line and config files that the parser would report badly or too late.

Each raises ``UserError`` with one line naming the problem and the fix.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from lightlab.errors import UserError
from lightlab.parser_messages import parser_message

SUBCOMMANDS = ("fit", "validate", "test", "predict")


def flag_values(args: list[str], flag: str) -> list[str]:
    """Every value given to ``flag``, as ``flag value`` or ``flag=value``, in order."""
    values = []
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            values.append(args[index + 1])
        elif arg.startswith(flag + "="):
            values.append(arg.split("=", 1)[1])
    return values


def flag_value(args: list[str], flag: str) -> str | None:
    """The last value given to ``flag`` (the one the parser keeps), or None."""
    values = flag_values(args, flag)
    return values[-1] if values else None


def take_flag(args: list[str], flag: str, missing: str | None = None) -> tuple[list[str], str | None]:
    """``args`` without ``flag X`` (or ``flag=X``), and the last X; ``missing`` is the error for
    the flag given last without a value (default: no error, no value)."""
    rest, value = [], None
    items = iter(args)
    for arg in items:
        if arg == flag:
            value = next(items, None)
            if value is None and missing:
                raise UserError(missing)
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, value


def check_experiment_given(args: list[str]) -> None:
    """A subcommand with neither a config file nor data/net flags: say how to name an experiment."""
    if not args or args[0] not in SUBCOMMANDS or any(a in ("-h", "--help") for a in args):
        return
    if any(a.split("=", 1)[0] in ("-c", "--config", "--data", "--model.net") for a in args):
        return
    names = sorted(p.stem for p in Path("experiments").glob("*.yaml"))
    choices = f" (experiments here: {', '.join(names)})" if names else ""
    raise UserError(
        f"no experiment given: use python -m lightlab {args[0]} --config experiments/<name>.yaml{choices}"
    )


def check_config_files(args: list[str]) -> None:
    """Name the file, line and column of broken YAML (the parser only says "<unicode string>")."""
    paths = [value for flag, value in itertools.pairwise(args) if flag in ("-c", "--config")]
    paths += [arg.split("=", 1)[1] for arg in args if arg.startswith("--config=")]
    for path in map(Path, paths):
        if not path.is_file():
            continue  # the parser reports missing files itself
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or parser_message(str(error))
            raise UserError(f"{path}{where}: invalid YAML: {problem}") from None
