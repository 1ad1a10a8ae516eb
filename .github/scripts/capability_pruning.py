"""Dropping optional capabilities: ``make new-project ... DROP="deploy sweeps"``.

An optional capability is a package under ``src/<package>/`` that has an extra of the same name
in pyproject.toml and that no other part of the package imports. Dropping it removes the package,
its tests (``tests/test_<capability>*.py``), its docs page (``docs/<capability>.md``), its folder
under experiments/ (the search spaces of ``sweeps``), its commands (the verbs ``__main__`` routes
to it, and the Makefile targets that run them), its extra, and the pins of constraints.txt that
no remaining requirement needs.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

sys.path.insert(0, str(Path(__file__).parent))

from demo_graph import imported_modules, module_names
from update_lock import needed_distributions, pins, project_requirements


def extras(root: Path) -> list[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return list(project.get("optional-dependencies", {}))


def importers(root: Path, package: str, capability: str) -> list[str]:
    """The package's files outside ``capability`` that import it (relative imports included)."""
    prefix = f"{package}.{capability}"
    modules = module_names(root / "src", package)
    return [
        str(path.relative_to(root / "src"))
        for module, path in modules.items()
        if not (module == prefix or module.startswith(prefix + "."))
        and any(m == prefix or m.startswith(prefix + ".") for m in imported_modules(path, module, modules))
    ]


def optional_capabilities(root: Path, package: str) -> list[str]:
    return [
        name
        for name in extras(root)
        if (root / "src" / package / name / "__init__.py").exists() and not importers(root, package, name)
    ]


def drop_refusal(root: Path, package: str, drop: list[str]) -> str | None:
    """Why ``drop`` cannot be dropped, in one line, or None."""
    optional = optional_capabilities(root, package)
    choices = " ".join(optional)
    for name in drop:
        if name in optional:
            continue
        users = importers(root, package, name) if (root / "src" / package / name).is_dir() else []
        if users:
            return f"DROP names {name!r}, which {users[0]} imports: it is not optional; droppable: {choices}"
        return f"DROP names {name!r}, not an optional capability; droppable: {choices}"
    return None


def verbs(root: Path, package: str, modules: set[str]) -> set[str]:
    """The command verbs (``python -m <package> <verb>``) whose module is one of ``modules``."""
    tree = ast.parse((root / "src" / package / "__main__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "VERBS":
            table = ast.literal_eval(node.value)
            return {verb for verb, (module, _) in table.items() if module in modules}
    return set()


def files_of(root: Path, package: str, capabilities: list[str]) -> list[Path]:
    """The files that go with ``capabilities``: package, tests, docs page, experiments folder."""
    files: list[Path] = []
    for name in capabilities:
        files += [p for p in (root / "src" / package / name).rglob("*") if p.is_file()]
        files += [*(root / "tests").glob(f"test_{name}.py"), *(root / "tests").glob(f"test_{name}_*.py")]
        files += [p for p in [root / "docs" / f"{name}.md"] if p.exists()]
        files += [p for p in (root / "experiments" / name).rglob("*") if p.is_file()]
    return files


def dead_words(root: Path, package: str, capabilities: list[str], modules: set[str]) -> list[str]:
    """Regular expressions for the text (README, docs, Makefile) about what goes: the commands of
    the dropped ``modules``, and the docs pages, packages and extras' distributions of the dropped
    ``capabilities``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    patterns = []
    for verb in sorted(verbs(root, package, modules)):
        patterns += [rf"-m {package} {re.escape(verb)}(?![\w-])", rf"\bmake {re.escape(verb)}(?![\w-])"]
    for name in capabilities:
        patterns += [rf"(?<![\w-]){name}\.md\b", rf"(?<![\w-]){name}/", rf"experiments/{name}\b"]
        for requirement in project["optional-dependencies"][name]:
            distribution = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
            patterns.append(rf"(?i:(?<![\w-]){re.escape(distribution)}(?![\w-]))")
    return patterns


def drop_extras(root: Path, capabilities: list[str]) -> None:
    """pyproject.toml without the capabilities' extras, every ``.[a,b,c]`` and ``EXTRAS`` list
    without their names, and constraints.txt without the pins only they needed."""
    every = extras(root)
    kept = [name for name in every if name not in capabilities]
    needed_before = needed_distributions(project_requirements(root / "pyproject.toml"))
    pyproject = root / "pyproject.toml"
    lines = pyproject.read_text().splitlines(keepends=True)
    out: list[str] = []
    skipping = False
    for line in lines:
        if re.match(rf"^({'|'.join(map(re.escape, capabilities))}) = \[", line):
            while out and out[-1].startswith(f"# {line.split(' ')[0]}:"):
                out.pop()  # the comment that introduces the extra
            skipping = True
        elif not skipping:
            out.append(line)
        elif line.startswith("]"):
            skipping = False
    pyproject.write_text("".join(out))
    needed_after = needed_distributions(project_requirements(pyproject))
    unneeded = needed_before - needed_after
    lock = root / "constraints.txt"
    kept_lines = [
        line for line in lock.read_text().splitlines(keepends=True) if not (set(pins(line)) & unneeded)
    ]
    lock.write_text("".join(kept_lines))
    old, new = ",".join(every), ",".join(kept)
    texts = [
        root / "Makefile",
        lock,
        *root.glob(".github/**/*.yml"),
        *root.glob("*.md"),
        *root.glob("docs/*.md"),
    ]
    for path in texts:
        if path.is_file() and old in path.read_text():
            path.write_text(path.read_text().replace(old, new))
