"""The statistics of repeated runs (constructed samples, no training), the group's plan (seeds,
folds, members) and the stratified cross-validation folds its members train on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from lightlab.data.splits import split_for_run, stratified_fold
from lightlab.errors import UserError
from lightlab.repeats.plan import check_folds, plan, read_seeds
from lightlab.repeats.stats import (
    compare_paired,
    compare_unpaired,
    exact_sign_flip_p,
    higher_is_better,
)
from lightlab.run.groups import describe

A = [0.90, 0.95, 0.85, 0.92, 0.88]
LOW = [0.30, 0.31, 0.29, 0.30, 0.32]
HIGH = [0.50, 0.52, 0.49, 0.51, 0.50]
NOISE = "no difference beyond seed noise at n = 5"


# --- the test of two samples ---------------------------------------------------------------------


@pytest.mark.parametrize("compare", [compare_paired, compare_unpaired])
def test_identical_samples_are_seed_noise(compare):
    result = compare("test/acc", A, list(A))
    assert result.verdict == NOISE
    assert result.difference == 0
    assert result.p_value == 1.0


@pytest.mark.parametrize("compare", [compare_paired, compare_unpaired])
@pytest.mark.parametrize(
    ("metric", "a", "b", "verdict"),
    [
        ("test/acc", LOW, HIGH, "B better"),  # accuracy: higher is better
        ("test/acc", HIGH, LOW, "A better"),
        ("val/loss", LOW, HIGH, "A better"),  # a loss: lower is better, B's is higher
        ("val/loss", HIGH, LOW, "B better"),
    ],
)
def test_separated_samples_honour_the_metrics_direction(compare, metric, a, b, verdict):
    result = compare(metric, a, b)
    assert result.verdict == verdict
    assert result.difference == pytest.approx(np.mean(b) - np.mean(a))
    assert result.p_value < 0.05
    low, high = result.interval
    assert low <= result.difference <= high
    assert (low > 0) == (np.mean(b) > np.mean(a)) and (high < 0) == (np.mean(b) < np.mean(a))


def test_higher_is_better_only_a_loss_is_minimised():
    assert not higher_is_better("val/loss") and not higher_is_better("test/loss")
    assert higher_is_better("test/acc") and higher_is_better("val/f1") and higher_is_better("val/acc")


def test_pairing_finds_a_small_consistent_gain_that_welch_calls_noise():
    jitter = [0.001, -0.001, 0.0005, -0.0005, 0.0]
    b = [a + 0.01 + j for a, j in zip(A, jitter, strict=True)]
    paired, unpaired = compare_paired("test/acc", A, b), compare_unpaired("test/acc", A, b)
    assert paired.paired and paired.test == "paired t" and paired.verdict == "B better"
    assert paired.p_value < 1e-3
    assert paired.interval[0] > 0  # B - A is above zero for every seed
    assert paired.permutation_p == pytest.approx(2 / 32)  # all five pairs positive
    assert not unpaired.paired and unpaired.test == "Welch t" and unpaired.verdict == NOISE
    assert unpaired.p_value > 0.5 and unpaired.interval[0] < 0 < unpaired.interval[1]
    # The same p-values scipy gives for the two tests.
    assert paired.p_value == pytest.approx(stats.ttest_rel(b, A).pvalue)
    assert unpaired.p_value == pytest.approx(stats.ttest_ind(b, A, equal_var=False).pvalue)


def test_exact_sign_flip_p_of_five_positive_pairs():
    assert exact_sign_flip_p(np.array([0.01, 0.02, 0.005, 0.03, 0.01])) == pytest.approx(2 / 32)
    # One negative pair of five: the flips at least as extreme are 4 of 32 (2 each side).
    assert exact_sign_flip_p(np.array([0.02, 0.02, 0.02, 0.02, -0.01])) == pytest.approx(4 / 32)


@pytest.mark.parametrize("compare", [compare_paired, compare_unpaired])
def test_a_single_run_allows_no_conclusion(compare):
    result = compare("test/acc", [0.90], [0.99])
    assert "no conclusion" in result.verdict and "single run" in result.verdict
    assert result.p_value is None and result.interval is None and result.n == 1
    assert result.difference == pytest.approx(0.09)


def test_a_single_run_on_one_side_of_welch_allows_no_conclusion():
    result = compare_unpaired("test/acc", A, [0.99])
    assert "no conclusion" in result.verdict and result.p_value is None


# --- one sample's description --------------------------------------------------------------------


def test_describe_gives_the_mean_the_spread_and_students_interval():
    described = describe(A)
    mean, std = float(np.mean(A)), float(np.std(A, ddof=1))
    assert described["n"] == 5
    assert described["mean"] == pytest.approx(mean)
    assert described["std"] == pytest.approx(std)
    assert described["std"] > float(np.std(A))  # n - 1, not n
    assert described["min"] == 0.85 and described["max"] == 0.95
    low, high = stats.t.interval(0.95, 4, loc=mean, scale=std / math.sqrt(5))
    assert described["ci95"] == pytest.approx([low, high])
    assert described["ci95"][0] < mean < described["ci95"][1]


def test_describe_of_one_value_has_no_spread():
    described = describe([0.93])
    assert described == {"n": 1, "mean": 0.93, "std": None, "min": 0.93, "max": 0.93, "ci95": None}


def test_describe_of_equal_values_has_a_zero_width_interval():
    described = describe([0.5, 0.5, 0.5])
    assert described["std"] == 0 and described["ci95"] == [0.5, 0.5]


# --- the group's plan ----------------------------------------------------------------------------


def test_a_count_of_seeds_counts_from_the_first():
    assert read_seeds("5", first=42) == [42, 43, 44, 45, 46]
    assert read_seeds("1", first=0) == [0]


@pytest.mark.parametrize("text", ["3 7 11", "3,7,11", " 3, 7 ,11 "])
def test_a_list_of_seeds_is_those_seeds(text):
    assert read_seeds(text, first=42) == [3, 7, 11]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0", "1 or more"),
        ("-1", "1 or more"),
        ("abc", "not a count or a list of integers"),
        ("3 3", "names a seed twice"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_bad_seeds_are_one_user_error_naming_seeds(text, words):
    with pytest.raises(UserError, match="SEEDS") as error:
        read_seeds(text, first=0)
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_fewer_than_two_folds_is_a_user_error_naming_folds():
    with pytest.raises(UserError, match=r"FOLDS=1\b.*at least 2 folds"):
        check_folds(1)
    check_folds(None)
    check_folds(2)


def test_the_plan_is_every_fold_of_each_seed_in_turn():
    members = plan([1, 2], 3)
    assert [m.name for m in members] == [
        "fold-0-seed-1",
        "fold-1-seed-1",
        "fold-2-seed-1",
        "fold-0-seed-2",
        "fold-1-seed-2",
        "fold-2-seed-2",
    ]
    assert [(m.seed, m.fold) for m in members[:2]] == [(1, 0), (1, 1)]
    assert [m.name for m in plan([5, 3], None)] == ["seed-5", "seed-3"]


# --- stratified folds ----------------------------------------------------------------------------


def labelled(counts: list[int], seed: int = 0) -> torch.Tensor:
    """Targets with ``counts[k]`` samples of class k, in a shuffled order."""
    targets = torch.cat([torch.full((count,), label) for label, count in enumerate(counts)])
    return targets[torch.randperm(len(targets), generator=torch.Generator().manual_seed(seed))]


TARGETS = labelled([13, 9, 6])
POOL = torch.arange(2, len(TARGETS))  # not every sample: the pool indexes into the targets


def folds_of(pool: torch.Tensor, folds: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [stratified_fold(TARGETS, pool, folds, fold, seed) for fold in range(folds)]


def test_every_sample_of_the_pool_is_held_out_exactly_once():
    cut = folds_of(POOL, 4, seed=7)
    held_out = torch.cat([held for _, held in cut])
    assert sorted(held_out.tolist()) == POOL.tolist()  # each once: no repeats, none missing
    for train, held in cut:
        assert set(train.tolist()).isdisjoint(held.tolist())
        assert sorted(train.tolist() + held.tolist()) == POOL.tolist()
        assert torch.equal(train, torch.sort(train).values) and torch.equal(held, torch.sort(held).values)


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_each_class_is_dealt_evenly_over_the_folds(folds):
    cut = folds_of(POOL, folds, seed=1)
    pool_labels = TARGETS[POOL]
    for label in torch.unique(pool_labels).tolist():
        per_fold = [int((TARGETS[held] == label).sum()) for _, held in cut]
        assert max(per_fold) - min(per_fold) <= 1, (label, per_fold)
        assert sum(per_fold) == int((pool_labels == label).sum())


def test_the_same_seed_gives_the_same_folds():
    first, again = folds_of(POOL, 3, seed=11), folds_of(POOL, 3, seed=11)
    for (train, held), (train_again, held_again) in zip(first, again, strict=True):
        assert torch.equal(train, train_again) and torch.equal(held, held_again)
    other = folds_of(POOL, 3, seed=12)
    assert any(not torch.equal(one[1], two[1]) for one, two in zip(first, other, strict=True))


def test_more_folds_than_the_smallest_class_has_samples_is_refused():
    smallest = int(torch.bincount(TARGETS[POOL]).min())
    stratified_fold(TARGETS, POOL, smallest, 0, seed=0)  # as many folds as it has samples is fine
    with pytest.raises(ValueError, match=rf"folds={smallest + 1}\b.*at most {smallest} folds"):
        stratified_fold(TARGETS, POOL, smallest + 1, 0, seed=0)


@pytest.mark.parametrize("fold", [-1, 3, 4])
def test_a_fold_out_of_range_is_refused(fold):
    with pytest.raises(ValueError, match=rf"fold={fold}\b.*3 folds"):
        stratified_fold(TARGETS, POOL, 3, fold, seed=0)


def test_fewer_than_two_folds_is_refused():
    with pytest.raises(ValueError, match="folds=1"):
        stratified_fold(TARGETS, POOL, 1, 0, seed=0)


def test_folds_keep_the_test_split_and_re_cut_train_and_val():
    targets = labelled([50, 50, 50], seed=3)
    train, val, test = split_for_run(targets, 0.2, 0.2, seed=5)
    assert split_for_run(targets, 0.2, 0.2, seed=5, folds=None, fold=3)[2].tolist() == test.tolist()
    pool = sorted(train.tolist() + val.tolist())
    held_out = []
    for fold in range(5):
        fold_train, fold_val, fold_test = split_for_run(targets, 0.2, 0.2, seed=5, folds=5, fold=fold)
        assert torch.equal(fold_test, test)
        assert sorted(fold_train.tolist() + fold_val.tolist()) == pool
        assert set(fold_val.tolist()).isdisjoint(test.tolist())
        held_out += fold_val.tolist()
    assert sorted(held_out) == pool  # every train+val sample validates once
