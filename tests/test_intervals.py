"""Every stored result row says how its interval was made, at 95% and 99.8% (as Fingertips downloads).

Read from the run's known-answer database (tests/kat_data.py, built once), DuckDB only: the columns are written by
the same code on both backends (test_measures covers PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from data_loaders.dialect import make_engine
from data_loaders.tables import measure_result
from metrics import stats
from metrics.catalogue import INDICATORS_BY_ID


@pytest.fixture(scope="module")
def stored(kat_db: Path) -> Iterator[pd.DataFrame]:
    """The run's known-answer database (conftest `kat_db`, built once), read back."""
    engine = make_engine(f"duckdb:///{kat_db}")
    with engine.connect() as conn:
        yield pd.DataFrame(conn.execute(sa.select(measure_result)).mappings().all())
    engine.dispose()


def test_interval_method_and_level_on_every_row(stored: pd.DataFrame) -> None:
    with_ci = stored[stored["lower_ci"].notna()]
    assert not with_ci.empty
    expected = with_ci["indicator_id"].map(lambda i: stats.INTERVAL_METHODS[INDICATORS_BY_ID[i].ci])
    # caseload rates' area rows are person-clustered (tests/test_clustered.py); all else as declared
    clustered = with_ci["indicator_id"].map(lambda i: INDICATORS_BY_ID[i].dispersion == "person_clustered") \
        & (with_ci["breakdown"] == "none") & (with_ci["interval_method"] == stats.CLUSTERED_METHOD)
    assert clustered.any()
    assert (with_ci["interval_method"][~clustered] == expected[~clustered]).all()
    assert (with_ci["interval_level"] == 0.95).all()
    without = stored[stored["lower_ci"].isna() & stored["upper_ci"].isna()]
    assert without["interval_method"].isna().all() and without["interval_level"].isna().all()
    assert set(stored["interval_method"].dropna()) >= {"Wilson score", "Byar's method (exact Poisson below 10 events)"}


def test_99_8_limits_contain_the_95_limits(stored: pd.DataFrame) -> None:
    rows = stored[stored["lower_ci"].notna() & (stored["value"] > 0)]
    lo95, hi95 = rows["lower_ci"].astype(float), rows["upper_ci"].astype(float)
    lo998, hi998 = rows["lower_ci_998"].astype(float), rows["upper_ci_998"].astype(float)
    assert (lo998 <= lo95 + 1e-12).all() and (hi998 >= hi95 - 1e-12).all()
    assert ((hi998 - lo998) > (hi95 - lo95)).mean() > 0.9


def test_wilson_998_by_hand() -> None:
    # 99.8%: z = 3.0902; x = 10, n = 100: (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))
    z = 3.090232306167813
    lo, hi = stats.wilson_ci_array(np.array([10.0]), np.array([100.0]), 0.998)
    root = z * np.sqrt(z * z + 4 * 10 * 0.9)
    assert lo[0] == pytest.approx((20 + z * z - root) / (2 * (100 + z * z)), rel=1e-12)
    assert hi[0] == pytest.approx((20 + z * z + root) / (2 * (100 + z * z)), rel=1e-12)


def test_grouped_dsr_and_mean_are_the_single_area_functions() -> None:
    groups = pd.DataFrame({"g": [0, 0, 0, 1, 1, 1]})
    counts, pops, std = [10, 20, 30, 1, 2, 3], [1000, 2000, 3000, 100, 100, 100], [500, 300, 200] * 2
    by_group = stats.dsr_by_group(groups, counts, pops, std)
    for g in (0, 1):
        one = stats.dsr(counts[3 * g:3 * g + 3], pops[3 * g:3 * g + 3], std[:3])
        assert tuple(by_group.iloc[g][["value", "lower_ci", "upper_ci"]]) == pytest.approx(one, rel=1e-12)
    values = np.array([1.0, 2, 3, 4])
    m, lo, hi = stats.mean_ci_array([4], [values.sum()], [np.sum(values**2)])
    assert (m[0], lo[0], hi[0]) == pytest.approx(stats.mean_ci(values), rel=1e-12)


def test_financial_year_to_date_is_flagged(stored: pd.DataFrame) -> None:
    fy = stored[stored["period_type"] == "financial_year"]
    assert fy.loc[fy["period"] == "2024-25", "to_date"].all()  # the data end at June 2024
    assert not stored.loc[stored["period_type"] != "financial_year", "to_date"].any()


def test_display_hides_every_limit_of_a_suppressed_row(stored: pd.DataFrame) -> None:
    from metrics.results import for_display

    shown = for_display(stored)
    hidden = shown[shown["suppressed"]]
    assert not hidden.empty
    for col in ("value", *stats.LIMIT_COLUMNS):
        assert hidden[col].isna().all(), col
