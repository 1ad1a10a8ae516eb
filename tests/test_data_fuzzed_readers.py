"""Readers fed malformed files return valid data or raise the template's one-line ``UserError``,
never another exception. ``FUZZ_EXAMPLES=2000 make test`` runs a longer search."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from synthetic_data import claimed_size_png

from lightlab.data import ImageFolderDataModule
from lightlab.data.idx import read_idx
from lightlab.data.iris import read_labelled_csv
from lightlab.data.text_files import read_labelled_texts
from lightlab.errors import UserError

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", '"', '""', '"a,b"', "nan", "inf", "1e999", "-0", "5.1", "x" * 5000, "\x00", "é", "\ufeff"]
    ),
    st.floats(allow_nan=True).map(str),
)
line_endings = st.sampled_from(["\n", "\r\n", "\r"])
FIELD_BOUND = 4096  # below the 5000-character cell, so the bound on a field's length is searched too


@st.composite
def delimited_files(draw, delimiter: str, header: list[str]) -> bytes:
    """Tables that are nearly right: a (possibly altered) header, ragged rows, mixed line endings,
    odd quoting, then encoded in UTF-8, Latin-1 or UTF-16, or replaced by random bytes."""
    if draw(st.booleans()):
        header = draw(st.lists(st.sampled_from([*header, "", "x", header[0]]), max_size=6))
    rows = draw(st.lists(st.lists(cells, max_size=6), max_size=8))
    ending = draw(line_endings)
    text = ending.join(delimiter.join(row) for row in [header, *rows])
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # truncated mid-row
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "raw"]))
    if encoding == "raw":
        return draw(st.binary(max_size=300))
    return text.encode(encoding, errors="replace")


def write(data: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


@FUZZ
@given(data=st.one_of(delimited_files(",", ["text", "label"]), st.binary(max_size=200)))
def test_csv_text_reader(data):
    check_text(write(data, ".csv"))


@FUZZ
@given(data=delimited_files("\t", ["text", "label"]))
def test_tsv_text_reader(data):
    check_text(write(data, ".tsv"))


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["text", "label", "x"]), st.one_of(cells, st.integers(), st.none())
            ),
            st.text(max_size=30),
        ),
        max_size=6,
    ),
    ending=line_endings,
)
def test_jsonl_text_reader(lines, ending):
    import json

    body = ending.join(json.dumps(line) if isinstance(line, dict) else line for line in lines)
    check_text(write(body.encode("utf-8", errors="replace"), ".jsonl"))


def check_text(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            texts, labels = read_labelled_texts(path, "text", "label", max_field_chars=FIELD_BOUND)
        except UserError as error:
            assert "\n" not in str(error)
            return
    assert texts and len(texts) == len(labels)
    assert all(text.strip() for text in texts) and all(label.strip() for label in labels)
    assert all(len(text) <= FIELD_BOUND for text in texts)


@FUZZ
@given(data=st.one_of(delimited_files(",", ["a", "b", "species"]), st.binary(max_size=200)))
def test_numeric_csv_reader(data):
    path = write(data, ".csv")
    try:
        features, labels, names = read_labelled_csv(path, "species")
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert features.shape == (len(labels), len(names)) and features.isfinite().all()


@FUZZ
@given(data=st.binary(max_size=200), gzipped=st.booleans())
def test_idx_reader(data, gzipped):
    import gzip

    path = write(gzip.compress(data) if gzipped else data, ".idx")
    try:
        array = read_idx(path)
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert array.numel() == len(data) - 4 - 4 * array.dim()


@FUZZ
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["cat", "dog", "cat/deeper"]),
            st.sampled_from(["a.png", "b.jpg", "c.PNG", "d.txt", "e.gif"]),
            st.one_of(st.binary(max_size=64), st.just(b""), st.just("valid"), st.just("huge")),
        ),
        max_size=8,
    ),
    on_corrupt=st.sampled_from(["skip", "error"]),
)
@pytest.mark.filterwarnings("ignore")
def test_image_folder_scanner(files, on_corrupt):
    root = Path(tempfile.mkdtemp()) / "images"
    root.mkdir()
    for folder, name, content in files:
        (root / folder).mkdir(parents=True, exist_ok=True)
        if content == "valid":
            Image.new("RGB", (6, 6), (90, 0, 0)).save(root / folder / f"{name}.png")
        elif content == "huge":  # a header claiming more pixels than the bound, checked before decoding
            (root / folder / f"{name}.png").write_bytes(claimed_size_png(7, 7))
        else:
            (root / folder / name).write_bytes(content)
    dm = ImageFolderDataModule(
        root=str(root), val_fraction=0.0, test_fraction=0.0, on_corrupt=on_corrupt, max_image_pixels=40
    )
    try:
        dm.setup("fit")
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert dm.class_names and dm.samples["train"]
    assert all(Path(path).is_file() for path, _ in dm.samples["train"])
    assert all(Image.open(path).size == (6, 6) for path, _ in dm.samples["train"])
