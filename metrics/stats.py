"""Confidence intervals and summary statistics, following OHID/PHE technical guidance.

Why this module exists: every figure the dashboard publishes next to a Fingertips indicator must
be computed the same way Fingertips computes it, so the methods mirror the PHEindicatormethods R
package (``phe_proportion``, ``phe_rate``, ``phe_dsr``, ``phe_mean``, ``phe_sii``). Everything here
is pure (numbers in, numbers out) so it can be unit tested and reused by the results refresh.

Scales: proportions are on the 0-1 scale; rates are per ``multiplier`` (default 100,000).
Confidence is a fraction in (0, 1), e.g. 0.95 or 0.998.

Deprivation ranking (SII/RII): inputs are ordered IMD quintile 1 (most deprived) first. The
relative rank runs from 0 at the most deprived end to 1 at the least deprived end, so
``SII = fitted(least deprived) - fitted(most deprived)`` and
``RII = fitted(least deprived) / fitted(most deprived)`` -- exactly as ``phe_sii``. A positive SII
therefore means the value is higher in less deprived areas (e.g. life expectancy); a negative SII
means it is higher in more deprived areas (e.g. most mortality and admission rates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, TypeAlias

import numpy as np
import pandas as pd
from scipy import stats as st

ArrayLike: TypeAlias = Sequence[float] | np.ndarray | pd.Series

HIGH_IS_GOOD = "HIGH_IS_GOOD"
LOW_IS_GOOD = "LOW_IS_GOOD"
NO_JUDGEMENT = "NO_JUDGEMENT"
POLARITIES = (HIGH_IS_GOOD, LOW_IS_GOOD, NO_JUDGEMENT)

#: The two levels stored with every result (Fingertips: 95% and 99.8%) and their columns.
CONFIDENCE_LEVELS = ((0.95, "lower_ci", "upper_ci"), (0.998, "lower_ci_998", "upper_ci_998"))
LIMIT_COLUMNS = tuple(c for _level, lo, hi in CONFIDENCE_LEVELS for c in (lo, hi))
#: How each catalogue interval method is described in stored rows and downloads (as Fingertips).
INTERVAL_METHODS: dict[str, str | None] = {
    "wilson": "Wilson score",
    "byar": "Byar's method (exact Poisson below 10 events)",
    "dobson": "Dobson method (Byar's / exact Poisson)",
    "t": "Student's t",
    "none": None,
}

#: Below this count the Poisson limits are exact (chi-square) rather than Byar's, as ``phe_rate``.
EXACT_POISSON_BELOW = 10


class Estimate(NamedTuple):
    """A point estimate with its confidence interval and the method that produced it."""

    value: float
    lower: float
    upper: float
    confidence: float
    method: str


# --------------------------------------------------------------------------- helpers


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile; validates ``confidence`` once for every method."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a fraction in (0, 1), got {confidence!r}")
    return float(st.norm.ppf(0.5 + confidence / 2.0))


def _as_float_array(x: ArrayLike | float) -> np.ndarray:
    return np.asarray(x, dtype=float)


# --------------------------------------------------------------------------- proportions


def wilson_ci_array(
    num: ArrayLike, den: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson score limits for proportions (0-1 scale).

    Why: the results refresh computes ~1e5 intervals at once; a Python loop is too slow.
    Rows with a zero or missing denominator, or a missing numerator, give NaN limits. Numerator 0
    gives lower exactly 0 and numerator == denominator gives upper exactly 1 (the formula is exact
    there; we pin the values to remove floating-point dust).

    Raises ValueError if any numerator or denominator is negative or numerator > denominator.

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 1927;22:209-212.
    Newcombe RG, Altman DG. Proportions and their differences. In: Altman DG et al. (eds).
    Statistics with confidence (2nd edn). London: BMJ Books; 2000:46-48.
    PHEindicatormethods::phe_proportion (wilson_lower / wilson_upper).
    """
    z = _z(confidence)
    x = _as_float_array(num)
    n = _as_float_array(den)
    x, n = np.broadcast_arrays(x, n)
    with np.errstate(invalid="ignore"):
        if np.any(x < 0) or np.any(n < 0):
            raise ValueError("numerators and denominators must be >= 0")
        if np.any(x > n):
            raise ValueError("numerator must not exceed denominator for a proportion")
        valid = (n > 0) & ~np.isnan(x)
        safe_n = np.where(valid, n, 1.0)
        safe_x = np.where(valid, x, 0.0)
        z2 = z * z
        root = z * np.sqrt(z2 + 4.0 * safe_x * (1.0 - safe_x / safe_n))
        denom = 2.0 * (safe_n + z2)
        lower = (2.0 * safe_x + z2 - root) / denom
        upper = (2.0 * safe_x + z2 + root) / denom
    lower = np.where(safe_x == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(safe_x == safe_n, 1.0, np.clip(upper, 0.0, 1.0))
    lower = np.where(valid, lower, np.nan)
    upper = np.where(valid, upper, np.nan)
    return lower, upper


def wilson_ci(
    numerator: float, denominator: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a proportion, as ``phe_proportion`` (0-1 scale).

    Why Wilson: it behaves well near 0 and 1 and for small denominators, unlike the normal
    approximation. Denominator 0 -> (nan, nan).

    References
    ----------
    Wilson EB. J Am Stat Assoc 1927;22:209-212.
    Newcombe RG, Altman DG. Statistics with confidence (2nd edn). BMJ Books; 2000:46-48.
    PHEindicatormethods::phe_proportion.
    """
    lower, upper = wilson_ci_array(np.array([numerator]), np.array([denominator]), confidence)
    return float(lower[0]), float(upper[0])


# --------------------------------------------------------------------------- counts and rates


def byars_ci_array(count: ArrayLike, confidence: float = 0.95,
                   exact_below: float = EXACT_POISSON_BELOW) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Poisson limits for counts: exact below 10, Byar's approximation from 10.

    ``exact_below`` moves the switch where a national specification says so (NHS Digital's
    CCG OIS 2.6 uses exact limits below 389).

    Why the switch: this is what ``phe_rate`` does -- Byar's approximation is poor for small
    counts, so counts < 10 use the exact limits from the chi-square distribution:
    ``lower = chi2.ppf(alpha/2, 2x) / 2`` (0 when x == 0), ``upper = chi2.ppf(1 - alpha/2, 2x + 2) / 2``.
    For x >= 10: ``lower = x (1 - 1/(9x) - z/(3 sqrt x))^3``,
    ``upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``. NaN counts give NaN limits.

    Raises ValueError for negative counts.

    References
    ----------
    Breslow NE, Day NE. Statistical methods in cancer research, volume II: the design and analysis
    of cohort studies. Lyon: IARC; 1987 (Byar's method).
    Armitage P, Berry G. Statistical methods in medical research (4th edn). Oxford: Blackwell; 2002
    (exact Poisson limits).
    PHEindicatormethods::phe_rate, byars_lower, byars_upper.
    """
    z = _z(confidence)
    alpha = 1.0 - confidence
    x = _as_float_array(count)
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.any(x < 0):
            raise ValueError("counts must be >= 0")
        nan = np.isnan(x)
        safe = np.where(nan, 0.0, x)
        small = safe < exact_below
        # exact (chi-square) limits
        ex_lower = np.where(
            safe > 0, st.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(safe, 1e-300)) / 2.0, 0.0
        )
        ex_upper = st.chi2.ppf(1.0 - alpha / 2.0, 2.0 * safe + 2.0) / 2.0
        # Byar's approximation (evaluated on a safe copy to avoid warnings for small x)
        bx = np.where(small, max(exact_below, 1.0), safe)
        by_lower = bx * (1.0 - 1.0 / (9.0 * bx) - z / (3.0 * np.sqrt(bx))) ** 3
        bx1 = bx + 1.0
        by_upper = bx1 * (1.0 - 1.0 / (9.0 * bx1) + z / (3.0 * np.sqrt(bx1))) ** 3
    lower = np.where(small, ex_lower, by_lower)
    upper = np.where(small, ex_upper, by_upper)
    lower = np.where(nan, np.nan, lower)
    upper = np.where(nan, np.nan, upper)
    return lower, upper


def byars_ci(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence limits for a Poisson count: exact when count < 10, otherwise Byar's method.

    Why: the building block of ``rate_ci`` and the Dobson DSR interval, matching ``phe_rate``.
    Count 0 -> (0, 3.689) at 95% (= chi2.ppf(0.975, 2) / 2).

    References
    ----------
    Breslow NE, Day NE. Statistical methods in cancer research, vol II. Lyon: IARC; 1987.
    Armitage P, Berry G. Statistical methods in medical research (4th edn). Blackwell; 2002.
    PHEindicatormethods::phe_rate.
    """
    lower, upper = byars_ci_array(np.array([count]), confidence)
    return float(lower[0]), float(upper[0])


def rate_ci(
    count: float,
    denominator: float,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Crude rate per ``multiplier`` with exact/Byar's limits: returns (value, lower, upper).

    Why: the convenience the catalogue uses for crude rates; the limits are the count limits from
    ``byars_ci`` divided by the denominator. Denominator <= 0 or NaN -> all NaN.

    References
    ----------
    Breslow NE, Day NE. Statistical methods in cancer research, vol II. Lyon: IARC; 1987.
    Armitage P, Berry G. Statistical methods in medical research (4th edn). Blackwell; 2002.
    PHEindicatormethods::phe_rate.
    """
    if denominator is None or not denominator > 0 or count is None or math.isnan(count):
        return (math.nan, math.nan, math.nan)
    lower, upper = byars_ci(count, confidence)
    scale = multiplier / denominator
    return (count * scale, lower * scale, upper * scale)


def dobson_ci_array(
    value: ArrayLike, variance: ArrayLike, count: ArrayLike, confidence: float = 0.95,
    exact_below: float = EXACT_POISSON_BELOW,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Dobson limits for a weighted sum of Poisson counts (a DSR), unscaled.

    ``limit = value + sqrt(variance / O) * (O_limit - O)`` with O the total count and O_limit its
    exact/Byar's Poisson limits (``byars_ci_array``); lower limits are floored at 0. O == 0 gives
    lower 0 and upper NaN (the interval is 0/0); NaN inputs give NaN.

    References
    ----------
    Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Stat Med 1991;10:457-462.
    PHEindicatormethods::phe_dsr.
    """
    v = _as_float_array(value)
    var = _as_float_array(variance)
    o = _as_float_array(count)
    lo_o, hi_o = byars_ci_array(o, confidence, exact_below)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.sqrt(var / np.where(o > 0, o, np.nan))
        lower = np.maximum(v + k * (lo_o - o), 0.0)
        upper = v + k * (hi_o - o)
    lower = np.where(o == 0, np.where(np.isnan(v), np.nan, 0.0), lower)
    return lower, upper


def dsr_by_group(
    groups: pd.DataFrame,
    counts: ArrayLike,
    populations: ArrayLike,
    standard_populations: ArrayLike,
    *,
    total_standard: float | None = None,
    multiplier: float = 100_000,
    confidence: float = 0.95,
    exact_below: float = EXACT_POISSON_BELOW,
    levels: Sequence[tuple[float, str, str]] | None = None,
) -> pd.DataFrame:
    """Directly standardised rates with Dobson limits for many groups at once (one row per band).

    Why: the results refresh standardises ~1e4 groups; this is the one DSR implementation, also
    behind ``dsr``. ``groups`` holds the key columns (one row per group x standardisation band),
    aligned with ``counts``, ``populations`` and ``standard_populations``. Per group, as
    ``phe_dsr``: ``DSR = sum(w_i x_i / n_i) / W``, ``var = sum(w_i^2 x_i / n_i^2) / W^2``, Dobson
    limits on the group's events. ``W`` is ``total_standard`` (default: the sum of each group's
    own weights). PHE rule (``calculate_dsr``: every denominator must be > 0): a group with a band
    that has events but no population has no DSR (NaN; its events stay in ``numerator``); a band
    with neither adds a rate of 0. Groups with no population get NaN. Returns the keys plus
    numerator, denominator, value, lower_ci and upper_ci (value and limits per ``multiplier``);
    with ``levels`` ((confidence, lower column, upper column), ...) the limits of each level
    instead, from one pass over the bands.
    """
    x = np.nan_to_num(_as_float_array(counts), nan=0.0)
    n = np.nan_to_num(_as_float_array(populations), nan=0.0)
    w = _as_float_array(standard_populations)
    has_pop = n > 0
    safe = np.where(has_pop, n, 1.0)
    keys = list(groups.columns)
    # Each group numbered once (in order of first appearance), then summed over the numbers: the
    # key columns are not copied beside the sums (a million bands at full size).
    codes = groups.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    work = pd.DataFrame({
        "_x": x, "_n": n, "_w": w,
        "_wr": np.where(has_pop, w * x / safe, 0.0),
        "_wv": np.where(has_pop, w**2 * x / safe**2, 0.0),
        "_undefined": ~has_pop & (x > 0),
    })
    sums = work.groupby(codes, sort=True).agg(
        numerator=("_x", "sum"), denominator=("_n", "sum"), wr=("_wr", "sum"), wv=("_wv", "sum"),
        undefined=("_undefined", "any"), w=("_w", "sum"),
    )
    del work
    first = np.unique(codes, return_index=True)[1]
    g = groups.iloc[first].reset_index(drop=True)
    for col in ("numerator", "denominator"):
        g[col] = sums[col].to_numpy()
    total_w = sums["w"].to_numpy() if total_standard is None else np.full(len(g), float(total_standard))
    ok = (sums["denominator"].to_numpy() > 0) & ~sums["undefined"].to_numpy()
    value = np.where(ok, sums["wr"].to_numpy() / total_w, np.nan)
    var = np.where(ok, sums["wv"].to_numpy() / total_w**2, np.nan)
    g["value"] = value * multiplier
    out = [*keys, "numerator", "denominator", "value"]
    for level, lo_col, hi_col in levels or ((confidence, "lower_ci", "upper_ci"),):
        lower, upper = dobson_ci_array(value, var, g["numerator"].to_numpy(), level, exact_below)
        g[lo_col], g[hi_col] = lower * multiplier, upper * multiplier
        out += [lo_col, hi_col]
    return g[out]


def dsr(
    counts: ArrayLike,
    populations: ArrayLike,
    standard_populations: ArrayLike,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Directly standardised rate with the Dobson confidence interval: (value, lower, upper).

    Why: age-standardised rates are how OHID compares areas with different age structures. Inputs
    are per standardisation band (e.g. age band), all in the same order. One group of
    ``dsr_by_group`` (the method is described there), after checking the inputs.

    Differences from ``phe_dsr`` (documented on purpose):
    * ``phe_dsr`` returns NA when O < 10. We still return the numbers (using the exact Poisson
      limits of ``byars_ci`` for O < 10) and leave the "do not show a DSR on fewer than 10
      events" rule to ``metrics.disclosure`` (``min_dsr_count``), so there is one rule in one place.
    * O == 0 returns (0.0, 0.0, nan): the Dobson interval is undefined (0/0) with no events.
    * Bands with zero population and zero count contribute nothing; a zero population with a
      non-zero count raises ValueError. NaN counts are treated as 0 (``na.zero`` in ``phe_dsr``).

    References
    ----------
    Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for weighted sums of Poisson
    parameters. Stat Med 1991;10:457-462.
    Breslow NE, Day NE. Statistical methods in cancer research, vol II. Lyon: IARC; 1987.
    PHEindicatormethods::phe_dsr.
    """
    _z(confidence)
    x = np.nan_to_num(_as_float_array(counts), nan=0.0)
    n = _as_float_array(populations)
    w = _as_float_array(standard_populations)
    if not (x.shape == n.shape == w.shape) or x.ndim != 1:
        raise ValueError(
            "counts, populations and standard_populations must be 1-d and equal length"
        )
    if np.any(x < 0) or np.any(n < 0) or np.any(w < 0) or np.isnan(n).any() or np.isnan(w).any():
        raise ValueError(
            "counts, populations and standard populations must be >= 0 and not missing"
        )
    if np.any((n == 0) & (x > 0)):
        raise ValueError("a band has events but zero population")
    if not w.sum() > 0:
        raise ValueError("standard populations must sum to more than zero")
    row = dsr_by_group(pd.DataFrame({"g": np.zeros(x.size, dtype=int)}), x, n, w,
                       multiplier=multiplier, confidence=confidence).iloc[0]
    return (float(row["value"]), float(row["lower_ci"]), float(row["upper_ci"]))


# --------------------------------------------------------------------------- person-clustered rates
#: How person-clustered caseload-rate intervals are described in stored rows.
CLUSTERED_METHOD = "Person-clustered (sandwich) log-normal"


def clustered_rate_ci_array(
    events: ArrayLike, time: ArrayLike, resid_ss: ArrayLike, people: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Person-clustered (sandwich) log-normal limits of rates ``events / time``, from group sums.

    Why: on INT caseloads a few high users account for most events, so treating every event as
    independent (Poisson, Byar's) makes the interval far too narrow. With per-person counts y_i and
    person-time t_i, R = sum y / sum t and the robust variance of log R is
    n/(n-1) * sum (y_i - R t_i)^2 / (sum y)^2 (``resid_ss`` = sum (y_i - R t_i)^2 per group,
    ``people`` = n), which equals R's sandwich variance n/(n-1) sum (y_i - R t_i)^2 / T^2 over R^2:
    the HC1 sandwich of an intercept-only Poisson GLM with offset log(t) (R ``sandwich::vcovHC(...,
    type = "HC1")``; one row per person, so clustering by person is the same thing). Limits
    R exp(-/+ z se). NaN where there are no events, no person-time or fewer than 2 people.
    """
    y, t, ss, n = (_as_float_array(a) for a in (events, time, resid_ss, people))
    z = _z(confidence)
    ok = (y > 0) & (t > 0) & (n >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ok, y / np.where(t > 0, t, 1.0), np.nan)
        se_log = np.where(ok, np.sqrt(n / np.where(n > 1, n - 1, 1.0) * ss) / np.where(y > 0, y, 1.0), np.nan)
    return rate * np.exp(-z * se_log), rate * np.exp(z * se_log)


def clustered_rate_ci(y: ArrayLike, t: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Rate, lower and upper person-clustered limits from per-person counts ``y`` and times ``t``."""
    y, t = _as_float_array(y), _as_float_array(t)
    total, T = float(y.sum()), float(t.sum())
    rate = total / T if T > 0 else math.nan
    ss = float(np.sum((y - rate * t) ** 2)) if T > 0 else math.nan
    lo, hi = clustered_rate_ci_array([total], [T], [ss], [len(y)], confidence)
    return rate, float(lo[0]), float(hi[0])


def clustered_rate_ratio_ci(y0: ArrayLike, y1: ArrayLike, t0: ArrayLike, t1: ArrayLike,
                            confidence: float = 0.95) -> tuple[float, float]:
    """Person-clustered (sandwich) log-normal interval for the rate ratio (sum y1/sum t1)/(sum y0/sum t0).

    Why: pre and post are paired within people, so the two log rates' influences are combined per
    person before squaring: u_i = (y1_i - R1 t1_i)/sum y1 - (y0_i - R0 t0_i)/sum y0, variance
    n/(n-1) sum u_i^2 (the same sandwich as ``clustered_rate_ci_array``). NaN when either total is
    0 or fewer than 2 people.
    """
    y0, y1, t0, t1 = (_as_float_array(a) for a in (y0, y1, t0, t1))
    n = len(y0)
    s0, s1, T0, T1 = y0.sum(), y1.sum(), t0.sum(), t1.sum()
    if n < 2 or s0 <= 0 or s1 <= 0 or T0 <= 0 or T1 <= 0:
        return math.nan, math.nan
    u = (y1 - s1 / T1 * t1) / s1 - (y0 - s0 / T0 * t0) / s0
    se = math.sqrt(n / (n - 1) * float(np.sum(u**2)))
    z = _z(confidence)
    log_rr = math.log((s1 / T1) / (s0 / T0))
    return math.exp(log_rr - z * se), math.exp(log_rr + z * se)


def clustered_phi(value: float, upper: float, denominator: float, multiplier: float = 1.0,
                  confidence: float = 0.95) -> float:
    """Variance inflation of a person-clustered rate over Poisson, from its stored limits.

    Why: the funnel of a caseload rate widens Poisson limits by BSol's own person-level
    over-dispersion: phi = var_robust(R) / (R / T), with se(R) = R ln(upper / R) / z (log-normal
    limits). NaN when undefined.
    """
    rate, up = value / multiplier, upper / multiplier
    if not (rate > 0 and up > rate and denominator > 0):
        return math.nan
    se = rate * math.log(up / rate) / _z(confidence)
    return se * se * denominator / rate


# --------------------------------------------------------------------------- means


def mean_ci_array(
    n: ArrayLike, total: ArrayLike, total_squares: ArrayLike, confidence: float = 0.95,
    lower_bound: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised mean with a Student's t interval from sufficient statistics: (mean, lower, upper).

    Why: the refresh aggregates in SQL to n, sum and sum of squares per group; this is the one
    mean-interval implementation (``mean_ci`` calls it). As ``phe_mean``:
    ``mean +/- t(1 - alpha/2, n - 1) * sd / sqrt(n)``. n < 2 -> NaN limits; n == 0 -> NaN mean.
    ``lower_bound`` floors the lower limit for quantities that cannot be lower (e.g. 0 days).

    References
    ----------
    Student. The probable error of a mean. Biometrika 1908;6:1-25.
    PHEindicatormethods::phe_mean.
    """
    _z(confidence)
    k = _as_float_array(n)
    s = _as_float_array(total)
    ss = _as_float_array(total_squares)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(k > 0, s / np.where(k > 0, k, 1.0), np.nan)
        var = np.clip((ss - s * s / np.where(k > 0, k, np.nan)) / np.where(k > 1, k - 1, np.nan), 0.0, None)
        t = st.t.ppf(0.5 + confidence / 2.0, np.where(k > 1, k - 1, 1.0))
        half = np.where(k > 1, t * np.sqrt(var) / np.sqrt(k), np.nan)
    lower = mean - half
    if lower_bound is not None:
        lower = np.where(np.isnan(lower), np.nan, np.maximum(lower, lower_bound))
    return mean, lower, mean + half


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean with a Student's t interval: (mean, lower, upper); NaNs are ignored.

    Why: for indicators that are means of patient-level values (e.g. a score), as ``phe_mean``;
    ``mean_ci_array`` on the values' count, sum and sum of squares. Fewer than 2 values -> NaN
    limits.

    References
    ----------
    Student. The probable error of a mean. Biometrika 1908;6:1-25.
    PHEindicatormethods::phe_mean.
    """
    v = _as_float_array(values).ravel()
    v = v[~np.isnan(v)]
    centred = v - (v.mean() if v.size else 0.0)  # centring keeps the sum of squares exact
    m, lo, hi = mean_ci_array(np.array([v.size]), np.array([centred.sum()]),
                              np.array([np.sum(centred**2)]), confidence)
    shift = float(v.mean()) if v.size else 0.0
    return (float(m[0]) + shift, float(lo[0]) + shift, float(hi[0]) + shift)


# --------------------------------------------------------------------------- inequality


def _relative_ranks(populations: np.ndarray) -> np.ndarray:
    """Midpoint of each group's share in the cumulative population (0 = most deprived end)."""
    share = populations / populations.sum()
    return np.cumsum(share) - share / 2.0


def _wls_fit(values: np.ndarray, share: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Intercept and slope of a population-weighted least-squares fit over the last axis.

    ``values`` may be (k,), (reps, k) or (groups, reps, k); ``share`` and ``rank`` broadcast
    against it. Returns [..., 2] = [intercept, slope]. Equivalent to phe_sii's
    ``lm(sqrt(a) * y ~ sqrt(a) + b * sqrt(a) - 1)``.
    """
    rbar = np.sum(share * rank, axis=-1, keepdims=True)
    sxx = np.sum(share * (rank - rbar) ** 2, axis=-1)
    ybar = np.sum(values * share, axis=-1)
    slope = np.sum((values - ybar[..., None]) * share * (rank - rbar), axis=-1) / sxx
    intercept = ybar - slope * rbar[..., 0]
    return np.stack(np.broadcast_arrays(intercept, slope), axis=-1)


def _to_link(y: np.ndarray, value_type: str) -> np.ndarray:
    if value_type == "rate":
        return np.log(y)
    if value_type == "proportion":
        return np.log(y / (1.0 - y))
    return y


def _from_link(y: np.ndarray, value_type: str) -> np.ndarray:
    if value_type == "rate":
        return np.exp(y)
    if value_type == "proportion":
        return 1.0 / (1.0 + np.exp(-y))
    return y


class InequalityArrays(NamedTuple):
    """SII and RII with simulated limits for many areas at once (one element per area)."""

    sii: np.ndarray
    sii_lower: np.ndarray
    sii_upper: np.ndarray
    rii: np.ndarray
    rii_lower: np.ndarray
    rii_upper: np.ndarray


def sii_simulated_array(
    values: np.ndarray,
    populations: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    se: np.ndarray | None = None,
    *,
    value_type: str = "normal",
    transform: bool = False,
    confidence: float = 0.95,
    input_confidence: float = 0.95,
    repetitions: int = 100_000,
    rng: np.random.Generator | None = None,
) -> InequalityArrays:
    """PHE's SII/RII for ``G`` areas x ``k`` ordered groups: (G, k) arrays in, (G,) arrays out.

    Why: the one implementation of ``phe_sii``'s simulated interval (``sii``/``rii`` call it for a
    single area; the refresh calls it for thousands). Groups are ordered most deprived first.
    Group values are drawn from normal distributions on the link scale (log for
    ``value_type='rate'``, logit for ``'proportion'``, none for ``'normal'``) with standard errors
    ``se`` or ``(link(upper) - link(lower)) / (2 z)`` at ``input_confidence`` (PHE: 95%).
    * ``transform=False``: draws are transformed back and the regression is fitted on the
      original scale (``phe_sii`` default).
    * ``transform=True`` (PHE's recommendation for rates and proportions): the regression is
      fitted on the link scale and the SII, RII and limits are transformed back about the
      mid-point: ``SII = inv(b0 + b1) - inv(b0)``, limits from the simulated link-scale slopes
      ``s``: ``inv(m + s/2) - inv(m - s/2)`` with ``m = b0 + b1/2``.
    Limits are the sorted simulated values at positions ``round(reps * alpha/2)`` and
    ``round(reps * (1 - alpha/2))`` (1-based), as ``SimulationFunc``. Areas with a missing value,
    limit or non-positive population get NaN.
    """
    _z(confidence)
    if value_type not in ("normal", "rate", "proportion"):
        raise ValueError("value_type must be 'normal', 'rate' or 'proportion'")
    if transform and value_type == "normal":
        raise ValueError("transform needs value_type 'rate' or 'proportion'")
    y = np.atleast_2d(_as_float_array(values))
    pop = np.atleast_2d(_as_float_array(populations))
    with np.errstate(divide="ignore", invalid="ignore"):
        if se is not None:
            sd = np.atleast_2d(_as_float_array(se))
        elif lower is not None and upper is not None:
            lo = _to_link(np.atleast_2d(_as_float_array(lower)), value_type)
            hi = _to_link(np.atleast_2d(_as_float_array(upper)), value_type)
            sd = (hi - lo) / (2.0 * _z(input_confidence))
        else:
            raise ValueError("the simulated interval needs se or both lower and upper")
        link = _to_link(y, value_type)
    if not (y.shape == pop.shape == sd.shape):
        raise ValueError("values, populations and limits must have the same shape")
    ok = ~(np.isnan(y) | np.isnan(pop) | (pop <= 0) | ~np.isfinite(sd) | (sd < 0)
           | ~np.isfinite(link)).any(axis=1)
    g_count = y.shape[0]
    out = {name: np.full(g_count, np.nan) for name in InequalityArrays._fields}
    if not ok.any():
        return InequalityArrays(**out)
    rng = rng or np.random.default_rng(1)
    alpha = 1.0 - confidence
    pos_lo = max(int(round(repetitions * alpha / 2.0)) - 1, 0)
    pos_hi = min(int(round(repetitions * (1.0 - alpha / 2.0))) - 1, repetitions - 1)
    inv = (lambda v: _from_link(v, value_type)) if transform else (lambda v: v)
    chunk = max(1, 2_000_000 // max(repetitions * y.shape[1], 1))
    for start in range(0, g_count, chunk):
        idx = np.flatnonzero(ok[start:start + chunk]) + start
        if idx.size == 0:
            continue
        share = pop[idx] / pop[idx].sum(axis=1, keepdims=True)
        rank = np.cumsum(share, axis=1) - share / 2.0
        fit_y = link[idx] if transform else y[idx]
        b0, b1 = _wls_fit(fit_y, share, rank).T
        draws = rng.normal(link[idx][:, None, :], sd[idx][:, None, :],
                           size=(idx.size, repetitions, y.shape[1]))
        if not transform:
            draws = _from_link(draws, value_type)
        # the same weighted least squares as _wls_fit, as two weighted sums per draw (the mean term
        # of the slope cancels because sum(share * (rank - rbar)) = 0)
        rbar = np.sum(share * rank, axis=1, keepdims=True)
        coef = share * (rank - rbar) / np.sum(share * (rank - rbar) ** 2, axis=1, keepdims=True)
        c1 = np.einsum("grk,gk->gr", draws, coef)
        with np.errstate(divide="ignore", invalid="ignore"):
            if transform:
                mid = b0 + b1 / 2.0
                slopes = np.partition(c1, (pos_lo, pos_hi), axis=1)
                s_lo, s_hi = slopes[:, pos_lo], slopes[:, pos_hi]
                out["sii"][idx] = inv(b0 + b1) - inv(b0)
                out["rii"][idx] = inv(b0 + b1) / inv(b0)
                out["sii_lower"][idx] = inv(mid + s_lo / 2) - inv(mid - s_lo / 2)
                out["sii_upper"][idx] = inv(mid + s_hi / 2) - inv(mid - s_hi / 2)
                out["rii_lower"][idx] = inv(mid + s_lo / 2) / inv(mid - s_lo / 2)
                out["rii_upper"][idx] = inv(mid + s_hi / 2) / inv(mid - s_hi / 2)
            else:
                c0 = np.einsum("grk,gk->gr", draws, share) - c1 * rbar
                slopes = np.partition(c1, (pos_lo, pos_hi), axis=1)
                riis = np.partition((c0 + c1) / c0, (pos_lo, pos_hi), axis=1)
                out["sii"][idx] = b1
                out["rii"][idx] = (b0 + b1) / b0
                out["sii_lower"][idx], out["sii_upper"][idx] = slopes[:, pos_lo], slopes[:, pos_hi]
                out["rii_lower"][idx], out["rii_upper"][idx] = riis[:, pos_lo], riis[:, pos_hi]
    return InequalityArrays(**out)


def _inequality(
    kind: str,
    values: ArrayLike,
    populations: ArrayLike,
    lower: ArrayLike | None,
    upper: ArrayLike | None,
    se: ArrayLike | None,
    value_type: str,
    confidence: float,
    input_confidence: float,
    repetitions: int,
    seed: int | None,
    transform: bool = False,
) -> Estimate:
    _z(confidence)
    if value_type not in ("normal", "rate", "proportion"):
        raise ValueError("value_type must be 'normal', 'rate' or 'proportion'")
    y = _as_float_array(values)
    pop = _as_float_array(populations)
    if y.shape != pop.shape or y.ndim != 1:
        raise ValueError("values and populations must be 1-d and of equal length")
    if y.size < 2:
        raise ValueError("at least two groups are needed for an inequality index")
    if np.isnan(y).any() or np.isnan(pop).any() or np.any(pop <= 0):
        return Estimate(math.nan, math.nan, math.nan, confidence, "not calculated: missing group")
    share = pop / pop.sum()
    rank = _relative_ranks(pop)
    b0, b1 = _wls_fit(y, share, rank)

    def index(intercept: np.ndarray, slope: np.ndarray) -> np.ndarray:
        if kind == "sii":
            return slope
        with np.errstate(divide="ignore", invalid="ignore"):
            return (intercept + slope) / intercept

    point = float(index(np.asarray(b0), np.asarray(b1)))

    if se is not None or (lower is not None and upper is not None):
        # PHE method: Monte Carlo on the group values, sampled on the link scale.
        if se is not None:
            s = _as_float_array(se)
        else:
            lo = _to_link(_as_float_array(lower), value_type)
            hi = _to_link(_as_float_array(upper), value_type)
            s = (hi - lo) / (2.0 * _z(input_confidence))
        if s.shape != y.shape or np.isnan(s).any() or np.any(s < 0):
            return Estimate(point, math.nan, math.nan, confidence, "not calculated: missing error")
        res = sii_simulated_array(y, pop, se=s, value_type=value_type, transform=transform,
                                  confidence=confidence, repetitions=repetitions,
                                  rng=np.random.default_rng(seed))
        point = float(res.sii[0] if kind == "sii" else res.rii[0])
        lo_q, hi_q = (res.sii_lower, res.sii_upper) if kind == "sii" else (res.rii_lower, res.rii_upper)
        kind_text = f"{value_type} values, {'link-scale fit' if transform else 'fit on original scale'}"
        method = f"simulation {repetitions} reps (seed {seed}; {kind_text})"
        return Estimate(point, float(lo_q[0]), float(hi_q[0]), confidence, method)

    # Analytic WLS: residual-based standard errors, t on k - 2 degrees of freedom.
    k = y.size
    if k < 3:
        return Estimate(point, math.nan, math.nan, confidence, "wls analytic")
    fitted = b0 + b1 * rank
    s2 = float(np.sum(share * (y - fitted) ** 2) / (k - 2))
    rbar = float(np.sum(share * rank))
    sxx = float(np.sum(share * (rank - rbar) ** 2))
    var_b1 = s2 / sxx
    var_b0 = s2 * (1.0 + rbar**2 / sxx)  # weights sum to 1
    cov01 = -s2 * rbar / sxx
    t = float(st.t.ppf(0.5 + confidence / 2.0, k - 2))
    if kind == "sii":
        half = t * math.sqrt(var_b1)
    else:
        # delta method for RII = 1 + b1 / b0
        g0 = -b1 / b0**2
        g1 = 1.0 / b0
        var = g0**2 * var_b0 + g1**2 * var_b1 + 2 * g0 * g1 * cov01
        half = t * math.sqrt(max(var, 0.0))
    return Estimate(point, point - half, point + half, confidence, "wls analytic")


def sii(
    values: ArrayLike,
    populations: ArrayLike,
    *,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    se: ArrayLike | None = None,
    value_type: str = "normal",
    confidence: float = 0.95,
    input_confidence: float = 0.95,
    repetitions: int = 100_000,
    seed: int | None = 1,
    transform: bool = False,
) -> Estimate:
    """Slope index of inequality across ordered deprivation groups (e.g. IMD quintiles).

    Why: the headline absolute-inequality measure in OHID profiles. Groups must be ordered most
    deprived first (IMD quintile 1 first). Each group gets the midpoint of its share of the
    cumulative population as its relative rank (0 = most deprived end, 1 = least deprived end);
    the value is regressed on rank by population-weighted least squares.

    Sign convention: ``SII = fitted(rank 1) - fitted(rank 0)`` = least deprived minus most
    deprived, as ``phe_sii``. Positive when values rise as deprivation falls.

    Confidence interval:
    * If ``se`` or both ``lower`` and ``upper`` (at ``input_confidence``) are given -- the PHE
      method: seeded Monte Carlo (``repetitions`` draws; values simulated on the log scale for
      ``value_type='rate'`` and logit for ``'proportion'``), percentile interval. Deterministic
      for a given ``seed``. method = "simulation ...". ``transform=True`` fits on the log/logit
      scale, as PHE recommends for rates and proportions (see ``sii_simulated_array``).
    * Otherwise an analytic WLS interval from the residual variance with t on k-2 df
      (method = "wls analytic"). This reflects lack of linear fit, not sampling error of the
      group values, so prefer supplying limits.

    Any missing value or non-positive population returns NaNs (as phe_sii drops the area).

    References
    ----------
    Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
    J Public Health 2004;26:388-395.
    PHEindicatormethods::phe_sii.
    """
    return _inequality(
        "sii",
        values,
        populations,
        lower,
        upper,
        se,
        value_type,
        confidence,
        input_confidence,
        repetitions,
        seed,
        transform,
    )


def rii(
    values: ArrayLike,
    populations: ArrayLike,
    *,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    se: ArrayLike | None = None,
    value_type: str = "normal",
    confidence: float = 0.95,
    input_confidence: float = 0.95,
    repetitions: int = 100_000,
    seed: int | None = 1,
    transform: bool = False,
) -> Estimate:
    """Relative index of inequality: ``fitted(least deprived) / fitted(most deprived)``.

    Why: the relative companion of the SII, as ``phe_sii(rii = TRUE)``: RII = (b0 + SII) / b0 with
    b0 the fitted value at rank 0 (most deprived end). RII > 1 means higher values in less
    deprived areas. Same inputs and interval options as ``sii``; the analytic interval uses the
    delta method on the WLS coefficients.

    References
    ----------
    Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
    J Public Health 2004;26:388-395.
    PHEindicatormethods::phe_sii.
    """
    return _inequality(
        "rii",
        values,
        populations,
        lower,
        upper,
        se,
        value_type,
        confidence,
        input_confidence,
        repetitions,
        seed,
        transform,
    )


# --------------------------------------------------------------------------- benchmarking


def compare_with_benchmark(
    value: float | None, lower: float | None, upper: float | None, benchmark: float | None, polarity: str
) -> str:
    """Fingertips-style significance comparison of an interval against a benchmark.

    Why: drives the RAG colouring of tiles. If the interval lies wholly above/below the benchmark
    the difference is significant: "better"/"worse" by ``polarity`` ("HIGH_IS_GOOD",
    "LOW_IS_GOOD") or "higher"/"lower" for "NO_JUDGEMENT"; an interval that contains (or touches)
    the benchmark is "similar". Any NaN/None input -> "not compared".

    References
    ----------
    Public Health England. Technical guide: confidence intervals / Fingertips "compared with
    benchmark" (comparison of the 95% confidence interval with the benchmark value).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if value is None or lower is None or upper is None or benchmark is None \
            or any(pd.isna(item) for item in (value, lower, upper, benchmark)):
        return "not compared"
    if lower > benchmark:
        direction = "higher"
    elif upper < benchmark:
        direction = "lower"
    else:
        return "similar"
    if polarity == NO_JUDGEMENT:
        return direction
    good = (direction == "higher") == (polarity == HIGH_IS_GOOD)
    return "better" if good else "worse"


class Comparison(NamedTuple):
    """A comparison with a benchmark and the level at which it holds.

    ``result`` is ``compare_with_benchmark`` on the 95% interval; ``level`` is 0.998 when the 99.8%
    interval also excludes the benchmark, 0.95 when only the 95% one does, None when similar or not
    compared (Fingertips shows both levels; 99.8% is the stricter, fewer false alarms).
    """

    result: str
    level: float | None


#: The level in words, as pages and packs say it beside the comparison.
COMPARISON_LEVEL_WORDS: dict[float, str] = {0.998: "99.8%", 0.95: "95% only"}


def level_suffix(level: float | None) -> str:
    """' (99.8%)', ' (95% only)' or '' (similar, not compared)."""
    return f" ({COMPARISON_LEVEL_WORDS[level]})" if level in COMPARISON_LEVEL_WORDS else ""


def compare_levels(value: float | None, lower95: float | None, upper95: float | None,
                   lower998: float | None, upper998: float | None, benchmark: float | None,
                   polarity: str) -> Comparison:
    """Compare at 95% and 99.8% at once: the one comparison the scorecard, grids and charts use."""
    result = compare_with_benchmark(value, lower95, upper95, benchmark, polarity)
    if result in ("similar", "not compared"):
        return Comparison(result, None)
    strict = compare_with_benchmark(value, lower998, upper998, benchmark, polarity)
    return Comparison(result, 0.998 if strict == result else 0.95)


def compare_levels_array(value: ArrayLike, lower95: ArrayLike, upper95: ArrayLike, lower998: ArrayLike,
                         upper998: ArrayLike, benchmark: ArrayLike, polarity: str) -> tuple[np.ndarray, np.ndarray]:
    """``compare_levels`` over arrays (NaN for a missing input): (results, levels; NaN level where
    the comparison holds at no level). Why: a page compares thousands of rows; one rule either way."""
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    v, b = np.asarray(value, dtype=float), np.asarray(benchmark, dtype=float)

    def direction(lo: ArrayLike, hi: ArrayLike) -> np.ndarray:
        lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        missing = np.isnan(v) | np.isnan(lo_a) | np.isnan(hi_a) | np.isnan(b)
        with np.errstate(invalid="ignore"):
            out = np.where(lo_a > b, "higher", np.where(hi_a < b, "lower", "similar"))
        return np.where(missing, "not compared", out).astype(object)

    def judged(d: np.ndarray) -> np.ndarray:
        if polarity == NO_JUDGEMENT:
            return d
        good, bad = ("higher", "lower") if polarity == HIGH_IS_GOOD else ("lower", "higher")
        return np.where(d == good, "better", np.where(d == bad, "worse", d)).astype(object)

    result, strict = judged(direction(lower95, upper95)), judged(direction(lower998, upper998))
    decided = ~np.isin(result, ["similar", "not compared"])
    level = np.where(decided, np.where(strict == result, 0.998, 0.95), np.nan)
    return result, level


def compare_row(row: object, benchmark: float | None, polarity: str) -> Comparison:
    """``compare_levels`` on a result row (mapping or Series with the stored limit columns)."""
    get = getattr(row, "get", None)

    def num(col: str) -> float | None:
        v = get(col) if get is not None else None
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return None if math.isnan(f) else f

    lower95, upper95, lower998, upper998 = (num(c) for c in LIMIT_COLUMNS)
    return compare_levels(num("value"), lower95, upper95, lower998, upper998, benchmark, polarity)


# --------------------------------------------------------------------------- funnel plots

#: Funnel limits drawn around the benchmark: 95% ("2 sigma", p = 0.025 each side) and 99.8%
#: ("3 sigma", p = 0.001 each side), as PHEindicatormethods ``calculate_funnel_limits``.
FUNNEL_LEVELS = (0.95, 0.998)
DISPERSIONS = ("none", "multiplicative", "random_effects")


def funnel_proportion_limits(
    denominators: ArrayLike, average: float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits for a proportion (0-1) at each denominator: PHE's ``sigma_adjustment``.

    Why: the proportion at which a group of size n has its Wilson limit exactly on the average,
    i.e. the Wilson interval inverted, so a point lies outside the funnel exactly when its own
    Wilson interval excludes the average. Clipped to [0, 1] as ``calculate_funnel_limits``.

    References
    ----------
    PHEindicatormethods::calculate_funnel_limits (utils.R ``sigma_adjustment``).
    Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202.
    """
    z2 = _z(confidence) ** 2
    n = _as_float_array(denominators)
    a = float(average)
    with np.errstate(invalid="ignore", divide="ignore"):
        first = a * (n / z2 + 1)
        adj = np.sqrt((-8 * a * (n / z2 + 1)) ** 2
                      - 64 * (1 / z2 + 1 / n) * a * (n * (a * (n / z2 + 2) - 1) + z2 * (a - 1)))
        last = 1 / z2 + 1 / n
        lower = (first - adj / 8) / last / n
        upper = (first + adj / 8) / last / n
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def funnel_rate_limits(
    events: ArrayLike, average: float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Funnel limits for a rate, parameterised by the number of events O (PHE's method).

    Returns (lower_denominator, lower_rate, upper_denominator, upper_rate) per event count: the
    lower limit passes through rate O / D where D = exact_upper(O) / average (O's exact Poisson
    upper limit sits on the average); the upper limit through O / D with D = exact_lower(O) /
    average. Rates are per unit of denominator (multiply by the indicator's multiplier).
    ``poisson_funnel`` in PHEindicatormethods finds the same exact limits by bisection.

    References
    ----------
    PHEindicatormethods::calculate_funnel_limits (utils.R ``poisson_funnel``).
    """
    alpha = 1.0 - confidence
    _z(confidence)
    o = _as_float_array(events)
    exact_upper = st.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
    exact_lower = np.where(o > 0, st.chi2.ppf(alpha / 2, 2 * np.maximum(o, 1e-300)) / 2, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_low = exact_upper / average
        d_high = exact_lower / average
        return d_low, o / d_low, d_high, o / d_high


class Dispersion(NamedTuple):
    """Spiegelhalter's over-dispersion estimates from a set of areas.

    phi: winsorised mean squared z-score; overdispersed: I * phi > I - 1 (as Spiegelhalter 2005,
    the chi-square mean); tau2: additive random-effects variance (0 when not over-dispersed).
    """

    phi: float
    tau2: float
    overdispersed: bool
    n_areas: int


def _null_variance(kind: str, average: float, denominators: np.ndarray) -> np.ndarray:
    if kind == "proportion":
        return average * (1.0 - average) / denominators
    if kind == "rate":
        return average / denominators
    raise ValueError("kind must be 'proportion' or 'rate'")


def overdispersion(
    kind: str, values: ArrayLike, denominators: ArrayLike, average: float, winsor: float = 0.1
) -> Dispersion:
    """Estimate over-dispersion of areas around ``average`` (Spiegelhalter 2005, section 4).

    Why: registers and big practice totals have tiny sampling error, so exact limits flag most
    areas; the spread between areas that is not sampling error is estimated instead. ``values``
    are proportions (0-1) or rates per unit; z_i = (y_i - average) / s_i with the null standard
    error s_i (binomial or Poisson); z is winsorised at the ``winsor`` and 1 - ``winsor``
    quantiles; phi = mean(z_w^2); tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w) with
    w = 1 / s^2, floored at 0 (and 0 unless I phi > I - 1). Areas with NaN or non-positive
    denominators are ignored.

    References
    ----------
    Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care
    2005;14:347-351.
    """
    y = _as_float_array(values)
    n = _as_float_array(denominators)
    ok = ~np.isnan(y) & ~np.isnan(n) & (n > 0)
    y, n = y[ok], n[ok]
    k = y.size
    if k < 2:
        return Dispersion(math.nan, math.nan, False, k)
    var = _null_variance(kind, average, n)
    z = (y - average) / np.sqrt(var)
    lo, hi = np.quantile(z, [winsor, 1.0 - winsor])
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw**2))
    over = k * phi > k - 1
    w = 1.0 / var
    tau2 = max((k * phi - (k - 1)) / (w.sum() - np.sum(w**2) / w.sum()), 0.0) if over else 0.0
    return Dispersion(phi, float(tau2), bool(over), k)


def funnel_normal_limits(
    kind: str, denominators: ArrayLike, average: float, confidence: float, method: str,
    dispersion: Dispersion,
) -> tuple[np.ndarray, np.ndarray]:
    """Over-dispersed funnel limits (normal approximation, Spiegelhalter 2005).

    multiplicative: ``average +/- z sqrt(phi) s(n)``; random_effects (additive):
    ``average +/- z sqrt(s(n)^2 + tau^2)``; s(n) the null standard error. When the areas are not
    over-dispersed phi is taken as 1 and tau^2 as 0. Proportions are clipped to [0, 1].
    """
    if method not in ("multiplicative", "random_effects"):
        raise ValueError(f"method must be 'multiplicative' or 'random_effects', got {method!r}")
    z = _z(confidence)
    var = _null_variance(kind, average, _as_float_array(denominators))
    if method == "multiplicative":
        half = z * np.sqrt(var * (dispersion.phi if dispersion.overdispersed else 1.0))
    else:
        half = z * np.sqrt(var + (dispersion.tau2 if dispersion.overdispersed else 0.0))
    lower, upper = average - half, average + half
    if kind == "proportion":
        return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    return np.maximum(lower, 0.0), upper


def funnel_position(
    value: ArrayLike, lower95: ArrayLike, upper95: ArrayLike, lower998: ArrayLike, upper998: ArrayLike
) -> np.ndarray:
    """Where each point lies against its funnel: 'High (0.001)', 'High (0.025)', 'Low (0.001)',
    'Low (0.025)' or 'Not significant' (PHE ``assign_funnel_significance`` labels); NaN -> ''."""
    v = _as_float_array(value)
    out = np.full(v.shape, "Not significant", dtype=object)
    with np.errstate(invalid="ignore"):
        out[v > _as_float_array(upper95)] = "High (0.025)"
        out[v > _as_float_array(upper998)] = "High (0.001)"
        out[v < _as_float_array(lower95)] = "Low (0.025)"
        out[v < _as_float_array(lower998)] = "Low (0.001)"
    out[np.isnan(v)] = ""
    return out
