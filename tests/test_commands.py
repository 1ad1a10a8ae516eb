"""``python -m lightlab <verb>``: the help lists every verb the Makefile calls, and each verb's bad
input is one line and exit status 2, or its traceback with ``LIGHTLAB_DEBUG=1``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from helpers import ROOT

from lightlab.__main__ import VERBS, main
from lightlab.errors import MAKE_VARIABLES

BAD_INPUT = {
    "fit": (["--config", "missing.yaml"], "missing.yaml"),
    "validate": (["--config", "missing.yaml"], "missing.yaml"),
    "test": (["--config", "missing.yaml"], "missing.yaml"),
    "predict": (["{missing}", "--input", "x.csv"], "not a run folder"),
    "eval": (["{missing}"], "not a run folder"),
    "group": (["iris_mlp", "--seeds", "0"], "SEEDS=0"),
    "compare": (["{missing}", "{missing}"], "does not exist"),
    "results": (["--runs_dir", "{missing}"], "no run folders"),
    "sweep": (["no_such_experiment"], "no_such_experiment"),
    "export": (["{missing}"], "not a run folder"),
    "predict-onnx": (["{missing}", "--input", "x.csv"], "export folder not found"),
    "serve": (["{missing}"], "not a run folder"),
    "show-data": (["{missing}.yaml"], "not found"),
}


def lightlab(*args: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled"}
    env.pop("LIGHTLAB_DEBUG", None)
    if debug:
        env["LIGHTLAB_DEBUG"] = "1"
    command = [sys.executable, "-m", "lightlab", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_help_lists_every_verb_and_every_make_target_calls_one():
    result = lightlab("--help")
    assert result.returncode == 0
    listed = re.findall(r"^  (\S+) ", result.stdout, re.MULTILINE)
    assert listed == list(VERBS)
    called = set(re.findall(r"-m lightlab ([a-z-]+)", (ROOT / "Makefile").read_text()))
    assert called and called <= set(VERBS)


def test_each_flag_a_make_variable_sets_is_named_as_that_variable_in_errors():
    recipes = (ROOT / "Makefile").read_text()
    passed = set(re.findall(r"(--[a-z][a-z-]*)[ =]\$\((?:or |if )?\$?\(?([A-Z_]+)", recipes))
    passed = {(flag, variable) for flag, variable in passed if variable != "PIP_ARGS"}  # pip's, not ours
    assert passed and passed <= set(MAKE_VARIABLES.items()), passed - set(MAKE_VARIABLES.items())


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["serve", "runs/x", "--port", "0"], "--port: '0' is not an integer in [1024, 65535]"),
        (["serve", "runs/x", "--max-batch", "none"], "--max-batch: 'none' is not an integer > 0"),
        (["sweep", "iris_mlp", "--jobs", "0"], "--jobs: '0' is not an integer > 0"),
        (
            ["eval", "runs/x", "--split", "train"],
            "--split: invalid choice: 'train' (choose from 'val', 'test')",
        ),
    ],
)
def test_a_bad_flag_of_a_command_is_one_line_with_its_range(arguments, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"error: {words} (add --help to list the options)"], lines


def test_an_unknown_verb_is_one_line():
    result = lightlab("trian")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown command 'trian'" in result.stderr


def test_bad_input_table_covers_every_verb():
    assert set(BAD_INPUT) == set(VERBS)


# Runs each given verb in this one process, as ``python -m lightlab`` would, with file descriptor 2
# pointed at a file of its own: what any layer (Python, a logging handler, C) writes to stderr is
# caught. One process for every verb and both modes saves an import of torch and Lightning each.
EACH_VERB = """
import json, os, sys, traceback
from lightlab.__main__ import main
cases, folder = json.loads(sys.argv[1]), sys.argv[2]
for index, (verb, arguments, debug) in enumerate(cases):
    os.environ.pop("LIGHTLAB_DEBUG", None)
    if debug:
        os.environ["LIGHTLAB_DEBUG"] = "1"
    saved = os.dup(2)
    with open(os.path.join(folder, f"{index}.err"), "w") as err:
        os.dup2(err.fileno(), 2)
        try:
            main([verb, *arguments])
            code = 0
        except SystemExit as stop:
            code = stop.code
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
    with open(os.path.join(folder, f"{index}.code"), "w") as out:
        out.write(str(code))
"""


@pytest.fixture(scope="module")
def bad_input_results(tmp_path_factory) -> dict[tuple[str, bool], tuple[int, str]]:
    """(verb, debug) -> (exit status, stderr) for every verb's bad input, without and with
    ``LIGHTLAB_DEBUG=1``."""
    folder = tmp_path_factory.mktemp("bad_input")
    missing = str(folder / "missing")
    cases = [
        (verb, [a.replace("{missing}", missing) for a in arguments], debug)
        for verb, (arguments, _) in BAD_INPUT.items()
        for debug in (False, True)
    ]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    run = [sys.executable, "-c", EACH_VERB, json.dumps(cases), str(folder)]
    subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True)
    return {
        (verb, debug): (int((folder / f"{i}.code").read_text()), (folder / f"{i}.err").read_text())
        for i, (verb, _, debug) in enumerate(cases)
    }


@pytest.mark.parametrize("verb", list(BAD_INPUT))
def test_bad_input_is_one_line_and_debug_shows_the_traceback(verb, bad_input_results):
    words = BAD_INPUT[verb][1]
    status, stderr = bad_input_results[(verb, False)]
    assert status == 2, stderr[-2000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    status, stderr = bad_input_results[(verb, True)]
    assert status != 0 and "Traceback (most recent call last)" in stderr


def test_a_missing_optional_dependency_names_its_extra():
    """A project installed without an extra (``pip install -e .``) gets one line that says which."""
    hide_optuna = "import sys; sys.modules['optuna'] = None; from lightlab.__main__ import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", hide_optuna, "sweep", "iris_mlp"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    expected = "error: sweep needs optuna, which is not installed: pip install -e '.[sweeps]'"
    assert result.stderr.strip() == expected
