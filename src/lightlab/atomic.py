"""Writes that never leave a broken file: temporary file in the same folder, flush, fsync, rename.

A crash or a full disk during a write leaves the previous file as it was; the failure is a
``UserError`` naming the file and the disk problem.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from lightlab.errors import UserError, raised_from


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, make it durable, then rename it over ``path``."""
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        os.chmod(temporary, 0o666 & ~current_umask())  # what a plain open() would give, not mkstemp's 0600
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        cause = os_error_in(error)
        if cause is None:
            raise
        kept = "the previous file is unchanged" if path.exists() else "nothing was written"
        raise disk_error(path, cause, kept) from None
    return path


# What a full, read-only or otherwise failing disk raises (not a missing file: that is a mistake).
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}


def os_error_in(error: BaseException | None) -> OSError | None:
    """The ``OSError`` behind ``error`` (``torch.save`` reports a full disk as a RuntimeError
    raised while handling it)."""
    return raised_from(error, OSError)


def is_disk_fault(error: BaseException) -> bool:
    cause = os_error_in(error)
    return cause is not None and cause.errno in DISK_ERRNOS


def disk_error(path: str | Path | None, error: OSError, kept: str = "") -> UserError:
    """The one line for a write the disk refused: which file, what the disk said, what to do."""
    fix = {
        errno.EROFS: "write somewhere writable (--runs_dir)",
        errno.EACCES: "write somewhere you may write (--runs_dir), or fix the folder's permissions",
        errno.EPERM: "write somewhere you may write (--runs_dir), or fix the folder's permissions",
    }.get(error.errno, "free some disk space or write elsewhere (--runs_dir)")
    where = path or error.filename or "a run file"
    note = f" ({kept})" if kept else ""
    return UserError(f"could not write {where}: {error.strerror or error}{note}; {fix}")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def __getattr__(name: str) -> Any:
    # Run configs written before the class moved name it here.
    if name == "AtomicCheckpointIO":
        from lightlab.callbacks.checkpoint_io import AtomicCheckpointIO

        return AtomicCheckpointIO
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
