"""Bad input, one row each: exit status 2, one line on stderr naming the problem and the fix, no
traceback, no run folder left behind, and no existing file changed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, run_cli, run_dirs

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")
TEXT = str(EXPERIMENTS / "text_file_bilstm.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder of good and bad inputs; the good iris checkpoint comes from a short real run."""
    folder = tmp_path_factory.mktemp("inputs")
    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "2", runs_dir=folder / "runs")
    (run_dir,) = run_dirs(folder / "runs", "iris_mlp")
    shutil.copy(run_dir / "checkpoints" / "last.ckpt", folder / "iris.ckpt")
    data = (folder / "iris.ckpt").read_bytes()
    (folder / "truncated.ckpt").write_bytes(data[: len(data) // 2])
    (folder / "notes.ckpt").write_text("not a checkpoint")
    iris = (EXPERIMENTS.parent / "src/lightlab/data/iris.csv").read_text().splitlines()
    columns = iris[1].split(",")
    columns[2] = "nan"
    (folder / "nan.csv").write_text("\n".join([iris[0], iris[1], ",".join(columns), *iris[3:]]) + "\n")
    rows = [f"{'good fun' if i % 2 else 'dull and slow'} {i},{'pos' if i % 2 else 'neg'}" for i in range(40)]
    text = "text,label\n" + "\n".join(rows) + "\n"
    (folder / "latin1.csv").write_bytes(text.replace("good fun 7", "caf\u00e9 7").encode("latin-1"))
    (folder / "one_class.csv").write_text(
        "text,label\n" + "\n".join(f"words {i},pos" for i in range(40)) + "\n"
    )
    (folder / "texts.csv").write_text(text)
    return folder


# (id, arguments with {files} for the inputs folder, words the one line must contain)
ROWS = [
    (
        "truncated checkpoint",
        ["test", "--config", IRIS, "--ckpt_path", "{files}/truncated.ckpt"],
        ["truncated.ckpt", "damaged", "use another one"],
    ),
    (
        "text file as checkpoint",
        ["test", "--config", IRIS, "--ckpt_path", "{files}/notes.ckpt"],
        ["notes.ckpt", "not a checkpoint"],
    ),
    (
        "checkpoint of another experiment",
        [
            "test",
            "--config",
            TEXT,
            "--data.init_args.path",
            "{files}/texts.csv",
            "--ckpt_path",
            "{files}/iris.ckpt",
        ],
        ["iris.ckpt", "another experiment"],
    ),
    (
        "missing checkpoint",
        ["test", "--config", IRIS, "--ckpt_path", "{files}/nowhere.ckpt"],
        ["checkpoint not found", "nowhere.ckpt"],
    ),
    (
        "nan in a numeric CSV",
        ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/nan.csv"],
        ["nan.csv:3", "'petal_length'", "not a finite number"],
    ),
    (
        "text that is not UTF-8",
        ["fit", "--config", TEXT, "--data.init_args.path", "{files}/latin1.csv"],
        ["latin1.csv", "row 9", "not valid utf-8", "--data.init_args.encoding"],
    ),
    (
        "unknown text encoding",
        [
            "fit",
            "--config",
            TEXT,
            "--data.init_args.path",
            "{files}/texts.csv",
            "--data.init_args.encoding",
            "klingon",
        ],
        ["unknown encoding 'klingon'"],
    ),
    (
        "one class in the training split",
        ["fit", "--config", TEXT, "--data.init_args.path", "{files}/one_class.csv"],
        ["one_class.csv", "only one class (pos)", "at least two"],
    ),
]


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("arguments", "words"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_ends_in_one_line(arguments, words, files, tmp_path, capsys):
    before = snapshot(files)
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*[a.format(files=files) for a in arguments], runs_dir=runs)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in lines[0]
    assert not runs.exists() or not any(p.is_dir() for d in runs.iterdir() for p in d.iterdir())
    assert snapshot(files) == before
