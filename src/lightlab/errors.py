"""The one exception type that means "the user asked for something wrong", and the boundary every
command reports it at."""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class UserError(Exception):
    """A mistake in the user's input: the CLI prints its message as one line and exits with status 2.

    The message should name the problem and the fix, e.g.
    ``"checkpoint not found: runs/x.ckpt (pass an existing file to --ckpt_path)"``.
    """


E = TypeVar("E", bound=BaseException)


def raised_from(error: BaseException | None, kind: type[E]) -> E | None:
    """The ``kind`` exception ``error`` is, or was raised from or while handling, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def user_error_in(error: BaseException | None) -> UserError | None:
    """The ``UserError`` an exception was raised from, if any."""
    return raised_from(error, UserError)


DEBUG_ENV = "LIGHTLAB_DEBUG"  # set to 1: a user mistake shows its traceback instead of one line


def one_line(message: str, limit: int = 400) -> str:
    """A multi-line message as one line, cut at ``limit`` characters."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


MAKE_ENV = "LIGHTLAB_VIA_MAKE"  # the Makefile sets it: a message names make variables, not flags
# The flag each make variable of the Makefile's recipes becomes (tests/test_commands.py checks them).
MAKE_VARIABLES = {
    "--ckpt": "CKPT",
    "--split": "SPLIT",
    "--input": "INPUT",
    "--port": "PORT",
    "--host": "HOST",
    "--workers": "WORKERS",
    "--max-batch": "MAX_BATCH",
    "--batch-timeout": "BATCH_TIMEOUT",
    "--max-body-mb": "MAX_BODY_MB",
    "--backend": "BACKEND",
    "--space": "SPACE",
    "--trials": "TRIALS",
    "--jobs": "JOBS",
    "--storage": "STORAGE",
    "--resume": "RESUME",
    "--seeds": "SEEDS",
    "--folds": "FOLDS",
    "--confirm": "CONFIRM",
    "--experiment": "EXP",
    "--model.init_from": "INIT",
}


def in_make_terms(message: str) -> str:
    """``message`` with each flag a make variable sets named as that variable (``--ckpt last`` as
    ``CKPT=last``), for a command the Makefile started."""
    for flag, variable in MAKE_VARIABLES.items():
        message = re.sub(rf"(?<![\w-]){re.escape(flag)}(?![\w-])(?=:)", variable, message)
        message = re.sub(rf"(?<![\w-]){re.escape(flag)}(?![\w-])[ =]?", f"{variable}=", message)
    return message


def exit_with(error: BaseException, status: int = 2) -> NoReturn:
    """The command error boundary: ``error: <message>`` on stderr and exit ``status`` (2 for a user
    mistake), or the traceback with ``LIGHTLAB_DEBUG=1``."""
    if os.environ.get(DEBUG_ENV):
        raise error
    message = str(error)
    print(f"error: {in_make_terms(message) if os.environ.get(MAKE_ENV) else message}", file=sys.stderr)
    sys.exit(status)


class CommandParser(argparse.ArgumentParser):
    """A command's flags, with a bad one reported as one ``UserError`` line (argparse prints its
    usage and exits)."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument (\S+?)(?:/\S+)?: ", r"\1: ", message)  # "argument --port: …"
        raise UserError(f"{message} (add --help to list the options)")


def command(main: Callable[P, R]) -> Callable[P, R]:
    """A command's ``main``, run inside the error boundary: a ``UserError`` is one line and exit 2."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return main(*args, **kwargs)
        except UserError as error:
            exit_with(error)

    return run
