"""A lagging extract's own data end, declared at load (`flask --app app load --data-end EXTRACT=DATE`).

Known answers worked by hand on the independent analyst's extract set (tests/independent/extracts.py):
the registered population is 1,190 (100+200+300+150+50+200+50+40+100); UCR referrals of people in
the spine dated in 2024-25 up to 30 June 2024 are R1 (2 Apr), R2 (1 May) and R3 (1 Jun) — R7 is
in 2023-24 and R8's patient is not in the spine. With the UCR extract declared to end on 30 June
2024, 2024-25 runs 91 days for UCR (1 Apr - 30 Jun), so the annualised rate is
3 / (1,190 x 91 / 365.25) x 100,000 = 1,011.87 per 100,000 a year, where counting the missing
months as zeros would give 3 / (1,190 x 365 / 365.25) x 100,000 = 252.27. Two of the three
eligible referrals were seen within 2 hours (R1 1h59, R2 2h00; R3 2h01): 66.67%.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data_loaders.load import parse_source_end
from tests.independent import extracts

ROOT = Path(__file__).resolve().parents[1]


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("source-ends")
    extracts.write(folder / "extracts")
    env = {**os.environ, "BSOL_DATA_DIR": str(folder / "data")}
    env.pop("DATABASE_URL", None)
    done = _flask(env, "load", str(folder / "extracts"), "--data-end", "ucr_referral=2024-06-30")
    assert done.returncode == 0, done.stderr
    from data_loaders.db import read_engine
    from metrics.results import read_results

    db = folder / "data" / "bsol.duckdb"
    with read_engine(f"duckdb:///{db}").connect() as conn:
        frame = read_results(conn)
    return env, db, frame[frame.indicator_id.str.startswith("m05_")]


def _bsol_year(frame: pd.DataFrame, indicator: str) -> pd.Series:
    rows = frame[(frame.indicator_id == indicator) & (frame.period_type == "financial_year")
                 & (frame.period == "2024-25") & (frame.geography_level == "bsol") & (frame.breakdown == "none")]
    assert len(rows) == 1, f"{indicator}: {len(rows)} BSol 2024-25 rows"
    return rows.iloc[0]


def test_a_declared_end_stops_the_missing_months_counting_as_zero(loaded) -> None:
    _, _, frame = loaded
    rate = _bsol_year(frame, "m05_ucr_referrals_rate")
    assert rate.numerator == 3
    assert rate.denominator == 1190
    assert rate.value == pytest.approx(3 / (1190 * 91 / 365.25) * 100_000, rel=1e-9)  # 1,011.87, not 252.27
    assert bool(rate.to_date)
    assert _bsol_year(frame, "m05_ucr_2h").value == pytest.approx(200 / 3, rel=1e-9)
    # No UCR period starts after the declared end: those months are missing, not zero.
    assert (pd.to_datetime(frame.period_start) <= pd.Timestamp("2024-06-30")).all()


def test_a_bad_declaration_names_the_reason_and_changes_nothing(loaded, tmp_path: Path) -> None:
    env, db, _ = loaded
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    extracts.write(tmp_path / "again")
    done = _flask(env, "load", str(tmp_path / "again"), "--data-end", "ucr_referral=2024-13-01")
    assert done.returncode == 2
    assert "--data-end" in done.stderr and "'2024-13-01' is not a date written YYYY-MM-DD" in done.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(("text", "reason"), [
    ("ucr_referral", "expected EXTRACT=YYYY-MM-DD"),
    ("ucr=2024-06-30", "Unknown extract 'ucr'"),
    ("practice=2024-06-30", "practice is reference data"),
    ("ucr_referral=2014-12-31", "the data end must be between 2023-04-01 and today (2025-03-31)"),
    ("ucr_referral=2025-04-01", "the data end must be between 2023-04-01 and today (2025-03-31)"),
])
def test_declarations_are_checked(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=None) as error:
        parse_source_end(text, today=dt.date(2025, 3, 31))
    assert reason in str(error.value)


def test_a_declaration_can_be_cleared() -> None:
    assert parse_source_end("ucr_referral=2024-06-30") == ("ucr_referral", dt.date(2024, 6, 30))
    assert parse_source_end(" gp_appointment = NONE ") == ("gp_appointment", None)
