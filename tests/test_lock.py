"""The lock (constraints.txt) pins every package the code imports, within pyproject.toml's ranges,
and ``make upgrade`` leaves it alone when the newest releases fail the tests."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions

import pytest
import tomllib
from helpers import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = ROOT / "constraints.txt"
sys.path.insert(0, str(ROOT / ".github" / "scripts"))

from update_lock import needed_distributions, project_requirements  # noqa: E402


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    return {canonicalize_name(r.name): r for r in map(Requirement, requirements)}


def imported_distributions() -> set[str]:
    modules = set()
    for path in (ROOT / "src" / "lightlab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"lightlab", "__future__"}
    owners = packages_distributions()
    missing = sorted(m for m in third_party if m not in owners)
    assert not missing, f"no installed distribution provides {missing}"
    # Several distributions may install one module (mlflow, mlflow-skinny): the declared one owns it.
    names = declared()
    used = set()
    for module in third_party:
        candidates = [canonicalize_name(owner) for owner in owners[module]]
        used.add(next((name for name in candidates if name in names), candidates[0]))
    return used


def test_every_imported_package_is_declared_and_locked():
    used, pins, requirements = imported_distributions(), locked(), declared()
    assert used - requirements.keys() == set(), "imported but not in pyproject.toml's dependencies"
    assert used - pins.keys() == set(), "imported but not pinned in constraints.txt"


def test_locked_versions_satisfy_the_declared_ranges():
    pins = locked()
    for name, requirement in declared().items():
        assert name in pins, f"{name} is declared in pyproject.toml but not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject.toml's {requirement}"
        )


def test_every_pin_is_still_needed():
    """A pin stays only while a declared requirement (of the package or of an extra) needs it, so
    a dependency removed from pyproject.toml leaves the lock too."""
    made_on = re.search(r"Python (\d+\.\d+)", LOCK.read_text())
    if made_on and made_on.group(1) != f"{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(f"the lock was made on Python {made_on.group(1)}; markers differ on this one")
    needed = needed_distributions(project_requirements(ROOT / "pyproject.toml"))
    unneeded = sorted(locked().keys() - needed)
    assert unneeded == [], f"pinned in constraints.txt but no declared requirement needs them: {unneeded}"


def test_the_installed_environment_is_the_locked_one():
    from importlib.metadata import version

    pins = locked()
    for name in ("torch", "lightning", "torchmetrics", "jsonargparse", "wandb"):
        assert version(name).split("+")[0] == pins[name], (
            f"{name} differs from constraints.txt: run make install"
        )


@pytest.mark.slow
def test_upgrade_leaves_the_lock_alone_when_tests_fail(tmp_path):
    lock = tmp_path / "constraints.txt"
    lock.write_text(LOCK.read_text())
    failing = tmp_path / "test_newest_releases.py"
    failing.write_text("def test_deliberately_failing():\n    assert 1 == 2\n")
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "upgrade",
            f"LOCK={lock}",
            f"UPGRADE_VENV={tmp_path / 'venv'}",
            f"TESTS={failing}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert lock.read_text() == LOCK.read_text()
    assert "test_deliberately_failing" in result.stdout
    assert f"{lock} is unchanged" in result.stdout
