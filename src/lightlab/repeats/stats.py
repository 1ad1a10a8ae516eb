"""The statistics of repeated runs, through scipy.stats: a sample's mean, spread and Student's t
interval, and the test of two samples (paired by seed or fold, or Welch's when they are not)."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from lightlab.run.groups import CONFIDENCE

EXACT_PERMUTATION_UP_TO = 12  # pairs: 2**12 sign flips, all of them enumerated


def without_precision_notes(test: Callable[..., Difference]) -> Callable[..., Difference]:
    """``test`` without scipy's RuntimeWarning on nearly constant samples (iris' accuracies often
    are): the zero-spread case is handled on its own, and the note would only reach stderr."""

    @functools.wraps(test)
    def run(*args: object) -> Difference:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return test(*args)

    return run


def higher_is_better(metric: str) -> bool:
    """A loss is minimised; every other logged metric (acc, f1, precision, recall) is maximised."""
    return not metric.rsplit("/", 1)[-1].endswith("loss")


@dataclass(frozen=True)
class Difference:
    """B minus A on one metric: the estimate, its 95 % interval, the test's p-value and the verdict."""

    metric: str
    paired: bool
    n: int  # pairs when paired, else the smaller side
    difference: float
    interval: tuple[float, float] | None
    p_value: float | None
    test: str
    verdict: str
    permutation_p: float | None = None


def verdict_of(difference: float, p_value: float | None, metric: str, n: int) -> str:
    if p_value is None or math.isnan(p_value) or p_value >= 1 - CONFIDENCE:
        return f"no difference beyond seed noise at n = {n}"
    b_higher = difference > 0
    return "B better" if b_higher == higher_is_better(metric) else "A better"


def exact_sign_flip_p(differences: np.ndarray) -> float:
    """Two-sided p of the paired differences' mean under every sign flip (exact)."""
    result = stats.permutation_test(
        (differences,),
        np.mean,
        permutation_type="samples",
        n_resamples=np.inf,
        alternative="two-sided",
    )
    return float(result.pvalue)


def no_spread(values: np.ndarray) -> bool:
    """Every value the same, up to float rounding (accuracies on one test set often are)."""
    return bool(np.allclose(values, values[0], rtol=1e-9, atol=1e-12))


def relabelling_p(a: list[float], b: list[float]) -> float:
    """Two-sided p of the difference of means under every relabelling of the runs into A and B
    (exact for few runs, else 9 999 random ones)."""
    result = stats.permutation_test(
        (np.asarray(b, dtype=float), np.asarray(a, dtype=float)),
        lambda x, y: np.mean(x) - np.mean(y),
        permutation_type="independent",
        n_resamples=9999,
        alternative="two-sided",
        random_state=0,
    )
    return float(result.pvalue)


@without_precision_notes
def compare_paired(metric: str, a: list[float], b: list[float]) -> Difference:
    """Paired samples (the same seeds or folds on both sides, in the same order): a paired t-test
    on B - A, and for few pairs the exact sign-flip permutation test beside it."""
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n, mean = len(diffs), float(diffs.mean())
    if n < 2:
        return Difference(metric, True, n, mean, None, None, "none", single_run_verdict())
    test = "paired t"
    if no_spread(diffs):  # t is undefined (or float noise), the sign flips still count
        p = 1.0 if mean == 0 else exact_sign_flip_p(diffs)
        interval, test = (mean, mean), "sign-flip"
    else:
        result = stats.ttest_rel(b, a)
        p = float(result.pvalue)
        low, high = result.confidence_interval(CONFIDENCE)
        interval = (float(low), float(high))
    exact = exact_sign_flip_p(diffs) if n <= EXACT_PERMUTATION_UP_TO and np.any(diffs != 0) else None
    return Difference(metric, True, n, mean, interval, p, test, verdict_of(mean, p, metric, n), exact)


@without_precision_notes
def compare_unpaired(metric: str, a: list[float], b: list[float]) -> Difference:
    """Independent samples: Welch's t-test (no equal-variance assumption) on B - A."""
    n, mean = min(len(a), len(b)), float(np.mean(b) - np.mean(a))
    if n < 2:
        return Difference(metric, False, n, mean, None, None, "none", single_run_verdict())
    test = "Welch t"
    if no_spread(np.asarray(a)) and no_spread(np.asarray(b)):  # t is undefined; relabellings count
        p = 1.0 if mean == 0 else relabelling_p(a, b)
        interval, test = (mean, mean), "permutation"
    else:
        result = stats.ttest_ind(b, a, equal_var=False)
        p = float(result.pvalue)
        low, high = result.confidence_interval(CONFIDENCE)
        interval = (float(low), float(high))
    return Difference(metric, False, n, mean, interval, p, test, verdict_of(mean, p, metric, n))


def single_run_verdict() -> str:
    return "no conclusion from a single run: train a group with SEEDS=5"
