"""Write the lock from an environment, and say what changed against the previous lock.

    python .github/scripts/update_lock.py <venv python> <lock file>

The lock is ``pip freeze`` of a venv where ``pip install -e ".[dev,serve]"`` ran from scratch, minus the
project itself, under a header saying so. Prints one ``package old -> new`` line per change.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

HEADER = """\
# Tested versions: every package `make install` brings, pinned. `make install` installs through
# this file (pip -c), so a fresh clone gets what the test suite last passed with.
# Made by `make upgrade`: pip freeze of a fresh venv after `pip install -e ".[dev,serve]"` with the
# newest releases within pyproject.toml's ranges, written only after the whole test suite passed
# there. Python {python} on {machine}. Do not edit by hand; add a dependency to pyproject.toml, then
# run `make upgrade` (or append its `name==version` line here in the same commit).
"""


def pins(text: str) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` lines of a lock or of pip freeze."""
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower().replace("_", "-")] = version.strip()
    return found


def main() -> None:
    python, lock = sys.argv[1], Path(sys.argv[2])
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
    ).stdout
    new = pins(frozen)
    old = pins(lock.read_text()) if lock.exists() else {}
    header = HEADER.format(python=platform.python_version(), machine=platform.machine())
    lock.write_text(header + "".join(f"{name}=={version}\n" for name, version in sorted(new.items())))
    changes = [
        f"  {name}: {old.get(name, '(new)')} -> {new.get(name, '(removed)')}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
    print(f"{lock}: {len(changes)} change(s)" + ("".join(f"\n{c}" for c in changes) if changes else ""))


if __name__ == "__main__":
    main()
