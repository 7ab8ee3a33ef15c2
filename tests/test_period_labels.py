"""'to date' / 'provisional' beside every partial period, from the stored flags (issue 13, item 5).

Known-answer dataset (tests/kat_data.py): data end 2024-06-30, so financial year 2024-25 is to date;
GPAD (m18) and UCR (m05) are usually-revised sources, so periods holding their latest month
(GPAD: May 2024; UCR: June 2024) are provisional; care-home admissions (m04) are not revised.
"""

from __future__ import annotations

from pathlib import Path

from data_loaders.dialect import make_engine
from layouts import grids, views
from layouts.filters import Filters
from metrics import results
from tests.conftest import duckdb_url


def _scorecard(kat_db: Path, period_type: str) -> dict[str, results.ScorecardRow]:
    engine = make_engine(duckdb_url(kat_db))
    try:
        with engine.connect() as conn:
            return {r.indicator.id: r for r in results.scorecard(conn, period_type=period_type)}
    finally:
        engine.dispose()


def test_scorecard_rows_say_to_date_and_provisional(kat_db: Path) -> None:
    fy = _scorecard(kat_db, "financial_year")
    assert fy["m04_care_home_admissions_65"].period_label == "2024-25 (to date)"
    assert fy["m18_gp_appointments_rate"].period_label == "2024-25 (to date, provisional)"
    q = _scorecard(kat_db, "quarter")
    assert q["m04_care_home_admissions_65"].period_label == "2024-25 Q1"  # complete and final
    assert q["m05_ucr_referrals"].period_label == "2024-25 Q1 (provisional)"


def test_grids_and_downloads_carry_the_label(kat_db: Path) -> None:
    engine = make_engine(duckdb_url(kat_db))
    try:
        with engine.connect() as conn:
            frame = results.for_display(results.read_results(conn, indicator_ids=["m01_caseload"],
                                                             period_type="financial_year"))
    finally:
        engine.dispose()
    from metrics.catalogue import INDICATORS_BY_ID

    ind = INDICATORS_BY_ID["m01_caseload"]
    table = views.figures_table(frame, ind, Filters(), "2024-25", None, None)  # the trend holds 2023-24 too
    status = table.groupby("Period")["Period status"].agg(set).to_dict()
    assert status == {"2023-24": {""}, "2024-25": {"to date"}}, status
    loc = frame[frame.geography_level == "locality"]
    bench = frame[(frame.geography_level == "bsol") & (frame.breakdown == "none")]
    rows = views.matrix(loc[loc.breakdown == "none"], bench, [ind], "financial_year", "geography")
    html = str(grids.grid_table(rows, ["East"], "caption", "BSol"))
    assert "2024-25 (to date)" in html
