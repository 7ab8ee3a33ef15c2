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
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as st

ArrayLike = Sequence[float] | np.ndarray | pd.Series

HIGH_IS_GOOD = "HIGH_IS_GOOD"
LOW_IS_GOOD = "LOW_IS_GOOD"
NO_JUDGEMENT = "NO_JUDGEMENT"
POLARITIES = (HIGH_IS_GOOD, LOW_IS_GOOD, NO_JUDGEMENT)

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


def byars_ci_array(count: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Poisson limits for counts: exact below 10, Byar's approximation from 10.

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
        small = safe < EXACT_POISSON_BELOW
        # exact (chi-square) limits
        ex_lower = np.where(
            safe > 0, st.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(safe, 1e-300)) / 2.0, 0.0
        )
        ex_upper = st.chi2.ppf(1.0 - alpha / 2.0, 2.0 * safe + 2.0) / 2.0
        # Byar's approximation (evaluated on a safe copy to avoid warnings for small x)
        bx = np.where(small, EXACT_POISSON_BELOW, safe)
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


def dsr(
    counts: ArrayLike,
    populations: ArrayLike,
    standard_populations: ArrayLike,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Directly standardised rate with the Dobson confidence interval: (value, lower, upper).

    Why: age-standardised rates are how OHID compares areas with different age structures. Inputs
    are per standardisation band (e.g. age band), all in the same order.

    Method (as ``phe_dsr``), with O = total count, w_i standard population, n_i local population:
        DSR  = sum(w_i x_i / n_i) / sum(w_i)
        var  = sum(w_i^2 x_i / n_i^2) / sum(w_i)^2
        limit = DSR + sqrt(var / O) * (O_limit - O)
    where O_limit are the Poisson limits of O from ``byars_ci``.

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
    total_w = w.sum()
    if not total_w > 0:
        raise ValueError("standard populations must sum to more than zero")
    ratio = np.divide(w, n, out=np.zeros_like(w), where=n > 0)
    value = float(np.sum(ratio * x) / total_w)
    var = float(np.sum(ratio**2 * x) / total_w**2)
    total = float(x.sum())
    if total == 0:
        return (0.0, 0.0, math.nan)
    o_lower, o_upper = byars_ci(total, confidence)
    k = math.sqrt(var / total)
    lower = value + k * (o_lower - total)
    upper = value + k * (o_upper - total)
    return (value * multiplier, max(lower, 0.0) * multiplier, upper * multiplier)


# --------------------------------------------------------------------------- means


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean with a Student's t interval: (mean, lower, upper); NaNs are ignored.

    Why: for indicators that are means of patient-level values (e.g. a score), as ``phe_mean``:
    ``mean +/- t(1 - alpha/2, n - 1) * sd / sqrt(n)``. Fewer than 2 values -> NaN limits.

    References
    ----------
    Student. The probable error of a mean. Biometrika 1908;6:1-25.
    PHEindicatormethods::phe_mean.
    """
    _z(confidence)
    v = _as_float_array(values).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, math.nan, math.nan)
    half = (
        float(st.t.ppf(0.5 + confidence / 2.0, v.size - 1))
        * float(v.std(ddof=1))
        / math.sqrt(v.size)
    )
    return (m, m - half, m + half)


# --------------------------------------------------------------------------- inequality


def _relative_ranks(populations: np.ndarray) -> np.ndarray:
    """Midpoint of each group's share in the cumulative population (0 = most deprived end)."""
    share = populations / populations.sum()
    return np.cumsum(share) - share / 2.0


def _wls_fit(values: np.ndarray, share: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Intercept and slope of a population-weighted least-squares fit, for 1-d or 2-d ``values``.

    ``values`` may be (k,) or (reps, k); returns (2,) or (reps, 2) [intercept, slope]. Equivalent to
    phe_sii's ``lm(sqrt(a) * y ~ sqrt(a) + b * sqrt(a) - 1)``.
    """
    rbar = np.sum(share * rank)
    sxx = np.sum(share * (rank - rbar) ** 2)
    ybar = values @ share
    slope = ((values - ybar[..., None]) * (share * (rank - rbar))).sum(axis=-1) / sxx
    intercept = ybar - slope * rbar
    return np.stack([intercept, slope], axis=-1)


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
        rng = np.random.default_rng(seed)
        centre = _to_link(y, value_type)
        sims = _from_link(rng.normal(centre, s, size=(repetitions, y.size)), value_type)
        fits = _wls_fit(sims, share, rank)
        sim_index = index(fits[:, 0], fits[:, 1])
        alpha = 1.0 - confidence
        lo_q, hi_q = np.nanquantile(sim_index, [alpha / 2.0, 1.0 - alpha / 2.0])
        method = f"simulation {repetitions} reps (seed {seed})"
        return Estimate(point, float(lo_q), float(hi_q), confidence, method)

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
      for a given ``seed``. method = "simulation ...".
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
    )


# --------------------------------------------------------------------------- benchmarking


def compare_with_benchmark(
    value: float, lower: float, upper: float, benchmark: float, polarity: str
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
    for item in (value, lower, upper, benchmark):
        if item is None or (isinstance(item, float) and math.isnan(item)) or pd.isna(item):
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
