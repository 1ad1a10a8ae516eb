"""``make new-project``: run on a committed copy of this repository, it renames the package and
keeps only the named demos, or also drops optional capabilities (DROP=), leaving a tree that lints,
trains and passes its own tests; what it refuses, it refuses in one line without changing anything."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from helpers import ROOT

NAME = "acme_vision"
KEEP = ["iris_mlp", "shapes_cnn"]
DROP = ["deploy", "sweeps"]
# What only the dropped capabilities' extras bring, and what the rest still needs (the mlflow
# extra keeps a web server and a database layer of its own: uvicorn, sqlalchemy).
DROPPED_DISTRIBUTIONS = ["onnx", "onnxruntime", "onnxscript", "litserve", "optuna", "psycopg2-binary"]
KEPT_DISTRIBUTIONS = [
    "torch",
    "lightning",
    "torchmetrics",
    "wandb",
    "pyyaml",
    "pytest",
    "sqlalchemy",
    "uvicorn",
]
VENV = Path(sys.executable).parent.parent
RUFF = Path(sys.executable).parent / "ruff"


def git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True).stdout


def own_lines(stderr: str) -> list[str]:
    """What the command printed, without make's closing ``make: *** ... Error 2`` (``make[1]``
    when the suite itself runs under make)."""
    return [line for line in stderr.strip().splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]


def new_project(copy: Path, *variables: str) -> subprocess.CompletedProcess:
    make = ["make", "--no-print-directory", "new-project", f"VENV={VENV}", "NO_INSTALL=1", *variables]
    return subprocess.run(make, cwd=copy, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory) -> Path:
    """This working tree's project files (tracked, and new ones not ignored), committed afresh."""
    copy = tmp_path_factory.mktemp("clone") / "project"
    listed = git("ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes((ROOT / name).read_bytes())
    git("init", "-q", cwd=copy)
    git("add", "-A", cwd=copy)
    git("commit", "-q", "-m", "template", cwd=copy)
    return copy


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (["NAME=Acme-Vision"], "not a lower-case Python package name"),
        (["NAME=class"], "not a lower-case Python package name"),
        (["NAME=torch"], "would shadow the module 'torch'"),
        (["NAME=test"], "would shadow the module 'test'"),
        (["NAME=lightning"], "would shadow the module 'lightning'"),
        (["NAME=acme_vision", "KEEP=iris_mlp nope"], "KEEP names 'nope', not an experiment"),
        (
            ["NAME=acme_vision", "DROP=nope"],
            "not an optional capability; droppable: deploy sweeps",
        ),
        (["NAME=acme_vision", "DROP=cluster"], "DROP names 'cluster', which lightlab/cli.py imports"),
        ([], "no name given"),
    ],
)
def test_a_refused_name_or_experiment_changes_nothing(template_copy, variables, message):
    result = new_project(template_copy, *variables)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(own_lines(result.stderr)) == 1 and message in own_lines(result.stderr)[0], result.stderr
    assert git("status", "--porcelain", cwd=template_copy) == ""


def test_uncommitted_changes_are_refused_unless_forced(template_copy, tmp_path):
    (template_copy / "notes.txt").write_text("mine\n")
    try:
        result = new_project(template_copy, f"NAME={NAME}")
        assert result.returncode == 2 and "uncommitted changes" in result.stderr
        assert "FORCE=1" in result.stderr and len(own_lines(result.stderr)) == 1
        assert git("status", "--porcelain", cwd=template_copy) == "?? notes.txt\n"
    finally:
        (template_copy / "notes.txt").unlink()


@pytest.fixture(scope="module")
def renamed(template_copy, tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("renamed") / "project"
    git("clone", "-q", str(template_copy), str(project), cwd=template_copy.parent)
    result = new_project(project, f"NAME={NAME}", f"KEEP={' '.join(KEEP)}")
    assert result.returncode == 0, result.stdout + result.stderr
    git("add", "-A", cwd=project)
    return project


def run_in(project: Path, *command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "VENV": str(VENV)}
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_old_name_and_the_dropped_demos_are_gone(renamed):
    tracked = git("ls-files", cwd=renamed).split()
    mentions = []
    for name in tracked:
        try:
            text = (renamed / name).read_text()
        except UnicodeDecodeError:
            continue
        mentions += [f"{name}: {line.strip()}" for line in text.splitlines() if "lightlab" in line.lower()]
    assert mentions == []
    assert sorted(p.stem for p in (renamed / "experiments").glob("*.yaml")) == KEEP
    assert sorted(p.stem for p in (renamed / "experiments" / "sweeps").glob("*.yaml")) == ["iris_mlp"]
    package = renamed / "src" / NAME
    for dropped in ("data/text.py", "data/fashion_mnist.py", "nets/bilstm.py", "losses/smoothed_nll.py"):
        assert not (package / dropped).exists(), dropped
    for kept in ("data/iris.py", "data/iris.csv", "data/shapes.py", "nets/mlp.py", "nets/cnn.py"):
        assert (package / kept).exists(), kept
    assert (package / "deploy" / "serve.py").exists()
    # The command is gone with its test and its README section.
    assert not (renamed / ".github" / "scripts" / "new_project.py").exists()
    assert not (renamed / "tests" / "test_new_project.py").exists()
    assert "new-project" not in (renamed / "Makefile").read_text()
    readme = (renamed / "README.md").read_text()
    assert readme.startswith(f"# {NAME}\n") and "Start your own project" not in readme
    assert "fashion_mnist_cnn" not in readme and "text_bilstm" not in readme


def test_every_module_imports_and_ruff_is_clean(renamed):
    modules = [
        ".".join(p.relative_to(renamed / "src").with_suffix("").parts).removesuffix(".__init__")
        for p in (renamed / "src" / NAME).rglob("*.py")
        if p.name != "__main__.py"  # importing it runs the CLI
    ]
    imports = run_in(
        renamed,
        sys.executable,
        "-c",
        "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]",
        *modules,
    )
    assert imports.returncode == 0, imports.stderr
    for check in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        lint = run_in(renamed, str(RUFF), *check)
        assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("experiment", KEEP)
def test_each_kept_experiment_trains(renamed, experiment):
    fit = run_in(
        renamed,
        *(sys.executable, "-m", NAME, "fit", "--config", f"experiments/{experiment}.yaml"),
        *("--trainer.fast_dev_run", "true", "--trainer.enable_progress_bar", "false"),
        *(["--data.init_args.images_per_class", "20"] if experiment == "shapes_cnn" else []),
    )
    assert fit.returncode == 0, fit.stdout[-2000:] + fit.stderr[-2000:]


@pytest.mark.slow
def test_the_renamed_tree_collects_its_tests_and_passes_the_fast_ones(renamed):
    collected = run_in(
        renamed, sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"
    )
    assert collected.returncode == 0, collected.stdout[-3000:]
    assert "tests/test_experiments.py::test_experiment_smoke" in collected.stdout
    fast = [
        "tests/test_experiments.py",
        "tests/test_nets_mlp.py",
        "tests/test_data_iris.py",
        "tests/test_readme_example.py",
    ]
    tests = run_in(
        renamed, sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", *fast
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout


def test_a_second_run_on_the_renamed_tree_is_refused(renamed):
    script = ROOT / ".github" / "scripts" / "new_project.py"
    again = subprocess.run(
        [sys.executable, str(script), "other_name", "--root", str(renamed), "--no-install"],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "already renamed" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def stripped(template_copy, tmp_path_factory) -> Path:
    """The template renamed, with one experiment and without the deploy and sweeps capabilities."""
    project = tmp_path_factory.mktemp("stripped") / "project"
    git("clone", "-q", str(template_copy), str(project), cwd=template_copy.parent)
    result = new_project(project, f"NAME={NAME}", "KEEP=iris_mlp", f"DROP={' '.join(DROP)}")
    assert result.returncode == 0, result.stdout + result.stderr
    git("add", "-A", cwd=project)
    return project


def test_a_dropped_capability_leaves_with_its_tests_docs_commands_and_dependencies(stripped):
    tracked = git("ls-files", cwd=stripped).split()
    for capability in DROP:
        assert not [name for name in tracked if f"/{capability}/" in name or f"test_{capability}" in name]
        assert f"docs/{capability}.md" not in tracked
    project = tomllib.loads((stripped / "pyproject.toml").read_text())["project"]
    assert list(project["optional-dependencies"]) == [
        "dev",
        "tensorboard",
        "mlflow",
    ]  # loggers', not packages'
    declared = " ".join([*project["dependencies"], *project["optional-dependencies"]["dev"]]).lower()
    lock = {line.split("==")[0].lower() for line in (stripped / "constraints.txt").read_text().splitlines()}
    for name in DROPPED_DISTRIBUTIONS:
        assert name not in lock and name not in declared, name
    assert set(KEPT_DISTRIBUTIONS) <= lock
    makefile = (stripped / "Makefile").read_text()
    assert not re.findall(r"^(sweep|sweep-results|export|predict-onnx|serve):", makefile, re.M)
    assert "EXTRAS    ?= dev,tensorboard,mlflow\n" in makefile and "SPACES" not in makefile
    usage = run_in(stripped, sys.executable, "-m", NAME, "--help")
    assert usage.returncode == 0 and re.findall(r"^  (\S+) ", usage.stdout, re.M) == [
        *("fit", "validate", "test", "predict", "eval", "group", "compare", "results")
    ]
    pages = [stripped / "README.md", stripped / "AGENTS.md", *(stripped / "docs").glob("*.md")]
    text = "\n".join(page.read_text() for page in pages)
    for gone in ("make sweep", "make export", "make serve", "deploy.md", "sweeps.md", "Optuna", "ONNX"):
        assert gone not in text, gone
    assert "make train EXP=iris_mlp" in text
    ci = (stripped / ".ci" / "run").read_text()  # nor the services only dropped tests used
    assert "postgresql" not in ci and "dataset-fashion-mnist" not in ci and "slurm-wlm" in ci
    helped = subprocess.run(["make", "help", f"VENV={VENV}"], cwd=stripped, capture_output=True, text=True)
    assert helped.returncode == 0 and "make sweep" not in helped.stdout


@pytest.mark.slow
def test_the_stripped_tree_lints_and_passes_its_own_make_test(stripped):
    for check in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        lint = run_in(stripped, str(RUFF), *check)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    tests = run_in(stripped, "make", "--no-print-directory", "test", f"VENV={VENV}", timeout=900)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert " passed" in tests.stdout and " failed" not in tests.stdout
