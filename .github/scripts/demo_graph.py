"""Which demo modules the kept experiments still need, from imports and config class paths."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

# Packages whose modules belong to the demos; every other module of the package is kept.
DEMO_PACKAGES = ("data", "nets", "losses")


def module_names(src: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``src/<package>``."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def is_hub(module: str, package: str) -> bool:
    """A demo package's ``__init__``: it re-exports demos, so it keeps none of them alive."""
    return module in {f"{package}.{p}" for p in DEMO_PACKAGES}


def is_demo(module: str, package: str) -> bool:
    return any(module.startswith(f"{package}.{p}.") for p in DEMO_PACKAGES)


def imported_modules(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """The project's modules that ``path`` imports (a name imported from a package counts as
    its submodule when there is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = module if path.name == "__init__.py" else module.rpartition(".")[0]
                base = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                source = f"{base}.{source}" if source else base
            found.add(source)
            found |= {f"{source}.{a.name}" for a in node.names}
    return {name for name in found if name in modules}


@cache  # asked once per class path that names a package
def defined_names(path: Path) -> set[str]:
    """Top-level classes, functions and assigned names of a module."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def config_modules(text: str, package: str, modules: dict[str, Path]) -> set[str]:
    """Modules a config names by class path (``pkg.data.IrisDataModule`` resolves through the
    package's re-export to the module that defines the class)."""
    found = set()
    for dotted in re.findall(rf"\b{package}(?:\.\w+)+", text):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in modules:
                break
        found.add(prefix)
        if cut < len(parts):  # a name in a package: the submodule that defines it
            name = parts[cut]
            found |= {
                m for m, p in modules.items() if m.startswith(prefix + ".") and name in defined_names(p)
            }
    return found


def needed_modules(
    src: Path, package: str, kept_configs: list[str], fixtures: Path | None = None
) -> set[str]:
    """The package's modules a project keeping ``kept_configs`` (config texts) still imports.

    A demo module that the test fixtures (``fixtures``, a conftest) import to make stand-in data
    stays while every demo it builds on stays: the shapes generator serves all image-folder tests.
    """
    modules = module_names(src, package)
    imports = {m: imported_modules(path, m, modules) for m, path in modules.items()}
    demos = [m for m in modules if is_demo(m, package)]
    # Building blocks that several demos import (in_memory, splits, ...) are the project's own.
    shared = {m for m in demos if sum(m in imports[other] for other in demos if other != m) >= 2}
    roots = {m for m in modules if not is_demo(m, package)} | shared
    for text in kept_configs:
        roots |= config_modules(text, package, modules)
    generators = imported_modules(fixtures, "conftest", modules) if fixtures else set()
    while True:
        needed = _closure(roots, imports, package)
        more = {
            m
            for m in generators - needed
            if is_demo(m, package)
            and {i for i in imports[m] if is_demo(i, package)}
            and {i for i in imports[m] if is_demo(i, package)} <= needed
        }
        if not more:
            return needed
        roots |= more


def _closure(roots: set[str], imports: dict[str, set[str]], package: str) -> set[str]:
    needed, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in needed:
            continue
        needed.add(module)
        if not is_hub(module, package):
            todo += imports[module]
    return needed
