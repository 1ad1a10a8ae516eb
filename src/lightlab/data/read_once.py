"""Data files read once per process: the runs of a seed group or of a sweep train one after
another in one process, and each builds its own DataModule; the files they read are parsed once.

An entry is keyed by the reader, its arguments and each file's size and modification time, so a
file changed on disk is read again. Callers must not modify what they get (the splits index it,
which copies).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Result = TypeVar("Result")
KEPT = 4  # files sets: a group or sweep reads one; a notebook trying a few keeps them all
_cache: OrderedDict[tuple, Any] = OrderedDict()


def read_once(reader: Callable[..., Result], *paths: str | Path, **options: Any) -> Result:
    """``reader(*paths, **options)``, or what it returned before for the same unchanged files."""
    try:
        stamps = tuple((str(Path(p).resolve()), *_stamp(p)) for p in paths)
    except OSError:
        return reader(*paths, **options)  # a missing file: the reader's own error says so
    key = (reader.__module__, reader.__qualname__, stamps, tuple(sorted(options.items())))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    result = reader(*paths, **options)
    _cache[key] = result
    while len(_cache) > KEPT:
        _cache.popitem(last=False)
    return result


def _stamp(path: str | Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_size, status.st_mtime_ns


def forget() -> None:
    """Drop every entry (tests that rewrite a file within one mtime tick)."""
    _cache.clear()
