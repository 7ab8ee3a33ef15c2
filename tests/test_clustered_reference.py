"""Person-clustered (sandwich) intervals against an independent implementation: statsmodels.

Reference: statsmodels 0.15.0 `GLM(..., family=Poisson(), offset=log(t)).fit(cov_type="cluster")`
(cluster-robust covariance, Cameron & Miller 2015, "A practitioner's guide to cluster-robust
inference", J. Human Resources 50(2)). Ours (`metrics.stats.clustered_rate_ci` and
`clustered_rate_ratio_ci`, behind the caseload rates m02/m03 and the pre/post rate ratios) is the
HC1 sandwich with the small-sample factor n/(n-1) over people; statsmodels' default factor for
clusters is G/(G-1) x (N-1)/(N-K), so the comparison takes its uncorrected covariance
(`use_correction=False`) times n/(n-1): the sandwich itself is then compared exactly. There is no
published test table for these intervals (issue 12); a second implementation is the next best.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import norm

from metrics.stats import clustered_rate_ci, clustered_rate_ci_array, clustered_rate_ratio_ci


def _people(seed: int, n: int) -> tuple[np.ndarray, ...]:
    """Over-dispersed per-person counts (a few high users), pre and post times of differing lengths."""
    rng = np.random.default_rng(seed)
    t0, t1 = rng.uniform(0.2, 1.0, n), rng.uniform(0.05, 1.0, n)
    need = rng.gamma(0.5, 4.0, n)
    return rng.poisson(need * t0).astype(float), rng.poisson(0.7 * need * t1).astype(float), t0, t1


def _glm(y: np.ndarray, x: np.ndarray, t: np.ndarray, groups: np.ndarray, people: int, column: int,
         confidence: float) -> tuple[float, float]:
    fit = sm.GLM(y, x, family=sm.families.Poisson(), offset=np.log(t)).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    b, se = float(fit.params[column]), float(fit.bse[column]) * math.sqrt(people / (people - 1))
    z = float(norm.ppf(0.5 + confidence / 2))
    return math.exp(b - z * se), math.exp(b + z * se)


@pytest.mark.parametrize(("seed", "n", "confidence"), [(1, 12, 0.95), (3, 150, 0.95), (5, 400, 0.998)])
def test_rate_interval_is_statsmodels_cluster_robust_poisson(seed: int, n: int, confidence: float) -> None:
    y, _y1, t, _t1 = _people(seed, n)
    rate, lo, hi = clustered_rate_ci(y, t, confidence)
    ref_lo, ref_hi = _glm(y, np.ones((n, 1)), t, np.arange(n), n, 0, confidence)
    assert rate == pytest.approx(y.sum() / t.sum(), rel=1e-12)
    assert (lo, hi) == (pytest.approx(ref_lo, rel=1e-9), pytest.approx(ref_hi, rel=1e-9))
    # the stored (group-sum) form gives the same limits
    ss = float(np.sum((y - rate * t) ** 2))
    a_lo, a_hi = clustered_rate_ci_array([y.sum()], [t.sum()], [ss], [n], confidence)
    assert (a_lo[0], a_hi[0]) == (pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12))


@pytest.mark.parametrize(("seed", "n", "confidence"), [(2, 20, 0.95), (4, 250, 0.95), (6, 250, 0.998)])
def test_rate_ratio_interval_is_statsmodels_cluster_robust_poisson(seed: int, n: int, confidence: float) -> None:
    """Pre and post rows of each person in one model, clustered by person: the post coefficient's
    interval is the paired rate ratio's."""
    y0, y1, t0, t1 = _people(seed, n)
    x = np.column_stack([np.ones(2 * n), np.r_[np.zeros(n), np.ones(n)]])
    ref = _glm(np.r_[y0, y1], x, np.r_[t0, t1], np.r_[np.arange(n), np.arange(n)], n, 1, confidence)
    lo, hi = clustered_rate_ratio_ci(y0, y1, t0, t1, confidence)
    assert (lo, hi) == (pytest.approx(ref[0], rel=1e-9), pytest.approx(ref[1], rel=1e-9))


def test_clustered_limits_are_wider_than_poisson_on_high_users() -> None:
    """Why the sandwich: with a few high users the Poisson (Byar's-like) interval is far too narrow."""
    y, _y1, t, _t1 = _people(7, 300)
    rate, lo, hi = clustered_rate_ci(y, t)
    poisson_half_width = 1.96 * math.sqrt(y.sum()) / t.sum()
    assert (hi - lo) / 2 > 1.5 * poisson_half_width
