"""Known-answer tests for metrics.stats (arithmetic for the expected values is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from metrics.stats import (
    Estimate,
    byars_ci,
    byars_ci_array,
    compare_with_benchmark,
    dsr,
    mean_ci,
    rate_ci,
    rii,
    sii,
    wilson_ci,
    wilson_ci_array,
)

Z95 = 1.959963984540054  # qnorm(0.975)


# --------------------------------------------------------------------------- Wilson


def test_wilson_20_of_100():
    # z^2 = 3.841459; 2x + z^2 = 43.841459; z * sqrt(z^2 + 4*20*(1 - 0.2)) = z * sqrt(67.841459)
    # = 1.959964 * 8.236593 = 16.143393; 2 * (n + z^2) = 207.682918
    # lower = (43.841459 - 16.143393) / 207.682918 = 0.133367
    # upper = (43.841459 + 16.143393) / 207.682918 = 0.288829
    lower, upper = wilson_ci(20, 100)
    assert lower == pytest.approx(0.133367, abs=1e-6)
    assert upper == pytest.approx(0.288829, abs=1e-6)


def test_wilson_zero_numerator_and_all():
    # x = 0: lower 0, upper = 2 z^2 / (2 (n + z^2)) = 3.841459 / 13.841459 = 0.277533
    lower, upper = wilson_ci(0, 10)
    assert lower == 0.0
    assert upper == pytest.approx(3.841459 / 13.841459, abs=1e-6)
    # x = n: upper 1, lower = n / (n + z^2) = 10 / 13.841459 = 0.722467
    lower, upper = wilson_ci(10, 10)
    assert upper == 1.0
    assert lower == pytest.approx(10 / 13.841459, abs=1e-6)


def test_wilson_tiny_and_zero_denominator():
    assert all(math.isnan(v) for v in wilson_ci(0, 0))
    lower, upper = wilson_ci(1, 1)
    assert upper == 1.0 and lower == pytest.approx(1 / (1 + Z95**2))


@pytest.mark.parametrize("num,den", [(-1, 10), (1, -1), (11, 10)])
def test_wilson_invalid(num, den):
    with pytest.raises(ValueError):
        wilson_ci(num, den)


def test_wilson_99_8_is_wider():
    l95, u95 = wilson_ci(20, 100)
    l998, u998 = wilson_ci(20, 100, confidence=0.998)
    assert l998 < l95 and u998 > u95


def test_wilson_array_matches_scalar_and_handles_missing():
    rng = np.random.default_rng(3)
    den = rng.integers(1, 5000, size=200).astype(float)
    num = np.floor(den * rng.random(200))
    lower, upper = wilson_ci_array(num, den)
    for i in range(0, 200, 17):
        assert (lower[i], upper[i]) == pytest.approx(wilson_ci(num[i], den[i]))
    lo, up = wilson_ci_array([np.nan, 0, 0], [10, 0, 5])
    assert np.isnan(lo[:2]).all() and np.isnan(up[:2]).all()
    assert lo[2] == 0.0


def test_wilson_array_is_fast_enough():
    den = np.full(100_000, 1000.0)
    num = np.arange(100_000) % 1000
    lower, upper = wilson_ci_array(num, den)
    assert lower.shape == (100_000,) and np.all(lower <= upper)


# --------------------------------------------------------------------------- Byar / exact


def test_byars_100():
    # lower = 100 (1 - 1/900 - z/30)^3 = 100 * 0.9335568^3 = 81.3621
    # upper = 101 (1 - 1/909 + z/(3 sqrt 101))^3 = 101 * 1.0639077^3 = 121.6279
    lower, upper = byars_ci(100)
    assert lower == pytest.approx(81.3621, abs=1e-3)
    assert upper == pytest.approx(121.6279, abs=1e-3)


# Exact 95% Poisson limits (standard tables, e.g. Garwood 1936 / Armitage & Berry).
EXACT_95 = {
    0: (0.0, 3.689),
    1: (0.0253, 5.572),
    2: (0.2422, 7.225),
    3: (0.6187, 8.767),
    4: (1.0899, 10.242),
    5: (1.6235, 11.668),
    6: (2.2019, 13.059),
    7: (2.8144, 14.423),
    8: (3.4538, 15.763),
    9: (4.1154, 17.085),
}


@pytest.mark.parametrize("count", range(10))
def test_exact_poisson_below_ten(count):
    lower, upper = byars_ci(count)
    assert lower == pytest.approx(EXACT_95[count][0], abs=1e-3)
    assert upper == pytest.approx(EXACT_95[count][1], abs=1e-3)
    # defining property of exact limits: P(X >= x | lower) = P(X <= x | upper) = 0.025
    if count > 0:
        assert st.poisson.sf(count - 1, lower) == pytest.approx(0.025, abs=1e-9)
    assert st.poisson.cdf(count, upper) == pytest.approx(0.025, abs=1e-9)


def test_byars_used_from_ten():
    # Byar at 10: 10 (1 - 1/90 - z/(3 sqrt 10))^3 = 4.7874 (exact would be 4.7954)
    lower, _ = byars_ci(10)
    assert lower == pytest.approx(4.7874, abs=1e-3)


def test_byars_array_and_errors():
    lower, upper = byars_ci_array(np.array([0, 5, 100, np.nan]))
    assert lower[0] == 0.0 and upper[0] == pytest.approx(3.6889, abs=1e-4)
    assert (lower[2], upper[2]) == pytest.approx(byars_ci(100))
    assert np.isnan(lower[3]) and np.isnan(upper[3])
    with pytest.raises(ValueError):
        byars_ci(-1)
    with pytest.raises(ValueError):
        byars_ci(5, confidence=95)


def test_rate_ci():
    # 100 events in 50,000: 200 per 100,000; limits = Byar limits * 2
    value, lower, upper = rate_ci(100, 50_000)
    assert value == pytest.approx(200.0)
    assert lower == pytest.approx(81.3621 * 2, abs=1e-2)
    assert upper == pytest.approx(121.6279 * 2, abs=1e-2)
    assert all(math.isnan(v) for v in rate_ci(3, 0))
    v, lo, up = rate_ci(0, 1000, multiplier=1000)
    assert (v, lo) == (0.0, 0.0) and up == pytest.approx(3.689, abs=1e-3)


# --------------------------------------------------------------------------- DSR


def _dobson_reference(x, n, w, conf=0.95):
    """Independent Dobson DSR (per 100,000) written straight from the published formula."""
    x, n, w = (np.asarray(a, float) for a in (x, n, w))
    z = st.norm.ppf(0.5 + conf / 2)
    value = np.sum(w * x / n) / np.sum(w)
    var = np.sum(w**2 * x / n**2) / np.sum(w) ** 2
    o = x.sum()
    o_lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    o_hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    k = np.sqrt(var / o)
    return value * 1e5, (value + k * (o_lo - o)) * 1e5, (value + k * (o_hi - o)) * 1e5


def test_dsr_matches_independent_dobson():
    x = [3, 12, 25, 40, 61]
    n = [4000, 5200, 3100, 1800, 900]
    w = [30000, 25000, 20000, 15000, 10000]
    assert dsr(x, n, w) == pytest.approx(_dobson_reference(x, n, w), rel=1e-10)


def test_dsr_value_by_hand():
    # rates 0.01 in every band -> DSR = 0.01 per person = 1000 per 100,000 whatever the weights
    value, lower, upper = dsr([10, 20, 30], [1000, 2000, 3000], [500, 300, 200])
    assert value == pytest.approx(1000.0)
    assert lower < value < upper


def test_dsr_equals_crude_rate_when_standard_matches_local():
    # weights proportional to local populations -> DSR = sum(x) / sum(n)
    x, n = [5, 10, 20], [1000, 2000, 4000]
    value, _, _ = dsr(x, n, [2, 4, 8])
    assert value == pytest.approx(35 / 7000 * 1e5)


def test_dsr_zero_and_small_counts():
    assert dsr([0, 0], [10, 10], [1, 1])[:2] == (0.0, 0.0)
    assert math.isnan(dsr([0, 0], [10, 10], [1, 1])[2])
    # total 3 < 10: exact Poisson limits of the total are used in the Dobson formula
    value, lower, upper = dsr([1, 2], [100, 100], [1, 1])
    o_lo, o_hi = byars_ci(3)
    var = (1 * 1 / 100**2 + 1 * 2 / 100**2) / 4
    k = math.sqrt(var / 3)
    assert value == pytest.approx(1500.0)
    assert lower == pytest.approx((0.015 + k * (o_lo - 3)) * 1e5)
    assert upper == pytest.approx((0.015 + k * (o_hi - 3)) * 1e5)


def test_dsr_tiny_and_invalid_populations():
    # an empty band (no people, no events) contributes nothing
    value, _, _ = dsr([0, 12], [0, 1000], [1, 1])
    assert value == pytest.approx(12 / 1000 / 2 * 1e5)
    with pytest.raises(ValueError):
        dsr([1, 12], [0, 1000], [1, 1])
    with pytest.raises(ValueError):
        dsr([1, 2], [10, 10, 10], [1, 1])


# --------------------------------------------------------------------------- mean


def test_mean_ci():
    # mean 2.5, sd 1.290994, se 0.645497, t(0.975, 3) = 3.182446 -> half width 2.054260
    value, lower, upper = mean_ci([1, 2, 3, 4, np.nan])
    assert value == 2.5
    assert (lower, upper) == pytest.approx((0.445740, 4.554260), abs=1e-6)
    assert math.isnan(mean_ci([7.0])[1])


# --------------------------------------------------------------------------- SII / RII


def test_sii_perfectly_linear_unequal_populations():
    # shares .1 .2 .3 .2 .2 -> cumulative .1 .3 .6 .8 1 -> midpoint ranks .05 .2 .45 .7 .9
    pops = [100, 200, 300, 200, 200]
    ranks = np.array([0.05, 0.2, 0.45, 0.7, 0.9])
    values = 5 + 50 * ranks  # fitted(0) = 5 (most deprived), fitted(1) = 55 (least deprived)
    result = sii(values, pops)
    assert isinstance(result, Estimate)
    assert result.value == pytest.approx(50.0)
    assert (result.lower, result.upper) == pytest.approx((50.0, 50.0), abs=1e-9)
    assert result.method == "wls analytic"
    assert rii(values, pops).value == pytest.approx(55 / 5)


def test_sii_sign_convention_higher_in_deprived_is_negative():
    # quintile 1 (most deprived) has the highest rate -> negative SII, RII < 1
    values = [500, 400, 300, 200, 100]
    pops = [1, 1, 1, 1, 1]
    # equal shares: ranks .1 .3 .5 .7 .9, slope -500 -> fitted(0) = 550, fitted(1) = 50
    assert sii(values, pops).value == pytest.approx(-500.0)
    assert rii(values, pops).value == pytest.approx(50 / 550)


def test_sii_analytic_interval_by_hand():
    # equal shares -> WLS is ordinary least squares on ranks .1 .3 .5 .7 .9:
    # slope = sum((r - .5)(y - 3)) / sum((r - .5)^2) = (0.8 + 0 + 0 + 0.4 + 0.4) / 0.4 = 4.0
    values = np.array([1, 3, 2, 5, 4.0])
    ranks = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    slope, intercept = np.polyfit(ranks, values, 1)  # equal weights -> ordinary least squares
    resid = values - (intercept + slope * ranks)
    se = math.sqrt(np.sum(resid**2) / 3 / np.sum((ranks - 0.5) ** 2))
    half = st.t.ppf(0.975, 3) * se
    result = sii(values, [7, 7, 7, 7, 7])
    assert slope == pytest.approx(4.0)
    assert result.value == pytest.approx(slope)
    assert (result.lower, result.upper) == pytest.approx((slope - half, slope + half))


def test_sii_simulation_seeded_and_close_to_analytic_spread():
    values = [10, 20, 30, 40, 50]
    pops = [1, 1, 1, 1, 1]
    se = [2.0] * 5
    a = sii(values, pops, se=se, repetitions=20_000, seed=42)
    b = sii(values, pops, se=se, repetitions=20_000, seed=42)
    assert a == b  # deterministic for a seed
    assert a.method.startswith("simulation")
    # slope is linear in y: sd(slope) = se * sqrt(sum(w^2 (r - .5)^2)) / sum(w (r - .5)^2)
    w, r = np.full(5, 0.2), np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    sd = 2.0 * math.sqrt(np.sum(w**2 * (r - 0.5) ** 2)) / np.sum(w * (r - 0.5) ** 2)
    assert a.lower == pytest.approx(50 - Z95 * sd, rel=0.03)
    assert a.upper == pytest.approx(50 + Z95 * sd, rel=0.03)


def test_sii_simulation_from_limits_and_rii():
    values = np.array([200.0, 180, 150, 120, 100])
    lower, upper = values * 0.9, values * 1.1
    res = rii(
        values, [1, 1, 1, 1, 1], lower=lower, upper=upper, value_type="rate", repetitions=5000
    )
    assert res.lower < res.value < res.upper < 1


def test_sii_missing_group():
    res = sii([1, np.nan, 3, 4, 5], [1, 1, 1, 1, 1])
    assert math.isnan(res.value) and res.method.startswith("not calculated")


# --------------------------------------------------------------------------- benchmark


@pytest.mark.parametrize(
    "value,lower,upper,benchmark,polarity,expected",
    [
        (60, 55, 65, 50, "HIGH_IS_GOOD", "better"),
        (60, 55, 65, 50, "LOW_IS_GOOD", "worse"),
        (60, 55, 65, 50, "NO_JUDGEMENT", "higher"),
        (40, 35, 45, 50, "HIGH_IS_GOOD", "worse"),
        (40, 35, 45, 50, "LOW_IS_GOOD", "better"),
        (40, 35, 45, 50, "NO_JUDGEMENT", "lower"),
        (52, 45, 58, 50, "HIGH_IS_GOOD", "similar"),
        (55, 50, 60, 50, "HIGH_IS_GOOD", "similar"),  # touching the benchmark is not significant
        (math.nan, 1, 2, 50, "HIGH_IS_GOOD", "not compared"),
        (60, 55, 65, math.nan, "HIGH_IS_GOOD", "not compared"),
        (60, None, 65, 50, "LOW_IS_GOOD", "not compared"),
    ],
)
def test_compare_with_benchmark(value, lower, upper, benchmark, polarity, expected):
    assert compare_with_benchmark(value, lower, upper, benchmark, polarity) == expected


def test_compare_with_benchmark_bad_polarity():
    with pytest.raises(ValueError):
        compare_with_benchmark(1, 0, 2, 1, "UP")


@pytest.mark.parametrize(("limits", "expected"), [
    # value 12 against 10, higher is better: 95% (11, 13) excludes 10; 99.8% (9.5, 14.5) does not
    ((11.0, 13.0, 9.5, 14.5), ("better", 0.95)),
    ((11.0, 13.0, 10.5, 13.5), ("better", 0.998)),  # both exclude it
    ((9.0, 15.0, 8.0, 16.0), ("similar", None)),
    ((11.0, 13.0, None, None), ("better", 0.95)),  # no 99.8% limits: the 95% comparison only
])
def test_compare_levels(limits, expected) -> None:
    from metrics.stats import Comparison, compare_levels, compare_row, level_suffix

    got = compare_levels(12.0, *limits, 10.0, "HIGH_IS_GOOD")
    assert got == Comparison(*expected)
    row = dict(zip(("lower_ci", "upper_ci", "lower_ci_998", "upper_ci_998"), limits, strict=True), value=12.0)
    assert compare_row(pd.Series(row), 10.0, "HIGH_IS_GOOD") == got
    assert compare_levels(12.0, *limits, 10.0, "LOW_IS_GOOD").result == {"better": "worse"}.get(expected[0], expected[0])
    assert level_suffix(got.level) == {0.95: " (95% only)", 0.998: " (99.8%)", None: ""}[expected[1]]


def test_compare_levels_array_is_compare_levels_row_by_row() -> None:
    """The array form (pages) and the scalar form (scorecard) are one rule: same answer on every case,
    NaN limits and benchmarks included, for each polarity."""
    from metrics.stats import POLARITIES, compare_levels, compare_levels_array

    rng = np.random.default_rng(7)
    n = 400
    value = rng.choice([8.0, 10.0, 12.0, np.nan], n)
    lo95, hi95 = value - rng.choice([0.5, 1.5, 3.0], n), value + rng.choice([0.5, 1.5, 3.0], n)
    lo998, hi998 = lo95 - rng.choice([0.0, 1.0, 2.5], n), hi95 + rng.choice([0.0, 1.0, 2.5], n)
    lo998[rng.random(n) < 0.1] = np.nan
    bench = rng.choice([9.0, 10.0, 11.0, np.nan], n)
    for polarity in POLARITIES:
        result, level = compare_levels_array(value, lo95, hi95, lo998, hi998, bench, polarity)
        for i in range(n):
            c = compare_levels(value[i], lo95[i], hi95[i], lo998[i], hi998[i], bench[i], polarity)
            assert (result[i], None if np.isnan(level[i]) else level[i]) == (c.result, c.level), (i, polarity)
    # worked by hand: 12 (11-13; 99.8% 10.5-13.5) against 10, higher is good -> better at 99.8%
    r, lv = compare_levels_array([12.0], [11.0], [13.0], [10.5], [13.5], [10.0], "HIGH_IS_GOOD")
    assert r.tolist() == ["better"] and lv.tolist() == [0.998]


def test_with_comparisons_uses_one_benchmark_rule() -> None:
    """Areas against BSol in the same period, groups against their own area; counts, BSol itself,
    suppressed rows and a hidden benchmark are not compared (worked by hand)."""
    from metrics.results import with_comparisons

    def row(level: str, geo: str, value: float, lo: float, hi: float, breakdown: str = "none", group: str = "All",
            indicator: str = "m12_hypertension_bp_target", period: str = "2024-25 Q1", suppressed: bool = False) -> dict:
        return {"indicator_id": indicator, "period_type": "quarter", "period": period, "geography_level": level,
                "geography": geo, "breakdown": breakdown, "group": group, "value": value, "lower_ci": lo,
                "upper_ci": hi, "lower_ci_998": lo - 1, "upper_ci_998": hi + 1, "suppressed": suppressed}

    frame = pd.DataFrame([
        row("bsol", "BSol", 60.0, 59.0, 61.0),
        row("locality", "East", 65.0, 63.0, 67.0),          # 63-67 above 60; 62-68 too -> better (99.8%)
        row("locality", "West", 58.5, 57.5, 59.5),          # 57.5-59.5 below 60; 56.5-60.5 not -> worse (95%)
        row("locality", "North", 61.0, 59.0, 63.0),         # contains 60 -> similar
        row("locality", "South", 70.0, 69.0, 71.0, suppressed=True),
        row("locality", "East", 50.0, 48.0, 52.0, "sex", "F"),  # against East's 65 -> worse
        row("locality", "East", 66.0, 64.0, 68.0, "sex", "M"),  # contains 65 -> similar
        row("locality", "East", 9.0, 8.0, 10.0, period="2024-25 Q2"),  # no BSol row in Q2 -> not compared
        row("locality", "East", 500.0, 400.0, 600.0, indicator="m01_caseload"),  # a count
        row("bsol", "BSol", 1.0, 0.5, 1.5, indicator="m01_caseload"),
    ])
    got = with_comparisons(frame)
    assert got["comparison"].tolist() == ["not compared", "better", "worse", "similar", "not compared", "worse",
                                          "similar", "not compared", "not compared", "not compared"]
    assert got["comparison_level"].tolist()[1:3] == [0.998, 0.95]
    hidden = frame.assign(suppressed=frame.index == 0)  # BSol hidden: nothing compares with it
    assert set(with_comparisons(hidden)["comparison"].iloc[1:5]) == {"not compared"}
