"""Stored SII/RII (metrics.inequality): which rows get one, units, direction in words, the database.

Known answer: with equal quintile populations the relative ranks are 0.1, 0.3, 0.5, 0.7, 0.9. A rate
that is exactly log-linear in rank, ``1000 * exp(-rank)`` per 100,000, is fitted exactly on the log
scale (phe_sii ``transform = TRUE``), so SII = 1000 * (exp(-1) - 1) = -632.12 per 100,000 and
RII = exp(-1) = 0.3679, whatever the simulation does.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from data_loaders.bulk import bulk_insert
from data_loaders.db import write_transaction
from data_loaders.dialect import make_engine
from data_loaders.tables import measure_result, metadata
from metrics import inequality
from metrics.catalogue import INDICATORS_BY_ID

RATE = INDICATORS_BY_ID["m16_acsc_chronic"]  # DSR per 100,000 (Dobson): log scale
PERCENT = INDICATORS_BY_ID["m10_smoking_status_recorded"]  # Wilson, percent: logit scale
RANKS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])


def quintiles(ind, values, lower, upper, geography="BSol", suppressed=(False,) * 5) -> pd.DataFrame:
    return pd.DataFrame({
        "indicator_id": ind.id, "measure": ind.measure, "period_type": "financial_year", "period": "2024-25",
        "period_start": date(2024, 4, 1), "period_end": date(2025, 3, 31),
        "geography_level": "bsol" if geography == "BSol" else "locality", "geography": geography,
        "breakdown": "imd_quintile", "group": list(inequality.QUINTILES), "numerator": 100.0,
        "denominator": 10_000.0, "value": values, "lower_ci": lower, "upper_ci": upper,
        "to_date": False, "provisional": False, "suppressed": list(suppressed),
    })


def log_linear() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = 1000 * np.exp(-RANKS)
    return values, values * 0.9, values / 0.9


def test_log_linear_rate_known_answer_in_its_own_unit() -> None:
    rows = inequality.compute_inequality(quintiles(RATE, *log_linear()))
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["sii"] == pytest.approx(1000 * (math.exp(-1) - 1), rel=1e-9)
    assert row["rii"] == pytest.approx(math.exp(-1), rel=1e-9)
    assert row["sii_lower"] < row["sii"] < row["sii_upper"] < 0
    assert row["interval_level"] == 0.95 and "10,000 simulations" in row["interval_method"]
    assert "log transform" in row["interval_method"]
    text = inequality.describe(row, RATE, "BSol")
    assert "632.1 per 100,000" in text and "higher at the most deprived end" in text
    assert "statistically significant" in text


def test_percent_sii_is_in_percentage_points() -> None:
    p = 1 / (1 + np.exp(-(0.2 + 1.0 * RANKS)))  # logit-linear proportion, 0-1
    rows = inequality.compute_inequality(quintiles(PERCENT, p * 100, p * 95, np.minimum(p * 105, 100)))
    want = 100 * (1 / (1 + math.exp(-1.2)) - 1 / (1 + math.exp(-0.2)))
    assert rows.iloc[0]["sii"] == pytest.approx(want, rel=1e-9)
    assert "percentage points" in inequality.describe(rows.iloc[0], PERCENT, "BSol")
    assert "least deprived end" in inequality.describe(rows.iloc[0], PERCENT, "BSol")


def test_no_sii_with_a_suppressed_or_missing_quintile_or_for_counts() -> None:
    values, lower, upper = log_linear()
    hidden = quintiles(RATE, values, lower, upper, suppressed=(False, False, True, False, False))
    assert inequality.compute_inequality(hidden).empty
    assert inequality.compute_inequality(quintiles(RATE, values, lower, upper).iloc[:4]).empty
    count = INDICATORS_BY_ID["m01_caseload"]
    assert not inequality.applies(count)
    assert inequality.compute_inequality(quintiles(count, values, lower, upper)).empty
    assert "count" in inequality.describe(None, count, "BSol")


def test_not_significant_is_said_in_words() -> None:
    values = np.array([100.0, 101, 99, 100, 100])
    rows = inequality.compute_inequality(quintiles(RATE, values, values * 0.5, values * 2))
    text = inequality.describe(rows.iloc[0], RATE, "East")
    assert "no clear gradient" in text and text.startswith("Slope index of inequality:")


def test_refresh_writes_and_reads_back(db_url: str) -> None:
    values, lower, upper = log_linear()
    frame = pd.concat([quintiles(RATE, values, lower, upper),
                       quintiles(RATE, values * 2, lower * 2, upper * 2, geography="East")], ignore_index=True)
    engine = make_engine(db_url)
    try:
        with write_transaction(db_url) as conn:
            metadata.create_all(conn)
            bulk_insert(conn, measure_result, frame)
            assert inequality.refresh_inequality(conn) == 2
            assert inequality.refresh_inequality(conn) == 2  # replaces, does not append
        with engine.connect() as conn:
            got = inequality.read_inequality(conn, RATE.id, "financial_year").set_index("geography")
    finally:
        engine.dispose()
    assert got.loc["East", "sii"] == pytest.approx(2 * got.loc["BSol", "sii"], rel=1e-9)
    assert got.loc["BSol", "sii"] == pytest.approx(1000 * (math.exp(-1) - 1), rel=1e-9)


@pytest.mark.parametrize("db_url", ["duckdb"], indirect=True)
def test_refresh_computes_the_index_from_the_controlled_quintiles(db_url: str) -> None:
    """Disclosure rule: the stored SII/RII come from the quintiles as shown (counts rounded to 5,
    value and limits from them), so the index cannot carry the exact counts. Counts 201..606 of
    1,001..1,006 are shown as 200..605 of 1,000..1,005: an index from the exact rows differs."""
    from metrics.results import for_display
    from metrics.stats import wilson_ci_array

    num, den = np.array([201.0, 302, 403, 504, 606]), np.array([1001.0, 1002, 1003, 1004, 1006])
    lo, hi = wilson_ci_array(num, den, 0.95)
    exact = quintiles(PERCENT, 100 * num / den, 100 * lo, 100 * hi).assign(numerator=num, denominator=den)
    with write_transaction(db_url) as conn:
        metadata.create_all(conn)
        bulk_insert(conn, measure_result, exact)
        assert inequality.refresh_inequality(conn) == 1
        stored = inequality.read_inequality(conn, PERCENT.id).iloc[0]
    shown = for_display(exact)
    assert shown["numerator"].tolist() == [200, 300, 405, 505, 605]
    from_shown = inequality.compute_inequality(shown).iloc[0]
    from_exact = inequality.compute_inequality(exact).iloc[0]
    assert stored["sii"] == pytest.approx(from_shown["sii"], rel=1e-12)
    assert stored["rii"] == pytest.approx(from_shown["rii"], rel=1e-12)
    assert abs(from_exact["sii"] - from_shown["sii"]) > 1e-6
