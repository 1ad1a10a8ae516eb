# ruff: noqa: E501  (a table of inputs reads best one row to a line)
"""Bad input, one row each: exit status 2, one line on stderr naming the problem and the fix, no
traceback, no run folder left behind, and no existing file changed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, ROOT, run_cli, run_dirs, snapshot
from PIL import Image
from synthetic_data import claimed_size_png, patterned_images

from lightlab.data.idx import write_fashion_mnist

IRIS = str(EXPERIMENTS / "iris_mlp.yaml")
TEXT = str(EXPERIMENTS / "text_file_bilstm.yaml")
SHAPES = str(EXPERIMENTS / "shapes_cnn.yaml")
FASHION = str(EXPERIMENTS / "fashion_mnist_mlp.yaml")
FOLDER = ["--data", "lightlab.data.ImageFolderDataModule", "--data.init_args.num_workers", "0"]


def write_images(folder: Path) -> Path:
    for name in ("cat", "dog"):
        (folder / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(folder / name / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder of good and bad inputs; the good iris checkpoint comes from a short real run."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "notes.ckpt").write_text("not a checkpoint")

    run_cli("fit", "--config", IRIS, "--trainer.max_epochs", "2", runs_dir=folder / "runs")
    (run_dir,) = run_dirs(folder / "runs", "iris_mlp")
    shutil.copy(run_dir / "checkpoints" / "last.ckpt", folder / "iris_mlp.ckpt")
    run_dir.rename(run_dir.parent / "run")  # kept, under a name the rows can spell

    # An image run, for checkpoints and inputs of another kind.
    image_run = [
        "--data.init_args.root",
        str(write_images(folder / "clean_images")),
        "--data.init_args.image_size",
        "8",
    ]
    run_cli(
        "fit", "--config", SHAPES, *FOLDER, *image_run, "--trainer.max_epochs", "1", runs_dir=folder / "runs"
    )
    (run_dir,) = run_dirs(folder / "runs", "shapes_cnn")
    run_dir.rename(run_dir.parent / "run")

    data = (folder / "iris_mlp.ckpt").read_bytes()
    (folder / "truncated.ckpt").write_bytes(data[: len(data) // 2])

    iris = (ROOT / "src/lightlab/data/iris.csv").read_text().splitlines()
    cells = iris[1].split(",")
    cells[2] = "nan"
    (folder / "nan.csv").write_text("\n".join([iris[0], iris[1], ",".join(cells), *iris[3:]]) + "\n")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "header_only.csv").write_text(iris[0] + "\n")
    (folder / "measurements.csv").write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in iris))
    (folder / "duplicate_header.csv").write_text("a,a,b,species\n1,2,3,x\n4,5,6,y\n")
    (folder / "words.csv").write_text("a,b,species\n1,oops,x\n4,5,y\n")

    rows = [f"{'good fun' if i % 2 else 'dull and slow'} {i},{'pos' if i % 2 else 'neg'}" for i in range(40)]
    text = "text,label\n" + "\n".join(rows) + "\n"
    (folder / "texts.csv").write_text(text)
    (folder / "latin1.csv").write_bytes(text.replace("good fun 7", "caf\u00e9 7").encode("latin-1"))
    (folder / "one_class.csv").write_text("text,label\n" + "".join(f"words {i},pos\n" for i in range(40)))
    (folder / "header_only_text.csv").write_text("text,label\n")
    (folder / "duplicate_text_header.csv").write_text("text,text,label\n" + "\n".join(rows[:10]) + "\n")
    (folder / "no_label.csv").write_text("text,label\n" + "\n".join(rows[:10]) + "\nsome words,\n")
    (folder / "no_text.csv").write_text("text,label\n" + "".join(f",{i % 2}\n" for i in range(10)))
    (folder / "bad.jsonl").write_text('{"text": "fine", "label": "a"}\n{"text": "broken\n')
    (folder / "texts.txt").write_text("one text per line\n")
    # The label is missing on line 10 as an editor counts: blank lines and a quoted two-line field.
    spaced = [*rows[:2], "", '"a text over\ntwo lines",pos', "", *rows[2:4], "no label here,"]
    (folder / "spaced.csv").write_text("text,label\n" + "\n".join(spaced) + "\n")
    (folder / "huge_field.csv").write_text(text + "x" * 1_200_000 + ",pos\n")
    (folder / "huge_line.jsonl").write_text(
        '{"text": "fine", "label": "a"}\n' + '{"text": "' + "y" * 1_200_000 + '"}\n'
    )
    (folder / "semicolons.csv").write_text("sentence;label\nwords;a\n")

    (folder / "bad.yaml").write_text("data:\n  class_path: any.DataModule\n   init_args: {}\n")

    edited = (EXPERIMENTS / "iris_mlp.yaml").read_text().replace("[32, 32]", "thirty-two")
    (folder / "edited").mkdir()
    (folder / "edited" / "iris_mlp.yaml").write_text(edited)

    (folder / "used_run").mkdir()
    (folder / "used_run" / "config.yaml").write_text("seed_everything: 1\n")

    images = write_images(folder / "images")
    (images / "cat" / "zero.png").write_bytes(b"")
    for png in (write_images(folder / "only_broken") / "dog").iterdir():
        png.write_bytes(b"not an image")
    (write_images(folder / "bombed") / "cat" / "huge.png").write_bytes(claimed_size_png(40_000, 40_000))
    looped = write_images(folder / "looped")
    (looped / "cat" / "again").symlink_to(looped, target_is_directory=True)

    manifests = folder / "manifests"
    write_images(manifests / "pictures")
    good = [f"pictures/{name}/{i}.png,{name}" for name in ("cat", "dog") for i in range(6)]
    (manifests / "outside.csv").write_text("\n".join(["path,label", *good, "../images/cat/0.png,cat"]) + "\n")
    (manifests / "bird.csv").write_text("\n".join(["path,label", *good, "pictures/cat/0.png,bird"]) + "\n")
    split = [f"{row},train" for row in good] + ["pictures/dog/1.png,dog,holdout"]
    no_test = [f"{row},{'val' if row.endswith(('0.png,cat', '0.png,dog')) else 'train'}" for row in good]
    (manifests / "no_test.csv").write_text("\n".join(["path,label,split", *no_test]) + "\n")
    (manifests / "holdout.csv").write_text("\n".join(["path,label,split", *split]) + "\n")

    write_fashion_mnist(folder / "fashion", patterned_images(100, seed=0), patterned_images(50, seed=1))
    labels = folder / "fashion" / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:30])
    return folder


# fmt: off
# (id, arguments with {files} for the inputs folder, words the one line must contain)
ROWS = [
    # checkpoints
    ("truncated checkpoint", ["test", "--config", IRIS, "--ckpt_path", "{files}/truncated.ckpt"],
     ["truncated.ckpt", "damaged", "the newest intact one here is", "iris_mlp.ckpt"]),
    ("text file as checkpoint", ["test", "--config", IRIS, "--ckpt_path", "{files}/notes.ckpt"],
     ["notes.ckpt", "not a checkpoint"]),
    ("checkpoint of another experiment",
     ["test", "--config", TEXT, "--data.init_args.path", "{files}/texts.csv", "--ckpt_path", "{files}/iris_mlp.ckpt"],
     ["iris_mlp.ckpt", "another experiment"]),
    ("checkpoint of another data kind",
     ["test", "--config", IRIS, "--ckpt_path", "{files}/runs/shapes_cnn/run/checkpoints/last.ckpt"],
     ["is from a run of shapes_cnn (image data, ImageFolderDataModule)", "this run reads tabular data"]),
    ("missing checkpoint", ["test", "--config", IRIS, "--ckpt_path", "{files}/nowhere.ckpt"],
     ["checkpoint not found", "nowhere.ckpt"]),
    # command line and config files
    ("unknown flag", ["fit", "--config", IRIS, "--trainer.max_epohcs", "3"], ["max_epohcs", "--help"]),
    ("flag value of the wrong type", ["fit", "--config", IRIS, "--trainer.max_epochs", "many"],
     ["trainer.max_epochs: 'many' is not valid (expected int or null)"]),
    ("value of a plain type", ["fit", "--config", IRIS, "--model.lr", "abc"], ["model.lr: 'abc' is not valid (expected a finite number > 0)"]),
    ("unknown net class", ["fit", "--config", IRIS, "--model.net", "lightlab.nets.Nope"], ["model.net: cannot import lightlab.nets.Nope"]),
    ("misspelled flag", ["fit", "--config", IRIS, "--model.learning_rate", "0.1"], ["--model.learning_rate", "did you mean --model.lr?"]),
    ("misspelled DataModule argument", ["fit", "--config", IRIS, "--data.init_args.bach_size", "8"],
     ["IrisDataModule has no option 'bach_size'", "did you mean --data.init_args.batch_size?"]),
    # values out of range (tests/test_ranges.py tries the one just past every declared range)
    ("zero batch size", ["fit", "--config", IRIS, "--data.init_args.batch_size", "0"],
     ["data.init_args.batch_size: 0 is out of range (expected an integer > 0)"]),
    ("negative learning rate", ["fit", "--config", IRIS, "--model.lr=-0.01"], ["model.lr: -0.01 is out of range (expected a finite number > 0)"]),
    ("zero epochs", ["fit", "--config", IRIS, "--trainer.max_epochs", "0"],
     ["trainer.max_epochs: 0 is out of range (expected an integer > 0 or -1, or null)"]),
    ("dropout of one", ["fit", "--config", IRIS, "--model.net.init_args.dropout", "1"],
     ["model.net.init_args.dropout: 1 is out of range (expected a number in [0, 1))"]),
    ("negative value without an =", ["fit", "--config", IRIS, "--model.lr", "-1e-3"], ["--flag=-1e-3"]),
    ("missing config file", ["fit", "--config", "{files}/nope.yaml"], ["nope.yaml"]),
    ("broken YAML", ["fit", "--config", "{files}/bad.yaml"], ["bad.yaml:3:", "invalid YAML"]),
    ("config.yaml edited into an invalid state", ["fit", "--config", "{files}/edited/iris_mlp.yaml"],
     ["hidden_sizes", "thirty-two"]),
    ("no experiment", ["fit", "--trainer.max_epochs", "3"], ["no experiment given", "experiments/<name>.yaml"]),
    ("GPU asked for, none here", ["fit", "--config", IRIS, "--trainer.accelerator", "gpu"],
     ["no GPU found", "TRAINER=cpu"]),
    ("invalid trainer value", ["fit", "--config", IRIS, "--trainer.precision", "7-bit"], ["trainer.precision: '7-bit' is not valid", "'bf16-mixed'"]),
    ("loss for another kind of task", ["fit", "--config", IRIS, "--model.loss", "torch.nn.BCEWithLogitsLoss"],
     ["BCEWithLogitsLoss", "3 classes"]),
    ("run folder that already holds a run", ["fit", "--config", IRIS], ["already holds a run", "new folder"]),
    # numeric CSV
    ("missing data file", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/nope.csv"],
     ["data file not found", "nope.csv"]),
    ("zero-byte CSV", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/empty.csv"],
     ["empty.csv is empty", "header row"]),
    ("header-only CSV", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/header_only.csv"],
     ["header_only.csv has a header but no rows"]),
    ("nan in a numeric CSV", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/nan.csv"],
     ["nan.csv:3", "'petal_length'", "not a finite number"]),
    ("label column that is a feature", ["fit", "--config", IRIS, "--data.init_args.label_column", "sepal_length"],
     ["'sepal_length' holds numbers", "'species' holds only text", "--data.init_args.label_column species"]),
    ("label column holding a measurement",
     ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/measurements.csv", "--data.init_args.label_column", "sepal_length"],
     ["'sepal_length' has 35 different values in 150 rows", "label_column"]),
    ("no such label column", ["fit", "--config", IRIS, "--data.init_args.label_column", "kind"],
     ["no column 'kind'", "label_column"]),
    ("duplicate header names", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/duplicate_header.csv"],
     ["duplicate_header.csv", "column 'a' twice"]),
    ("non-numeric feature", ["fit", "--config", IRIS, "--data.init_args.csv_path", "{files}/words.csv"],
     ["words.csv:2", "not a finite number"]),
    ("split that leaves no validation rows", ["fit", "--config", IRIS, "--data.init_args.val_fraction", "0.001"],
     ["val_fraction=0.001", "empty"]),
    ("fractions that leave nothing to train on",
     ["fit", "--config", IRIS, "--data.init_args.val_fraction", "0.5", "--data.init_args.test_fraction", "0.5"],
     ["sum to less than 1"]),
    # text files
    ("text that is not UTF-8", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/latin1.csv"],
     ["latin1.csv:9: not valid utf-8", "--data.init_args.encoding"]),
    ("unknown text encoding",
     ["fit", "--config", TEXT, "--data.init_args.path", "{files}/texts.csv", "--data.init_args.encoding", "klingon"],
     ["unknown encoding 'klingon'"]),
    ("one class in the training split", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/one_class.csv"],
     ["one_class.csv", "only one class (pos)", "at least two"]),
    ("missing text file", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/nope.csv"],
     ["text file not found", "nope.csv"]),
    ("zero-byte text file", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/empty.csv"],
     ["empty.csv holds no rows"]),
    ("header-only text file", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/header_only_text.csv"],
     ["header_only_text.csv holds no rows"]),
    ("text column empty in every row", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/no_text.csv"],
     ["no_text.csv has no rows with text"]),
    ("row without a label", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/no_label.csv"],
     ["no_label.csv:12: this row has no label"]),
    ("row without a label after blank and multi-line rows",
     ["fit", "--config", TEXT, "--data.init_args.path", "{files}/spaced.csv"], ["spaced.csv:10: this row has no label"]),
    ("CSV field over the length bound", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/huge_field.csv"],
     ["huge_field.csv:42: a field longer than 1000000 characters", "--data.init_args.max_field_chars"]),
    ("JSON line over the length bound", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/huge_line.jsonl"],
     ["huge_line.jsonl:2: a field longer than 1000000 characters"]),
    ("duplicate text header",
     ["fit", "--config", TEXT, "--data.init_args.path", "{files}/duplicate_text_header.csv"],
     ["column 'text' twice"]),
    ("broken JSON line", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/bad.jsonl"],
     ["bad.jsonl:2", "invalid JSON"]),
    ("unknown text file type", ["fit", "--config", TEXT, "--data.init_args.path", "{files}/texts.txt"],
     ["unknown text file type '.txt'", ".csv, .tsv or .jsonl"]),
    ("text file without the text column",
     ["fit", "--config", TEXT, "--data.init_args.path", "{files}/semicolons.csv"],
     ["no column 'text'", "text_column"]),
    ("predict file missing",
     ["predict", "--config", TEXT, "--data.init_args.path", "{files}/texts.csv",
      "--data.init_args.predict_path", "{files}/nope.txt"], ["predict file not found", "nope.txt"]),
    # image folders
    ("image folder not found", ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.root", "{files}/nope"],
     ["image folder not found", "one subfolder per class"]),
    ("zero-byte image with on_corrupt error",
     ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.root", "{files}/images",
      "--data.init_args.on_corrupt", "error"], ["unusable image", "zero.png", "on_corrupt skip"]),
    ("image whose header claims a gigapixel canvas",
     ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.root", "{files}/bombed", "--data.init_args.on_corrupt", "error"],
     ["unusable image", "huge.png", "40000x40000 pixels, over the bound of 89478485", "max_image_pixels"]),
    ("class folder of unreadable files only",
     ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.root", "{files}/only_broken"],
     ["no readable training images", "dog"]),
    ("symlink loop in an image folder",
     ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.root", "{files}/looped"], ["looped", "symlink"]),
    # Fashion-MNIST
    # warm starts and class weights
    ("INIT= a folder that is no run", ["fit", "--config", IRIS, "--model.init_from", "{files}/images"],
     ["is not a run folder (no config.yaml)"]),
    ("INIT= an experiment's folder", ["fit", "--config", IRIS, "--model.init_from", "{files}/runs/iris_mlp"],
     ["runs/iris_mlp is not a run folder but holds runs: give one of them, e.g. ", "iris_mlp/run"]),
    ("INIT= a path that does not exist", ["fit", "--config", IRIS, "--model.init_from", "{files}/nope"],
     ["--model.init_from", "nope: no such run folder or checkpoint"]),
    ("INIT= a run of another net", ["fit", "--config", IRIS, "--model.init_from", "{files}/runs/shapes_cnn/run"],
     ["cannot warm-start", "its net is CNN, this run's is MLP"]),
    ("INIT= a run whose weights fit nowhere",
     ["fit", "--config", IRIS, "--model.net.init_args.hidden_sizes", "[7]", "--model.init_from", "{files}/runs/iris_mlp/run"],
     ["none of its 6 net weights has a name and shape this net has"]),
    ("INIT= a run without checkpoints", ["fit", "--config", IRIS, "--model.init_from", "{files}/used_run"],
     ["used_run: the run holds no checkpoint; give a .ckpt file"]),
    ("INIT= with --resume", ["fit", "--resume", "{files}/runs/iris_mlp/run", "--model.init_from", "{files}/runs/iris_mlp/run"],
     ["--model.init_from: starts a new run", "--resume: continues a run; give one of them"]),
    ("manifest without test rows", ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.manifest", "{files}/manifests/no_test.csv"],
     ["no_test.csv: its split column gives no usable test rows"]),
    ("INIT= a damaged checkpoint", ["fit", "--config", IRIS, "--model.init_from", "{files}/truncated.ckpt"],
     ["truncated.ckpt is damaged or not a checkpoint"]),
    ("class weights of the wrong count", ["fit", "--config", IRIS, "--model.class_weights", "[1, 2]"],
     ["class_weights has 2 weights for 3 classes"]),
    ("class weights with a loss of ones own",
     ["fit", "--config", IRIS, "--model.loss", "torch.nn.CrossEntropyLoss", "--model.class_weights", "balanced"],
     ["class_weights weigh the default loss, not CrossEntropyLoss"]),
    # image manifests
    ("image manifest missing", ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.manifest", "{files}/nope.csv"],
     ["image manifest not found", "nope.csv", "path,label[,split]"]),
    ("manifest path outside its folder", ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.manifest", "{files}/manifests/outside.csv"],
     ["outside.csv:14: ../images/cat/0.png is outside the manifest's folder"]),
    ("manifest label not among fixed classes",
     ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.manifest", "{files}/manifests/bird.csv", "--data.init_args.classes", "[cat, dog]"],
     ["bird.csv:14: label 'bird' is not one of the classes (cat, dog)"]),
    ("manifest split of an unknown value", ["fit", "--config", SHAPES, *FOLDER, "--data.init_args.manifest", "{files}/manifests/holdout.csv"],
     ["holdout.csv:14: split 'holdout' is not train, val or test"]),
    ("damaged Fashion-MNIST file", ["fit", "--config", FASHION, "--data.init_args.data_dir", "{files}/fashion"],
     ["t10k-labels-idx1-ubyte", "truncated or damaged"]),
]

# Bad make variables: make's own one-line error, exit status 2.
MAKE_ROWS = [
    ("train without EXP", ["train"], ["no experiment given", "EXP=<name>"]),
    ("unknown EXP", ["train", "EXP=nope"], ["unknown experiment 'nope'", "iris_mlp"]),
    ("unknown TRAINER", ["train", "EXP=iris_mlp", "TRAINER=tpu"], ["unknown trainer preset 'tpu'", "ddp"]),
    ("show-data without EXP", ["show-data"], ["no experiment given", "make show-data"]),
    ("INIT with RESUME", ["train", "EXP=iris_mlp", "INIT=runs/a", "RESUME=latest"], ["INIT= starts a new run", "RESUME= continues a run"]),
]
# fmt: on


@pytest.mark.parametrize(("arguments", "words"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_ends_in_one_line(arguments, words, files, tmp_path, capsys, monkeypatch):
    before = snapshot(files, skip=("looped",))
    runs = tmp_path / "runs"
    if "already holds a run" in words:
        monkeypatch.setenv("LIGHTLAB_RUN_DIR", str(files / "used_run"))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*[a.format(files=files) for a in arguments], runs_dir=runs)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0]
    assert not runs.exists() or not any(p.is_dir() for d in runs.iterdir() for p in d.iterdir())
    assert snapshot(files, skip=("looped",)) == before


@pytest.mark.parametrize(
    ("arguments", "words"), [row[1:] for row in MAKE_ROWS], ids=[row[0] for row in MAKE_ROWS]
)
def test_bad_make_variable_ends_in_one_line(arguments, words):
    result = subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("verb", ["eval", "export"])
def test_a_checkpoint_of_another_run_kind_given_to_a_run_names_where_it_is_from(verb, files, capsys):
    """``make eval|predict|export|serve RUN=<iris run> CKPT=<an image run's checkpoint>``."""
    from lightlab.__main__ import main

    before = snapshot(files, skip=("looped",))
    foreign = files / "runs" / "shapes_cnn" / "run" / "checkpoints" / "last.ckpt"
    with pytest.raises(SystemExit) as exit_info:
        main([verb, str(files / "runs" / "iris_mlp" / "run"), "--ckpt", str(foreign)])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "is from a run of shapes_cnn (image data" in lines[0], lines
    assert snapshot(files, skip=("looped",)) == before


@pytest.mark.parametrize(
    ("run", "given", "words"),
    [
        (
            "iris_mlp",
            "images/cat/1.png",
            "is not a .csv file; this run takes a CSV with columns sepal_length",
        ),
        (
            "shapes_cnn",
            "texts.csv",
            "is not an image; this run takes an image, a folder of images or a .txt list",
        ),
        ("shapes_cnn", "texts.txt", "texts.txt:1: image not found"),
    ],
)
def test_an_input_of_another_kind_says_what_the_run_takes(run, given, words, files, tmp_path, capsys):
    from lightlab.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "predict",
                str(files / "runs" / run / "run"),
                "--input",
                str(files / given),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines


def test_a_make_recipe_names_its_variable_in_the_error(files):
    run = files / "runs" / "iris_mlp" / "run"
    result = subprocess.run(
        ["make", "--no-print-directory", "eval", f"RUN={run}", "CKPT=worst"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    first = result.stderr.strip().splitlines()[0]  # make adds its own "Error 2" line after the command's
    assert first == "error: checkpoint not found: worst (give CKPT=best, last or an existing file)", (
        result.stderr
    )


REAL_PROCESS_ROWS = [
    row for row in ROWS if row[0] in ("nan in a numeric CSV", "truncated checkpoint", "predict file missing")
]


@pytest.mark.parametrize(
    "arguments", [row[1] for row in REAL_PROCESS_ROWS], ids=[row[0] for row in REAL_PROCESS_ROWS]
)
def test_a_real_process_prints_only_the_error_on_stderr(arguments, files, tmp_path):
    """Lightning's progress notes go to stdout, so stderr holds the one line and nothing else."""
    command = [sys.executable, "-m", "lightlab", *[a.format(files=files) for a in arguments]]
    result = subprocess.run(
        [*command, "--runs_dir", str(tmp_path / "runs")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")


def test_each_row_names_a_case_once_and_the_words_its_error_must_hold():
    names = [row[0] for row in [*ROWS, *MAKE_ROWS]]
    assert len(names) == len(set(names))
    assert all(
        row[-1] and all(isinstance(word, str) and word for word in row[-1]) for row in [*ROWS, *MAKE_ROWS]
    )
