"""Write the lock from an environment, and say what changed against the previous lock.

    python .github/scripts/update_lock.py <venv python> <lock file>

The lock is ``pip freeze`` of a venv where ``pip install -e ".[<every extra>]"`` ran from scratch, minus
the project itself, under a header saying so. Prints one ``package old -> new`` line per change.
``needed_distributions`` tells which pins a set of requirements still needs (``make new-project
DROP=`` and the lock test use it).
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """\
# Tested versions: every package `make install` brings, pinned. `make install` installs through
# this file (pip -c), so a fresh clone gets what the test suite last passed with.
# Made by `make upgrade`: pip freeze of a fresh venv after `pip install -e ".[{extras}]"` with the
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
            found[canonicalize_name(name.strip())] = version.strip()
    return found


def project_requirements(pyproject: Path, extras: Iterable[str] | None = None) -> list[str]:
    """The project's dependencies plus those of ``extras`` (default: every extra)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    chosen = optional if extras is None else {name: optional[name] for name in extras}
    return [*project["dependencies"], *(r for group in chosen.values() for r in group)]


def needed_distributions(requirements: Iterable[str]) -> set[str]:
    """The canonical names of ``requirements`` and of everything they need in turn, as installed
    in this environment: markers evaluated here, requested extras followed."""
    needed: set[str] = set()
    queue = [(Requirement(r), "") for r in requirements]
    while queue:
        requirement, extra = queue.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        known = f"{name}[{','.join(sorted(requirement.extras))}]"
        if known in needed:
            continue
        needed |= {known, name}
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:  # not for this platform or Python
            continue
        for extra in ("", *requirement.extras):
            queue += [(Requirement(r), extra) for r in requires]
    return {name for name in needed if "[" not in name}


def main() -> None:
    python, lock = sys.argv[1], Path(sys.argv[2])
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
    ).stdout
    new = pins(frozen)
    old = pins(lock.read_text()) if lock.exists() else {}
    extras = ",".join(tomllib.loads(Path("pyproject.toml").read_text())["project"]["optional-dependencies"])
    header = HEADER.format(python=platform.python_version(), machine=platform.machine(), extras=extras)
    lock.write_text(header + "".join(f"{name}=={version}\n" for name, version in sorted(new.items())))
    changes = [
        f"  {name}: {old.get(name, '(new)')} -> {new.get(name, '(removed)')}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
    print(f"{lock}: {len(changes)} change(s)" + ("".join(f"\n{c}" for c in changes) if changes else ""))


if __name__ == "__main__":
    main()
