"""``make predict RUN=<folder> INPUT=<path>`` and ``load_run``: new raw inputs of every data kind,
encoded exactly as in training, from the run folder alone."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from helpers import EXPERIMENTS, ROOT, run_cli, run_dirs, snapshot
from PIL import Image
from synthetic_data import patterned_images

from lightlab.data import FashionMNISTDataModule, IrisDataModule
from lightlab.data.iris import BUNDLED_CSV
from lightlab.errors import UserError
from lightlab.inference.predict import load_run
from lightlab.inference.predict import main as predict_run

SHORT = [
    "--trainer.limit_train_batches",
    "3",
    "--trainer.limit_val_batches",
    "2",
    "--trainer.limit_test_batches",
    "2",
]


def train(tmp_path_factory, experiment: str, *args: str) -> Path:
    runs = tmp_path_factory.mktemp(experiment) / "runs"
    run_cli("fit", "--config", str(EXPERIMENTS / f"{experiment}.yaml"), *args, runs_dir=runs)
    (run_dir,) = run_dirs(runs, experiment)
    return run_dir


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    return train(tmp_path_factory, "iris_mlp", "--trainer.max_epochs", "15")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_make_predict_on_a_csv_scales_like_training_and_adds_only_its_file(iris_run, tmp_path):
    rows = read_csv(BUNDLED_CSV)
    shuffled = tmp_path / "flowers.csv"  # columns in another order, an extra column
    with shuffled.open("w", newline="") as file:
        writer = csv.DictWriter(
            file, ["id", "petal_width", "species", "sepal_length", "petal_length", "sepal_width"]
        )
        writer.writeheader()
        writer.writerows({"id": i, **row} for i, row in enumerate(rows))
    before = snapshot(iris_run)
    result = subprocess.run(
        ["make", "--no-print-directory", "predict", f"RUN={iris_run}", f"INPUT={shuffled}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "first 10 of 150 predictions" in result.stdout
    assert set(snapshot(iris_run)) - set(before) == {str(iris_run / "predictions.csv")}
    predictions = read_csv(iris_run / "predictions.csv")
    assert list(predictions[0]) == [
        "input",
        "prediction",
        "probability",
        "prob_setosa",
        "prob_versicolor",
        "prob_virginica",
    ]
    assert [p["input"] for p in predictions[:2]] == ["flowers.csv:2", "flowers.csv:3"]
    for p in predictions:
        probs = [float(p[f"prob_{name}"]) for name in ("setosa", "versicolor", "virginica")]
        assert sum(probs) == pytest.approx(1, abs=2e-4) and float(p["probability"]) == max(probs)
    correct = sum(p["prediction"] == row["species"] for p, row in zip(predictions, rows, strict=True))
    assert correct / len(rows) > 0.9

    # The same probabilities as the model gives the DataModule's own scaled rows.
    predictor = load_run(iris_run)
    data = IrisDataModule()
    scaled = torch.cat([data.splits[s].tensors["inputs"] for s in ("train", "val", "test")])
    raw = scaled * data.scaling["std"] + data.scaling["mean"]
    expected = predictor.task(scaled).softmax(-1)
    assert torch.allclose(predictor.probabilities(raw.tolist()), expected, atol=1e-5)


def test_load_run_takes_rows_as_lists_or_dicts(iris_run):
    predictor = load_run(iris_run, checkpoint="last")
    flower = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    by_name, by_order = predictor.predict([flower]), predictor.predict([list(flower.values())])
    assert by_name == by_order
    assert by_name[0]["prediction"] == "setosa"
    assert set(by_name[0]["probabilities"]) == {"setosa", "versicolor", "virginica"}
    with pytest.raises(UserError, match="each input needs 4 features"):
        predictor.predict([[1.0, 2.0]])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "is empty; it needs a header row"),
        ("sepal_length,sepal_width\n1,2\n", "lacks feature column(s) petal_length, petal_width"),
        ("sepal_length,sepal_width,petal_length,petal_width\n", "has a header but no rows"),
        (
            "sepal_length,sepal_width,petal_length,petal_width\n1,2,x,4\n",
            "in.csv:2: column 'petal_length' is 'x'",
        ),
    ],
)
def test_a_bad_input_file_is_one_line(content, words, iris_run, tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        predict_run([str(iris_run), "--input", str(source)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_a_folder_that_cannot_predict_is_one_line(iris_run, tmp_path, capsys):
    no_checkpoints = tmp_path / "copy"
    shutil.copytree(iris_run, no_checkpoints, ignore=shutil.ignore_patterns("*.ckpt"))
    for folder, words in ((tmp_path, "is not a run folder"), (no_checkpoints, "no best checkpoint")):
        with pytest.raises(SystemExit):
            predict_run([str(folder), "--input", str(BUNDLED_CSV)])
        assert words in capsys.readouterr().err


def save_png(image: torch.Tensor, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.numpy()).save(path)
    return path


def test_fashion_images_are_normalised_with_the_runs_statistics(fashion_root, tmp_path_factory, tmp_path):
    run_dir = train(
        tmp_path_factory,
        "fashion_mnist_mlp",
        "--trainer.max_epochs",
        "1",
        *SHORT,
        "--data.init_args.data_dir",
        str(fashion_root),
        "--data.init_args.val_size",
        "200",
    )
    images, _ = patterned_images(5, seed=7)
    paths = [
        save_png(image, tmp_path / "new" / ("deeper" if i > 2 else "") / f"{i}.png")
        for i, image in enumerate(images)
    ]
    (tmp_path / "new" / "notes.txt").write_text("not an image")
    predictor = load_run(run_dir)
    _, rows = predictor.predict_file(tmp_path / "new", tmp_path / "out.csv")
    assert sorted(row[0] for row in rows[1:]) == sorted(map(str, paths))  # recursive, images only

    data = FashionMNISTDataModule(data_dir=str(fashion_root), val_size=200)
    data.setup("fit")  # the same training split, so the same mean and std
    norm = data.normalization
    expected = predictor.task(((images.float() / 255 - norm["mean"]) / norm["std"]).unsqueeze(1)).softmax(-1)
    assert torch.allclose(predictor.probabilities(paths), expected, atol=1e-5)


@pytest.fixture(scope="module")
def shapes_run(shapes_root, tmp_path_factory) -> Path:
    return train(
        tmp_path_factory,
        "shapes_cnn",
        "--trainer.max_epochs",
        "1",
        *SHORT,
        "--data.init_args.data_dir",
        str(shapes_root),
    )


def test_images_from_a_file_a_folder_or_a_list(shapes_run, shapes_root, tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    picked = [next((shapes_root / name).iterdir()) for name in ("circle", "square", "triangle")]
    for index, path in enumerate(picked):  # one at the top, the others a level down
        shutil.copy(path, (folder / "nested" if index else folder) / f"{index}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{picked[0]}\n\n# a comment\n{picked[1]}\n")
    predictor = load_run(shapes_run)

    one = predictor.probabilities([picked[0]])
    _, from_list = predictor.predict_file(listing, tmp_path / "l.csv")
    assert [row[0] for row in from_list[1:]] == [str(picked[0]), str(picked[1])]
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image\(s\): .*broken.png"):
        _, from_folder = predictor.predict_file(folder, tmp_path / "f.csv")
    assert len(from_folder) == 1 + 3
    assert torch.allclose(predictor.probabilities([Image.open(picked[0])]), one)  # PIL images too

    predictor.datamodule.hparams.on_corrupt = "error"
    with pytest.raises(UserError, match=r"unreadable image: .*broken\.png"):
        predictor.predict_file(folder, tmp_path / "f.csv")
    for source, words in (
        (tmp_path / "none", "predict input not found"),
        (tmp_path / "empty", "holds no image files"),
    ):
        (tmp_path / "empty").mkdir(exist_ok=True)
        with pytest.raises(UserError, match=words):
            predictor.predict_file(source, tmp_path / "x.csv")


def test_texts_from_lines_csv_or_jsonl_agree(negation_csv, tmp_path_factory, tmp_path):
    run_dir = train(
        tmp_path_factory,
        "text_bilstm",
        "--trainer.max_epochs",
        "1",
        *SHORT,
        "--data.init_args.path",
        str(negation_csv),
    )
    texts = ["the film was not good", "a truly great story", "never boring"]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n\n")
    with (tmp_path / "in.csv").open("w", newline="") as file:
        csv.writer(file).writerows([["id", "text"], *[[i, t] for i, t in enumerate(texts)]])
    (tmp_path / "in.jsonl").write_text(
        "".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(texts))
    )
    predictor = load_run(run_dir)
    results = [
        predictor.predict_file(tmp_path / name, tmp_path / f"{name}.out")[1]
        for name in ("in.txt", "in.csv", "in.jsonl")
    ]
    assert results[0] == results[1] == results[2]
    assert [row[0] for row in results[0][1:]] == texts
    assert torch.allclose(predictor.probabilities(texts[:1]), predictor.probabilities(texts)[:1], atol=1e-6)
    (tmp_path / "bad.csv").write_text("id,review\n1,fine\n")
    with pytest.raises(UserError, match=r"no column .text. .*columns found: id, review"):
        predictor.predict_file(tmp_path / "bad.csv", tmp_path / "x.csv")
