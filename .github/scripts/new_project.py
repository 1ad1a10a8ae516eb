"""Turn a fresh clone of the template into your own project, in place:
``make new-project NAME=<package> [KEEP="<experiment> ..."] [DROP="<capability> ..."] [FORCE=1]
[KEEP_COMMAND=1]``.

It renames the package everywhere (folder, imports, entry points, config class paths,
environment variables, wandb project, Makefile, workflows, README, tests, benchmarks). With KEEP,
it also drops every other demo experiment and what only those used: DataModules, nets, losses,
tests (down to a parametrize row), fixtures, benchmarks, Makefile lines and README and docs rows. Unless
KEEP_COMMAND=1, the command itself goes too. DROP removes optional capabilities (deploy, sweeps)
with their commands, tests, docs and dependencies (``capability_pruning``). Every check runs
before anything changes; a refusal is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import keyword
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from capability_pruning import dead_words, drop_extras, drop_refusal, files_of, verbs
from demo_graph import defined_names, module_names, needed_modules
from source_pruning import Dropped, prune_source
from text_pruning import prune_makefile, prune_markdown

OLD = "lightlab"
COMMAND_FILES = [
    ".github/scripts/new_project.py",
    ".github/scripts/demo_graph.py",
    ".github/scripts/source_pruning.py",
    ".github/scripts/text_pruning.py",
    ".github/scripts/capability_pruning.py",
    "docs/new-project.md",
    "tests/test_new_project.py",
]


class Refusal(Exception):
    """A reason not to touch the tree, in one line."""


def project_files(root: Path, force: bool) -> list[Path]:
    """The files of the project: git's tracked and untracked-but-not-ignored ones."""
    if not (root / ".git").exists():
        raise Refusal(
            "not a git checkout, so the changes could not be undone: "
            "git init && git add -A && git commit first"
        )
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
    if dirty.strip() and not force:
        raise Refusal("the git tree has uncommitted changes: commit or stash them first, or pass FORCE=1")
    return [root / name for name in listed if name and (root / name).is_file()]


def imported_top_levels(files: list[Path]) -> set[str]:
    names = set()
    for path in files:
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return names


def check_name(name: str, files: list[Path]) -> None:
    if name == OLD:
        raise Refusal(f"{name!r} is the template's own name; choose your project's")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise Refusal(
            f"{name!r} is not a lower-case Python package name (letters, digits, _; e.g. acme_vision)"
        )
    taken = imported_top_levels(files) | set(sys.stdlib_module_names) | {"test", "tests"}
    if name in taken or find_spec(name) is not None:
        raise Refusal(
            f"{name!r} would shadow the module {name!r} that Python or this project imports; choose another"
        )


def experiment_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "experiments").glob("*.yaml"))


def plan_drops(root: Path, keep: list[str], drop: list[str]) -> tuple[Dropped, list[Path]]:
    """What keeping only the experiments ``keep`` (all when empty) and dropping the capabilities
    ``drop`` removes, and the files to delete outright."""
    experiments = experiment_names(root)
    gone = set(experiments) - set(keep or experiments)
    files = [root / "experiments" / f"{e}.yaml" for e in gone]
    files += [p for e in gone if (p := root / "experiments" / "sweeps" / f"{e}.yaml").exists()]
    kept = keep or experiments
    configs = [(root / "experiments" / f"{e}.yaml").read_text() for e in kept]
    configs += [p.read_text() for e in kept if (p := root / "experiments" / "sweeps" / f"{e}.yaml").exists()]
    configs += [p.read_text() for p in (root / "src").rglob("*.yaml")]
    configs += [p.read_text() for p in (root / "experiments").glob("*/*.yaml") if p.parent.name != "sweeps"]
    src = root / "src"
    modules = module_names(src, OLD)
    dropped_modules = set()
    if keep:
        dropped_modules = set(modules) - needed_modules(src, OLD, configs, root / "tests" / "conftest.py")
    packages = [f"{OLD}.{c}" for c in drop]
    dropped_modules |= {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}
    dropped = Dropped(modules=dropped_modules, experiments=gone, names=verbs(root, OLD, dropped_modules))
    files += files_of(root, OLD, drop)
    for module in dropped_modules:
        path = modules[module]
        files.append(path)
        files += [p for p in path.parent.glob(f"{path.stem}.*") if p.suffix != ".py"]  # its data files
        names = defined_names(path)
        dropped.exports.setdefault(module, set()).update(names)
        dropped.exports.setdefault(module.rpartition(".")[0], set()).update(names)
    return dropped, files


def prune_python(root: Path, dropped: Dropped, deleted: set[Path]) -> None:
    """Prune tests, benchmarks and the demo packages' ``__init__`` until nothing more changes.
    Test files left without tests, and changed benchmarks, join ``deleted``."""
    targets = [p for p in sorted((root / "tests").glob("*.py")) + sorted((root / "benchmarks").glob("*.py"))]
    targets += [root / "src" / OLD / part / "__init__.py" for part in ("data", "nets", "losses")]
    targets += [root / "src" / OLD / "__main__.py", root / "src" / OLD / "compat.py"]  # verbs, old paths
    while True:
        progress = False
        for path in targets:
            if path in deleted or not path.exists():
                continue
            module = path.stem if path.parent.name in ("tests", "benchmarks") else f"{OLD}.{path.parent.name}"
            if path.parent.name == OLD:
                module = f"{OLD}.{path.stem}"
            before = path.read_text()
            after, lost = prune_source(before, module, dropped)
            if after == before:
                continue
            progress = True
            if path.parent.name == "tests" and path.name == "conftest.py":
                dropped.names |= lost  # fixtures are asked for by name
            dropped.exports.setdefault(module, set()).update(lost)
            if path.parent.name == "benchmarks" or (
                path.name.startswith("test_") and not re.search(r"^\s*def test", after, re.M)
            ):
                deleted.add(path)
            else:
                path.write_text(after)
        if not progress:
            return


def dead_text(
    dropped: Dropped, deleted: set[Path], targets: set[str], words: list[str]
) -> Callable[[str], bool]:
    classes = [n for m in dropped.modules for n in dropped.exports.get(m, ()) if n[:1].isupper()]
    paths = [m.replace(".", "/") + ".py" for m in dropped.modules]
    paths += [m.split(".", 1)[1].replace(".", "/") + ".py" for m in dropped.modules]
    paths += [
        p.name
        for p in deleted
        if (p.suffix == ".py" and p.parent.name in ("tests", "benchmarks", "scripts"))
        or p.parent.name == "launch"
    ]
    # Class names count anywhere (SkipNet), but acronyms only as code (`MLP`, nets.CNN), not in
    # prose ("an MLP"); so do the Makefile targets that went.
    pattern = "|".join(
        [rf"(?<![\w-]){re.escape(w)}(?![\w-])" for w in dropped.experiments]
        + [rf"[`.]{re.escape(w)}(?![\w-])" for w in classes if w.isupper()]
        + [rf"(?<![\w-]){re.escape(w)}(?![\w-])" for w in classes if not w.isupper()]
        + [rf"\bmake {re.escape(t)}\b" for t in targets]
        + [re.escape(p) for p in paths]
        + [rf"\b{re.escape(m)}\b" for m in dropped.modules]
        + [rf"(?<![\w-]){re.escape(p.name)}\b" for p in deleted if p.suffix == ".md"]
        + words
    )
    regex = re.compile(pattern) if pattern else None
    return lambda text: bool(regex and regex.search(text))


def dead_words_in(text: str, words: list[str]) -> bool:
    return any(re.search(word, text) for word in words)


def rename_text(text: str, name: str) -> str:
    return (
        text.replace(OLD, name)
        .replace(OLD.upper(), name.upper())
        .replace(OLD.capitalize(), name.capitalize())
    )


def tidy(root: Path) -> None:
    """Imports left unused by the pruning out, and imports and lines the new name lengthened
    sorted and wrapped again, with the project's ruff."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff:
        subprocess.run([ruff, "check", "--fix", "--quiet", "--select", "F401,I", "."], cwd=root, check=False)
        subprocess.run([ruff, "format", "--quiet", "."], cwd=root, check=False)


def make_project(
    root: Path, name: str, keep: list[str], drop: list[str], files: list[Path], keep_command: bool
) -> set[Path]:
    """Drop what only the other demos use and the dropped capabilities, then rename; returns the
    files deleted."""
    deleted: set[Path] = set()
    dropped = Dropped()
    if keep or drop:
        dropped, drop_files = plan_drops(root, keep, drop)
        deleted |= set(drop_files)
    command_files = {root / f for f in COMMAND_FILES}
    if not keep_command:
        deleted |= command_files
    words = dead_words(root, OLD, drop, dropped.modules)  # before the pruning takes the verbs out of __main__
    launchers = sorted((root / "experiments" / "launch").glob("*"))
    deleted |= {p for p in launchers if dead_words_in(p.read_text(), words)}  # a sweep's job script
    prune_python(root, dropped, deleted)
    makefile = root / "Makefile"
    pruned, targets = prune_makefile(makefile.read_text(), dead_text(dropped, deleted, set(), words))
    makefile.write_text(pruned)
    dead = dead_text(dropped, deleted, targets, words)
    demo = re.compile("|".join(rf"(?<![\w-]){e}(?![\w-])" for e in sorted(dropped.experiments)))

    def retarget(line: str) -> str:  # example commands run a kept experiment instead
        return demo.sub(keep[0], line) if dropped.experiments and keep else line

    for page in [root / "README.md", root / "AGENTS.md", *sorted((root / "docs").glob("*.md"))]:
        if page.exists() and page not in deleted:
            page.write_text(prune_markdown(page.read_text(), dead, retarget))
    ci = root / ".ci" / "run"
    if ci.exists():  # the services only dropped tests used
        ci.write_text("".join(line for line in ci.read_text().splitlines(keepends=True) if not dead(line)))
    if drop:
        drop_extras(root, drop)
    for launcher in launchers:  # the usage examples name a kept experiment instead
        if launcher not in deleted:
            launcher.write_text(retarget(launcher.read_text()))
    for path in deleted:
        path.unlink(missing_ok=True)
    for folder in sorted({p.parent for p in deleted}, key=lambda p: len(p.parts), reverse=True):
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # a dropped package's folder (and its __pycache__-free parents)
            folder = folder.parent
    for path in files:
        if path.exists() and path not in command_files:  # the command keeps naming the template
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if rename_text(text, name) != text:
                path.write_text(rename_text(text, name))
    (root / "src" / OLD).rename(root / "src" / name)
    for egg_info in (root / "src").glob(f"{OLD}.egg-info"):
        shutil.rmtree(egg_info)
    tidy(root)
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--keep", default="", help="experiments to keep, space-separated (default: all)")
    parser.add_argument("--drop", default="", help="optional capabilities to remove (deploy, sweeps)")
    parser.add_argument("--force", action="store_true", help="go ahead with uncommitted changes")
    parser.add_argument("--keep-command", action="store_true", help="leave this command in the project")
    parser.add_argument("--no-install", action="store_true", help="do not reinstall the renamed package")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    root = args.root.resolve()
    keep, drop = args.keep.split(), args.drop.split()
    try:
        if not (root / "src" / OLD).is_dir():
            raise Refusal(f"no src/{OLD}/ here: this tree is already renamed (or not the template)")
        files = project_files(root, args.force)
        check_name(args.name, files)
        choices = experiment_names(root)
        unknown = [e for e in keep if e not in choices]
        if unknown:
            raise Refusal(f"KEEP names {unknown[0]!r}, not an experiment; choose from: {' '.join(choices)}")
        if why := drop_refusal(root, OLD, drop):
            raise Refusal(why)
    except Refusal as refusal:
        print(f"new-project: {refusal}", file=sys.stderr)
        return 2
    deleted = make_project(root, args.name, keep, drop, files, args.keep_command)
    if not args.no_install:
        pip = [sys.executable, "-m", "pip", "--quiet"]
        subprocess.run([*pip, "uninstall", "--yes", OLD], check=False)
        subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(root)], check=True)
    print(f"{args.name}: renamed from {OLD}; kept experiments: {' '.join(keep or experiment_names(root))}")
    if drop:
        print(f"dropped {' '.join(drop)}: rm -rf .venv && make install leaves out their dependencies too")
    print(f"{len(deleted)} files removed; review the changes with git status and git diff, then make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
