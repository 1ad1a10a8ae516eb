"""``python -m lightlab <verb>``: the help lists every verb the Makefile calls, and each verb's bad
input is one line and exit status 2, or its traceback with ``LIGHTLAB_DEBUG=1``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import ROOT

from lightlab.__main__ import VERBS

BAD_INPUT = {
    "fit": (["--config", "missing.yaml"], "missing.yaml"),
    "validate": (["--config", "missing.yaml"], "missing.yaml"),
    "test": (["--config", "missing.yaml"], "missing.yaml"),
    "predict": (["{missing}", "--input", "x.csv"], "not a run folder"),
    "eval": (["{missing}"], "not a run folder"),
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


def test_an_unknown_verb_is_one_line():
    result = lightlab("trian")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown command 'trian'" in result.stderr


def test_bad_input_table_covers_every_verb():
    assert set(BAD_INPUT) == set(VERBS)


@pytest.mark.parametrize("verb", list(BAD_INPUT))
def test_bad_input_is_one_line_and_debug_shows_the_traceback(verb, tmp_path):
    arguments, words = BAD_INPUT[verb]
    arguments = [a.replace("{missing}", str(tmp_path / "missing")) for a in arguments]
    result = lightlab(verb, *arguments)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    debugged = lightlab(verb, *arguments, debug=True)
    assert debugged.returncode != 0 and "Traceback (most recent call last)" in debugged.stderr
