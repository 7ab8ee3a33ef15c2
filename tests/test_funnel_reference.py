"""Funnel limits and significance against PHEindicatormethods' published funnel test data (numbers only).

Source: github.com/ukhsa-collaboration/PHEindicatormethods at commit
093fd288d8f8949dbcfbed70049dbbf385b6141d, tests/testthat (used by testFunnels.R):
* testdata_funnel_prop_outputs.csv -- proportion limits (multiplier 100) around 80.642448;
* testdata_funnel_rate_outputs.csv -- DSR limits per 100,000 around 116.172, years_of_data = 3;
* testdata_funnel_prop_inputs.csv -- areas and their ``assign_funnel_significance`` label.
A subset of rows is copied below. PHE finds the Poisson limits by bisection to 1e-7, so rate
limits agree to 1e-4 relative; proportion limits are published to 6 decimals.
Over-dispersion (Spiegelhalter 2005) has no published test data: it is checked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics import funnel, stats
from metrics.catalogue import INDICATORS_BY_ID

# testdata_funnel_prop_outputs.csv rows [1, 2, 3, 5, 10, 20, 30, 50, 70, 90, 100] : Population, Lower2s, Upper2s, Lower3s, Upper3s
PROP_BASELINE = 80.642448
PROP_LIMITS = [
    (1.0, 3.204264, 100.0, 0.0, 100.0),
    (2.0, 25.885383, 100.0, 0.0, 100.0),
    (3.0, 35.933491, 100.0, 10.150815, 100.0),
    (5.0, 46.011039, 100.0, 26.039864, 100.0),
    (10.0, 56.154344, 100.0, 42.03259, 100.0),
    (27.0, 65.739462, 95.545433, 57.145237, 100.0),
    (75.0, 71.700657, 89.584239, 66.544121, 94.740774),
    (598.0, 77.475765, 83.809131, 75.649608, 85.635287),
    (4818.0, 79.526814, 81.758082, 78.883452, 82.401444),
    (38775.0, 80.249188, 81.035707, 80.022404, 81.262492),
    (110000.0, 80.408963, 80.875933, 80.274317, 81.010578),
]
# testdata_funnel_rate_outputs.csv rows [1, 2, 3, 5, 10, 20, 30, 50, 70, 90, 100] : Events, lower_2s_population_1_year, lower_2s_limit, upper_2s_population_1_year, upper_2s_limit, lower_3s_limit, upper_3s_limit
RATE_BASELINE = 116.1720835
RATE_LIMITS = [
    (1, 1598.675694, 20.85059119, 7.264481402, 4588.535848, 12.58170943, 116108.569),
    (2, 2072.984403, 32.15975314, 69.49732367, 959.2695538, 20.69168143, 5117.48863),
    (3, 2515.599722, 39.75195225, 177.5159418, 563.3296872, 26.68119061, 1829.161832),
    (5, 3348.002593, 49.78092521, 465.8280129, 357.7858395, 35.30048174, 785.6132963),
    (10, 5276.757672, 63.17010446, 1375.943768, 242.2579623, 48.13632908, 392.4043292),
    (20, 8862.823734, 75.22057153, 3505.293872, 190.1885237, 61.07587907, 259.3644657),
    (32, 12961.93593, 82.29223416, 6280.33083, 169.8424328, 69.31902848, 214.6822599),
    (94, 33006.2688, 94.93146143, 21795.70245, 143.7592268, 85.32174568, 163.3245018),
    (271, 87588.75733, 103.1334798, 68775.04934, 131.3460829, 96.62373794, 141.2009031),
    (796, 244830.1976, 108.3744309, 212803.8142, 124.684482, 104.2421061, 129.9406576),
    (1360, 411529.9259, 110.158048, 369759.5622, 122.6021934, 106.9073359, 126.5084525),
]
# testdata_funnel_prop_inputs.csv (3 areas per significance label): numerator, denominator, significance
PROP_POINTS = [
    (35078.488, 41980, 'High (0.001)'),
    (48686.4364, 59804, 'High (0.001)'),
    (66969.6742, 80002, 'High (0.001)'),
    (26789.238, 33012, 'High (0.025)'),
    (36850.0492, 45449, 'High (0.025)'),
    (34502.0685, 42485, 'High (0.025)'),
    (24803.6256, 31824, 'Low (0.001)'),
    (35795.6324, 45449, 'Low (0.001)'),
    (48514.446, 64755, 'Low (0.001)'),
    (30277.5312, 37828, 'Low (0.025)'),
    (50050.7443, 61921, 'Not significant'),
    (24648.7596, 30521, 'Not significant'),
    (31759.385, 39350, 'Not significant'),
]


@pytest.mark.parametrize("row", PROP_LIMITS, ids=[f"n={r[0]:g}" for r in PROP_LIMITS])
def test_proportion_limits(row) -> None:
    n, lo2, hi2, lo3, hi3 = row
    l95, u95 = stats.funnel_proportion_limits([n], PROP_BASELINE / 100, 0.95)
    l998, u998 = stats.funnel_proportion_limits([n], PROP_BASELINE / 100, 0.998)
    assert [l95[0] * 100, u95[0] * 100, l998[0] * 100, u998[0] * 100] == pytest.approx([lo2, hi2, lo3, hi3], abs=2e-6)


@pytest.mark.parametrize("row", RATE_LIMITS, ids=[f"O={r[0]}" for r in RATE_LIMITS])
def test_rate_limits(row) -> None:
    events, pop_lo, lo2, pop_hi, hi2, lo3, hi3 = row
    avg = RATE_BASELINE / 1e5
    d_lo, r_lo, d_hi, r_hi = stats.funnel_rate_limits([events], avg, 0.95)
    assert [d_lo[0] / 3, r_lo[0] * 1e5, d_hi[0] / 3, r_hi[0] * 1e5] == pytest.approx([pop_lo, lo2, pop_hi, hi2], rel=1e-4)
    _, r3_lo, _, r3_hi = stats.funnel_rate_limits([events], avg, 0.998)
    assert [r3_lo[0] * 1e5, r3_hi[0] * 1e5] == pytest.approx([lo3, hi3], rel=1e-4)


def test_proportion_significance_labels() -> None:
    x = np.array([p[0] for p in PROP_POINTS])
    n = np.array([p[1] for p in PROP_POINTS], dtype=float)
    avg = PROP_BASELINE / 100
    lo95, hi95 = stats.wilson_ci_array(x, n, 0.95)
    lo998, hi998 = stats.wilson_ci_array(x, n, 0.998)
    got = stats.funnel_position(-np.full(len(x), avg), -hi95, -lo95, -hi998, -lo998)
    assert list(got) == [p[2] for p in PROP_POINTS]
    # and the same answer from the point's value against the funnel limits at its denominator
    l95, u95 = stats.funnel_proportion_limits(n, avg, 0.95)
    l998, u998 = stats.funnel_proportion_limits(n, avg, 0.998)
    assert list(stats.funnel_position(x / n, l95, u95, l998, u998)) == [p[2] for p in PROP_POINTS]


def test_overdispersion_by_hand() -> None:
    # four areas, null variance average / n with average 0.01 and n = 10,000: s = 0.001
    y = np.array([0.012, 0.008, 0.013, 0.007])  # z = 2, -2, 3, -3
    n = np.full(4, 10_000.0)
    d = stats.overdispersion("rate", y, n, 0.01, winsor=0.0)
    assert d.phi == pytest.approx((4 + 4 + 9 + 9) / 4)  # 6.5
    assert d.overdispersed  # 4 * 6.5 > 3
    w = np.full(4, 1 / 1e-6)
    assert d.tau2 == pytest.approx((4 * 6.5 - 3) / (w.sum() - np.sum(w**2) / w.sum()))
    lo, hi = stats.funnel_normal_limits("rate", [10_000.0], 0.01, 0.95, "multiplicative", d)
    assert hi[0] - 0.01 == pytest.approx(1.959964 * math.sqrt(6.5) * 0.001, rel=1e-6)
    lo, hi = stats.funnel_normal_limits("rate", [10_000.0], 0.01, 0.95, "random_effects", d)
    assert hi[0] - 0.01 == pytest.approx(1.959964 * math.sqrt(1e-6 + d.tau2), rel=1e-6)
    # winsorising at 10% pulls the extreme z-scores in; with no spread there is no over-dispersion
    assert stats.overdispersion("rate", y, n, 0.01).phi < d.phi
    flat = stats.overdispersion("rate", np.full(4, 0.01), n, 0.01)
    assert not flat.overdispersed and flat.tau2 == 0.0


def test_funnel_of_practices_flags_fewer_with_overdispersion() -> None:
    ind = INDICATORS_BY_ID["m10_smoking_status_recorded"]  # percent, Wilson
    rng = np.random.default_rng(3)
    n = rng.integers(2_000, 20_000, 40).astype(float)
    p = np.clip(0.8 + rng.normal(0, 0.03, 40), 0, 1)  # real between-practice spread
    x = np.round(p * n)
    lo, hi = stats.wilson_ci_array(x, n, 0.95)
    lo3, hi3 = stats.wilson_ci_array(x, n, 0.998)
    rows = pd.DataFrame({"geography": [f"P{i}" for i in range(40)], "numerator": x, "denominator": n,
                         "value": x / n * 100, "lower_ci": lo * 100, "upper_ci": hi * 100,
                         "lower_ci_998": lo3 * 100, "upper_ci_998": hi3 * 100, "suppressed": False,
                         "period_start": pd.Timestamp("2024-04-01"), "period_end": pd.Timestamp("2025-03-31")})
    adjusted = funnel.funnel(rows, 80.0, ind)
    exact = funnel.funnel(rows, 80.0, ind.__class__(**{**ind.__dict__, "dispersion": "none"}))
    assert adjusted is not None and exact is not None
    outside = lambda f: int((f.points["position"] != "Not significant").sum())  # noqa: E731
    assert outside(adjusted) < outside(exact)
    assert "over-dispersion" in adjusted.method and set(adjusted.curves["level"]) == {0.95, 0.998}
    assert "areas:" in funnel.summary(adjusted)
    assert funnel.funnel(rows.assign(suppressed=True), 80.0, ind) is None  # nothing shown, no funnel
    assert funnel.funnel(rows, 80.0, INDICATORS_BY_ID["m01_caseload"]) is None  # counts have none
