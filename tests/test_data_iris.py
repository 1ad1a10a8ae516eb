import pytest
import torch

from lightlab.data import IrisDataModule
from lightlab.data.splits import stratified_split
from lightlab.errors import UserError


@pytest.fixture(scope="module")
def iris() -> IrisDataModule:
    return IrisDataModule()


def _indices(dm: IrisDataModule, split: str) -> set[tuple[float, ...]]:
    inputs = dm.splits[split].tensors["inputs"]
    return {tuple(row.tolist()) for row in inputs}


def test_sizes_and_classes(iris):
    assert iris.num_features == 4
    assert iris.num_classes == 3
    assert iris.class_names == ["setosa", "versicolor", "virginica"]
    assert [len(iris.splits[s]) for s in ("train", "val", "test")] == [90, 30, 30]


def test_every_split_is_stratified(iris):
    for split, per_class in (("train", 30), ("val", 10), ("test", 10)):
        counts = torch.bincount(iris.splits[split].tensors["target"], minlength=3)
        assert counts.tolist() == [per_class] * 3, split


def test_splits_do_not_overlap_and_cover_all_rows():
    targets = torch.arange(150) % 3
    train, val, test = stratified_split(targets, 0.2, 0.2, seed=0)
    combined = torch.cat([train, val, test])
    assert len(combined) == 150
    assert set(combined.tolist()) == set(range(150))


def test_split_depends_on_seed_only():
    targets = torch.arange(150) % 3
    first = stratified_split(targets, 0.2, 0.2, seed=3)
    again = stratified_split(targets, 0.2, 0.2, seed=3)
    other = stratified_split(targets, 0.2, 0.2, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[1], other[1])


def test_scaling_is_fitted_on_the_training_rows_only(iris):
    train = iris.splits["train"].tensors["inputs"]
    torch.testing.assert_close(train.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(train.std(0), torch.ones(4), atol=1e-5, rtol=0)
    # val/test are scaled with the training statistics, so they are not exactly standardised
    val = iris.splits["val"].tensors["inputs"]
    assert val.mean(0).abs().max() > 1e-3


def test_loader_yields_dict_batches_by_slicing(iris):
    batch = next(iter(iris.train_dataloader()))
    assert set(batch) == {"inputs", "target"}
    assert batch["inputs"].shape == (16, 4)
    assert batch["inputs"].dtype == torch.float32
    assert batch["target"].shape == (16,)
    seen = sum(len(b["target"]) for b in iris.val_dataloader())
    assert seen == 30


def test_training_order_is_shuffled_each_epoch(iris):
    torch.manual_seed(0)
    first = torch.cat([b["target"] for b in iris.train_dataloader()])
    second = torch.cat([b["target"] for b in iris.train_dataloader()])
    assert sorted(first.tolist()) == sorted(second.tolist())
    assert not torch.equal(first, second)


def test_missing_csv_names_the_file_and_the_flag(tmp_path):
    with pytest.raises(UserError, match=r"data file not found: .*nope\.csv .*--data\.csv_path"):
        IrisDataModule(csv_path=str(tmp_path / "nope.csv"))


def test_missing_label_column_lists_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1,2,x\n3,4,y\n")
    with pytest.raises(UserError, match=r"no column 'species' \(columns found: a, b, kind\)"):
        IrisDataModule(csv_path=str(path))


def test_non_numeric_feature_names_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,species\n1,x\noops,y\n")
    with pytest.raises(UserError, match=r"t\.csv:3: column '\w+' is '.*', not a finite number"):
        IrisDataModule(csv_path=str(path))
