"""Person-clustered (sandwich) intervals for caseload rates (metrics/stats.py, metrics/clustered.py).

Known answers worked by hand from the definition: R = sum y / sum t, robust variance of log R =
n/(n-1) sum (y_i - R t_i)^2 / (sum y)^2 (HC1 sandwich of an intercept-only Poisson GLM with offset
log t), limits R exp(-/+ z se). The kat people on East's caseload in 2024-25 Q1 (tests/kat_data.py):
pat_a 91 days and 2 attended GP appointments while on it, pat_b 31 days and 1 (the June one is after
her caseload ended), pat_e 50 days (died 20 May) and none.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_loaders.db import read_engine
from metrics import funnel, stats
from metrics.catalogue import INDICATORS_BY_ID
from metrics.results import read_results

Z95 = 1.959963984540054
YEAR = 365.25
# residuals y_i - R t_i with R = 3 / (172 days): 2 - 3*91/172, 1 - 3*31/172, 0 - 3*50/172
SS = (71**2 + 79**2 + 150**2) / 172**2
RATE = 3 / (172 / YEAR)
SE_LOG = math.sqrt(3 / 2 * SS) / 3


def test_clustered_rate_by_hand() -> None:
    rate, lo, hi = stats.clustered_rate_ci([2, 1, 0], np.array([91, 31, 50]) / YEAR)
    assert rate == pytest.approx(RATE)
    assert lo == pytest.approx(RATE * math.exp(-Z95 * SE_LOG))
    assert hi == pytest.approx(RATE * math.exp(Z95 * SE_LOG))
    assert lo == pytest.approx(2.70922, abs=1e-4) and hi == pytest.approx(14.9803, abs=1e-3)
    # high users widen it: the same 3 events from one person is far less certain than from three
    _, lo1, hi1 = stats.clustered_rate_ci([3, 0, 0], [1.0, 1.0, 1.0])
    _, lo3, hi3 = stats.clustered_rate_ci([1, 1, 1], [1.0, 1.0, 1.0])
    assert hi1 - lo1 > hi3 - lo3
    assert all(math.isnan(v) for v in stats.clustered_rate_ci([0, 0], [1.0, 1.0])[1:])  # no events
    assert all(math.isnan(v) for v in stats.clustered_rate_ci([4], [1.0])[1:])  # one person


def test_stored_caseload_rate_is_person_clustered(kat_db: Path) -> None:
    with read_engine(f"duckdb:///{kat_db}").connect() as conn:
        rows = read_results(conn, ["m03_caseload_gp_appointments"], "quarter", "locality", ["East"])
    area = rows[(rows.breakdown == "none") & (rows.period == "2024-25 Q1")].iloc[0]
    assert area["numerator"] == 3 and area["denominator"] == pytest.approx(172 / YEAR)
    assert area["lower_ci"] == pytest.approx(RATE * math.exp(-Z95 * SE_LOG))
    assert area["upper_ci"] == pytest.approx(RATE * math.exp(Z95 * SE_LOG))
    z998 = 3.090232306167813
    assert area["upper_ci_998"] == pytest.approx(RATE * math.exp(z998 * SE_LOG))
    assert area["interval_method"] == stats.CLUSTERED_METHOD and area["interval_level"] == 0.95
    # breakdown groups keep Byar's interval, and say so
    group = rows[(rows.breakdown == "sex") & (rows.period == "2024-25 Q1") & (rows.group == "Male")].iloc[0]
    assert group["interval_method"] == stats.INTERVAL_METHODS["byar"]


def test_prepost_rate_ratio_uses_the_one_implementation() -> None:
    from metrics import prepost

    y0, y1, t = np.array([2.0, 0.0, 4.0]), np.array([1.0, 1.0, 1.0]), np.ones(3)
    assert prepost.rate_ratio_robust(y0, y1, t, t) == stats.clustered_rate_ratio_ci(y0, y1, t, t)


def test_caseload_funnel_uses_bsol_person_level_dispersion() -> None:
    """phi from BSol's stored interval: se(R) = R ln(upper/R)/z, phi = se^2 T / R."""
    ind = INDICATORS_BY_ID["m02_caseload_emergency_admissions"]
    period = {"period_start": pd.Timestamp("2024-04-01"), "period_end": pd.Timestamp("2024-06-30")}
    bsol_rate, bsol_t, se_log = 2.0, 400.0, 0.15
    bsol = pd.Series({"value": bsol_rate, "upper_ci": bsol_rate * math.exp(Z95 * se_log), "denominator": bsol_t,
                      "interval_method": stats.CLUSTERED_METHOD, "suppressed": False, **period})
    phi = (bsol_rate * se_log) ** 2 * bsol_t / bsol_rate  # (2 x 0.15)^2 x 400 / 2 = 18
    assert stats.clustered_phi(bsol["value"], bsol["upper_ci"], bsol_t) == pytest.approx(phi)
    t = np.array([20.0, 40.0, 60.0, 80.0, 100.0])
    rows = pd.DataFrame({"geography": list("ABCDE"), "numerator": t * 2, "denominator": t, "value": 2.0,
                         "lower_ci": 1.0, "upper_ci": 3.0, "lower_ci_998": 0.5, "upper_ci_998": 4.0,
                         "suppressed": False, **period})
    rows.loc[4, "value"] = 2.5  # 100 person-years at 2.5: outside Poisson 95% limits, inside phi = 18 ones
    f = funnel.funnel(rows, bsol_rate, ind, bsol)
    assert f is not None and "person-level" in f.method and "18.00" in f.method
    upper = f.curves[(f.curves.level == 0.95) & (f.curves.side == "upper")]
    x = float(upper["x"].iloc[10])
    assert float(upper["limit"].iloc[10]) == pytest.approx(bsol_rate + Z95 * math.sqrt(phi * bsol_rate / x))
    assert f.points.set_index("geography").loc["E", "position"] == "Not significant"
    assert 2.0 + Z95 * math.sqrt(2.0 / 100) < 2.5  # ... though Poisson limits would flag it


def test_displayed_clustered_limits_keep_their_relative_width(kat_db: Path) -> None:
    """Disclosure control recomputes a displayed value from rounded counts; a person-clustered
    interval is not Byar's there either: lower/value and upper/value are the stored ones."""
    from metrics.results import for_display

    with read_engine(f"duckdb:///{kat_db}").connect() as conn:
        rows = read_results(conn, ["m03_caseload_gp_appointments"], "quarter", "locality", ["East"], "none")
    exact = rows[rows.period == "2024-25 Q1"].assign(suppressed=False)
    exact = exact.assign(numerator=12.0, value=12.0 / exact["denominator"],
                         lower_ci=12.0 / exact["denominator"] * math.exp(-Z95 * SE_LOG),
                         upper_ci=12.0 / exact["denominator"] * math.exp(Z95 * SE_LOG))
    shown = for_display(exact).iloc[0]
    assert shown["numerator"] == 10  # rounded to 5
    assert shown["value"] == pytest.approx(10 / exact["denominator"].iloc[0])
    assert shown["lower_ci"] / shown["value"] == pytest.approx(math.exp(-Z95 * SE_LOG))
    assert shown["upper_ci"] / shown["value"] == pytest.approx(math.exp(Z95 * SE_LOG))
