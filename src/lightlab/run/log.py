"""``train.log``: what a run printed, stdout and stderr, kept in its folder without terminal codes.

While a run is live, ``sys.stdout`` and ``sys.stderr`` write to the console as before and to the
run folder's ``train.log`` too (the main process only; other ranks print the same). Colours,
cursor moves and carriage returns are dropped from the file, so it reads and greps as plain text.
Output meant for one side only goes through ``to_log_only`` (the full layer table) or
``terminal()`` (the live progress bar, whose redraws are not worth keeping).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lightlab.cluster.ranks import global_rank
from lightlab.run.folder import RunFolder

# CSI sequences (colours, cursor moves), OSC sequences (links, titles), and carriage returns.
CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]|\r(?!\n)")


def plain(text: str) -> str:
    """``text`` without terminal control sequences."""
    return CONTROL.sub("", text)


class RunLog:
    """The open ``train.log`` of the run in progress in this process."""

    def __init__(self, path: Path, console: bool = True) -> None:
        self.path = path
        self.fresh = not path.exists()
        self.file = path.open("a", encoding="utf-8", errors="replace")
        self.streams = (sys.stdout, sys.stderr)
        # Where the run's stdout goes besides the file: the console, or nowhere for a run whose
        # caller prints a line of its own for it (a sweep's trial).
        self.console: IO[str] = sys.stdout if console else io.StringIO()

    def write(self, text: str) -> None:
        if not self.file.closed:
            self.file.write(plain(text))
            self.file.flush()

    def close(self) -> None:
        self.file.close()


class Tee:
    """A stream that writes to ``stream`` and to the run's log; everything else is the stream's."""

    def __init__(self, stream: IO[str], log: RunLog | _Held) -> None:
        self.stream, self.log = stream, log

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.log.write(text)
        return written

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding…: the console's
        return getattr(self.stream, name)


class _Held:
    """What is printed before the run's folder exists (the seed line, a resume's line), kept for
    the run's log, which gets it first."""

    def __init__(self) -> None:
        self.text = io.StringIO()
        self.streams = (sys.stdout, sys.stderr)

    def write(self, text: str) -> None:
        self.text.write(plain(text))


_active: RunLog | None = None
_holding: _Held | None = None
_quiet = False


@contextlib.contextmanager
def stdout_to_log_only() -> Iterator[None]:
    """Runs started meanwhile print their stdout into their ``train.log`` only (warnings and
    errors still reach the console): a sweep prints one line per trial instead."""
    global _quiet
    before, _quiet = _quiet, True
    try:
        yield
    finally:
        _quiet = before


def hold() -> None:
    """Keep what is printed from now until ``start`` opens the run's log, for that log. The
    console sees it at once (unless stdout goes to the log only)."""
    global _holding
    if _holding is not None or _active is not None:
        return
    _holding = _Held()
    console = io.StringIO() if _quiet else sys.stdout
    sys.stdout, sys.stderr = Tee(console, _holding), Tee(sys.stderr, _holding)


def _release() -> str:
    """Stop holding; what was held."""
    global _holding
    if _holding is None:
        return ""
    held, _holding = _holding, None
    sys.stdout, sys.stderr = held.streams
    return held.text.getvalue()


def start(run_dir: Path) -> None:
    """Keep what this process prints in ``run_dir/train.log`` (appended to, for a resumed run),
    starting with what was held since ``hold``."""
    global _active
    held = _release()
    stop()
    if global_rank() != 0 or not run_dir.is_dir():
        return
    _active = RunLog(RunFolder(run_dir).log, console=not _quiet)
    _active.write(held)
    sys.stdout, sys.stderr = Tee(_active.console, _active), Tee(sys.stderr, _active)


def stop(remove_in: Path | None = None) -> None:
    """Stop logging (or holding) and put the console streams back; a log this run created inside
    ``remove_in`` goes (a run that failed before training leaves nothing behind)."""
    global _active
    _release()
    if _active is None:
        return
    log, _active = _active, None
    sys.stdout.flush()
    sys.stdout, sys.stderr = log.streams
    log.close()
    if remove_in is not None and log.fresh and log.path.parent == remove_in:
        log.path.unlink(missing_ok=True)


def to_log_only(text: str) -> None:
    """Write ``text`` into the run's log, not to the console."""
    if _active is not None:
        _active.write(text)


def _console() -> IO[str]:
    """Where a run's console output goes now, without the log."""
    return _active.console if _active is not None else sys.stdout


class _Terminal:
    """The console, without the log: whatever the console stream is when written to."""

    def write(self, text: str) -> int:
        return _console().write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(_console(), name)


def terminal() -> IO[str]:
    """A stream to the console alone (for output redrawn in place, such as a progress bar)."""
    return _Terminal()  # type: ignore[return-value]


def on_terminal() -> bool:
    """Whether the console is a terminal (else: a file, a pipe, a scheduler's output file)."""
    return bool(getattr(_console(), "isatty", lambda: False)())
