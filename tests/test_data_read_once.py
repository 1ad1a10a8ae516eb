"""Data files parsed once per process, and again when they change."""

from __future__ import annotations

import os

from lightlab.data import IrisDataModule
from lightlab.data.numeric_csv import read_labelled_csv
from lightlab.data.read_once import read_once


def test_a_file_is_parsed_once_until_it_changes(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n")
    first = read_once(read_labelled_csv, path, label_column="label")
    assert read_once(read_labelled_csv, path, label_column="label") is first
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new mtime, whatever the clock
    changed = read_once(read_labelled_csv, path, label_column="label")
    assert changed is not first and changed[1] == ["x", "y", "x"]


def test_data_modules_built_again_share_the_parse_and_keep_their_own_splits():
    a, b = IrisDataModule(), IrisDataModule(folds=3, fold=1)
    assert a.feature_names == b.feature_names
    # each split is its own tensor: scaling one DataModule's rows leaves the other's alone
    a.splits["train"].tensors["inputs"].mul_(0)
    assert b.splits["train"].tensors["inputs"].abs().sum() > 0
    assert IrisDataModule().splits["train"].tensors["inputs"].abs().sum() > 0
