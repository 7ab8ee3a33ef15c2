"""Known-answer tests for every indicator of the catalogue, on DuckDB and on PostgreSQL.

Every expected number below is worked out BY HAND from tests/kat_data.py (the arithmetic is in the
comment next to it) -- never by calling metrics code. Data end is 2024-06-30, so the periods of
FY 2024-25 are April, May and June 2024, quarter 2024-25 Q1 and the financial year to date
(1 April - 30 June = 91 days). Population rates are annualised with period days / 365.25:

    Y91 = 91/365.25 = 0.24914442   (FY 2024-25 to date and 2024-25 Q1)
    Y30 = 30/365.25 = 0.08213552   (April, June)
    Y31 = 31/365.25 = 0.08487337   (May)

The people of the dataset (ages are in completed years; birth_month is the first of the month):

    pat_a P1 East  Q1  F 1940-01 White(A)   84  nursing home resident
    pat_b P1 East  Q1  M 1950-07 Asian(H)   73
    pat_c P1 East  Q1  F 2010-03 Black(N)   14
    pat_d P1 East  Unknown IMD (no LSOA)  M 1980-05  Not stated (no code)  43 in April, 44 from May
    pat_e P1 East  Q1  F 1935-02 White(A)   89  nursing home resident, died 2024-05-20
    pat_f P1 East  Q1  M 1955-09 Black(M)   68
    pat_g P2 Sol.  Q5  F 1945-06 White(A)   78 (79 from June)
    pat_h P2 Sol.  Q5  M 1975-01 White(A)   49  died 2024-04-10
    pat_i P2 Sol.  Q5  F 1990-01 Not stated(Z)  34
    pat_j P2 Sol.  Q5  M 1960-01 White(A)   64
    pat_k P2 Sol.  Q5  M 1959-06 White(A)   64 in May, 65 from 2024-06-01

Registered population 2024-25 (20,000): P1 F80-84 Q1 Asian 1000, P1 M70-74 Q1 Asian 3000,
P1 F10-14 Q1 Black 2000, P1 M40-44 Unknown/Not stated 4000, P2 F75-79 Q5 White 2000,
P2 M45-49 Q5 White 8000. So 65+ = 6000 (P1 4000, P2 2000), under 20 = 2000, each practice 10,000.

The database is built once per backend per run (tests/kat_db.build_kat_db through conftest's
`template_db`), through the real loader and the full refresh, and the stored `measure_result` table
is read back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats as sps

from data_loaders.dialect import make_engine
from data_loaders.tables import measure_result
from metrics.catalogue import INDICATORS, INDICATORS_BY_ID, Events
from metrics.compute import _derive_fy, _quantile_from_counts, reporting_periods
from tests.conftest import BACKENDS, TemplateDb
from tests.kat_db import build_kat_db

Z = sps.norm.ppf(0.975)  # 1.959964
Y91, Y30, Y31 = 91 / 365.25, 30 / 365.25, 31 / 365.25

FY = ("financial_year", "2024-25")
Q1 = ("quarter", "2024-25 Q1")
APR = ("month", "2024-04")
MAY = ("month", "2024-05")
JUN = ("month", "2024-06")


# ------------------------------------------------------------------------------------ fixture
class _Results(pd.DataFrame):
    """The results frame, with a one-line repr so failure tracebacks stay readable."""

    def __repr__(self) -> str:
        return f"<measure_result: {len(self)} rows>"


def _read(url: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(sa.select(measure_result)).mappings().all())
    finally:
        engine.dispose()
    for col in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return _Results(frame)


_BUILT: dict[str, pd.DataFrame] = {}  # backend -> stored results, read once per run


def _results(request: pytest.FixtureRequest, backend: str) -> pd.DataFrame:
    """The known-answer database on `backend` (conftest template_db: built once per run), read back."""
    if backend not in _BUILT:
        template_db: TemplateDb = request.getfixturevalue("template_db")
        _BUILT[backend] = _read(template_db(backend, "kat", build_kat_db))
    return _BUILT[backend]


@pytest.fixture(scope="module", params=BACKENDS)
def kat(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The stored results of the known-answer dataset (built once per backend per run)."""
    return _results(request, request.param)


@pytest.mark.postgres
def test_engines_agree_cell_by_cell(request: pytest.FixtureRequest) -> None:
    """DuckDB and PostgreSQL store the same results to 1e-9 (no 4-byte float anywhere on the way:
    1.7 FTE as a 4-byte float is 1.70000005, and 172/365.25 person-years loses its 8th digit)."""
    key = ["indicator_id", *KEY_COLUMNS]
    duck, pg = (_results(request, b).sort_values(key).reset_index(drop=True) for b in ("duckdb", "postgresql"))
    assert duck[key].equals(pg[key]), "the two engines produced different result rows"
    problems = []
    for col in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        a, b = duck[col].to_numpy(float), pg[col].to_numpy(float)
        bad = ~(np.isclose(a, b, rtol=0, atol=1e-9, equal_nan=True))
        problems += [f"{duck.loc[i, 'indicator_id']} {duck.loc[i, 'period']} {duck.loc[i, 'geography']} "
                     f"{duck.loc[i, 'group']} {col}: duckdb {a[i]!r} postgresql {b[i]!r}" for i in np.flatnonzero(bad)[:20]]
    differ = duck.index[duck["suppressed"] != pg["suppressed"]]
    assert len(differ) == 0, "suppression differs between engines:\n" + duck.loc[differ[:10], key].to_string()
    assert not problems, "\n".join(problems)


KEY_COLUMNS = ["period_type", "period", "geography_level", "geography", "breakdown", "group"]


@pytest.mark.parametrize("q", [0.5, 0.9, 0.25, 0.0, 1.0])
def test_quantile_from_counts_is_the_interpolated_quantile_of_the_values(q: float) -> None:
    """Medians and centiles of integer days are read from counts per value (`_from_histogram`):
    each group's result must be the linear-interpolation quantile (SQL percentile_cont) of its
    values written out one by one; groups of 0, 1 and 2 values, ties and unsorted input."""
    rng = np.random.default_rng(7)
    groups: list[list[int]] = [[], [4], [0, 5], [5, 0, 5], [3, 3, 3, 3], list(rng.integers(0, 40, 101)),
                               list(rng.integers(0, 3, 50)), [], list(rng.integers(0, 9, 12))]
    rows = [(g, v) for g, values in enumerate(groups) for v in values]
    frame = pd.DataFrame(rows, columns=["g", "v"]).value_counts().reset_index(name="c").sample(frac=1, random_state=1)
    n = np.array([len(values) for values in groups], float)
    got = _quantile_from_counts(frame["g"].to_numpy(), frame["v"].to_numpy(float), frame["c"].to_numpy(float), n, q)
    want = [np.quantile(values, q, method="linear") if values else np.nan for values in groups]
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------ helpers
@dataclass(frozen=True)
class K:
    """One known answer: the row at (period, geography, breakdown group) and its hand values.

    None means the column must be NULL/NaN. absent=True means no such row may exist.
    """

    period: tuple[str, str]
    num: float | None
    den: float | None
    value: float | None
    level: str = "bsol"
    geo: str = "BSol"
    breakdown: str = "none"
    group: str = "All"
    absent: bool = False
    note: str = ""

    def where(self) -> str:
        return f"{self.period[1]} {self.level}={self.geo} {self.breakdown}={self.group}"


def _select(res: pd.DataFrame, indicator_id: str, period: tuple[str, str], level: str = "bsol",
            geo: str = "BSol", breakdown: str = "none", group: str = "All") -> pd.DataFrame:
    return res[(res.indicator_id == indicator_id) & (res.period_type == period[0]) & (res.period == period[1])
               & (res.geography_level == level) & (res.geography == geo) & (res.breakdown == breakdown)
               & (res.group == group)]


def one(res: pd.DataFrame, indicator_id: str, period: tuple[str, str], **where: str) -> pd.Series:
    rows = _select(res, indicator_id, period, **where)
    assert len(rows) == 1, f"{indicator_id} {period} {where}: expected one row, found {len(rows)}"
    return rows.iloc[0]


def _close(got: float, want: float | None, rel: float = 1e-6) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    return got is not None and not math.isnan(got) and math.isclose(got, want, rel_tol=rel, abs_tol=1e-9)


def wilson(x: float, n: float) -> tuple[float, float]:
    """Wilson score interval written out (Wilson 1927), 0-1 scale."""
    p = x / n
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n)


def exact_poisson(o: int) -> tuple[float, float]:
    """Exact Poisson limits for a count from the chi-square distribution (Armitage & Berry)."""
    lower = sps.chi2.ppf(0.025, 2 * o) / 2 if o > 0 else 0.0
    return lower, sps.chi2.ppf(0.975, 2 * o + 2) / 2


# ====================================================================================
# Known answers. Every indicator: FY 2024-25 at BSol, one month (if monthly), and at least one
# geography or breakdown row. Where compute disagrees with the hand value the `note` says why.
# ====================================================================================
DEATH_NOTE = "pat_e died 2024-05-20 with her caseload episode open: she is not on a caseload after death"
DSR_NOTE = ("pat_f's s7 (E119, aged 68: 65-69 band, zero registered population) is still an admission, "
            "but a band with events and no population has no rate, so (PHE calculate_dsr: every denominator "
            "> 0) the DSR is not calculated")

EXPECTED: dict[str, list[K]] = {
    # ---------------------------------------------------------------- m01: distinct people on a caseload
    # Episodes: pat_a 2024-04-01 (open), pat_b 2024-05-01..05-31, pat_e 2024-04-01 (open, dies 05-20).
    "m01_caseload": [
        K(FY, 3, None, 3),                    # a, b, e
        K(APR, 2, None, 2),                   # a, e
        K(MAY, 3, None, 3),                   # a, b, e (e alive to 20 May)
        K(JUN, 1, None, 1, note=DEATH_NOTE),  # a only
        K(FY, 1, None, 1, breakdown="sex", group="Male"),          # b
        K(FY, 1, None, 1, breakdown="age_band", group="85+"),      # e, 89 at 2024-04-01
        K(FY, 3, None, 3, level="locality", geo="East"),           # all three at P1
    ],
    # ---------------------------------------------------------------- m02: emergency admissions per caseload person-year
    # Numerator: s1 (a, 04-10, '21'), s2 (a, 05-02, '21'), s3 (b, 05-15, '22', b on caseload in May) = 3;
    # s4 (b, 06-03) is elective AND after b's episode. pat_e has no spells.
    # Exposure (days, inclusive, alive): a 91 (Apr 1-Jun 30), b 31 (May), e 50 (Apr 1-May 20) = 172.
    "m02_caseload_emergency_admissions": [
        K(FY, 3, 0.47091034, 6.3706395, note=DEATH_NOTE),  # 172/365.25 = 0.47091034; 3/0.47091034 = 6.3706395
        K(APR, 1, 0.16427105, 6.0875),                     # (30 a + 30 e)/365.25; 1/0.16427105 = 6.0875
        K(MAY, 2, 0.22450376, 8.9085366, note=DEATH_NOTE),  # (31 a + 31 b + 20 e)/365.25; 2/0.22450376
        K(FY, 1, 0.084873374, 11.782258, breakdown="sex", group="Male"),   # s3 / (31 b days / 365.25)
        K(FY, 1, 0.084873374, 11.782258, breakdown="age_band", group="65-74"),  # b is 73
    ],
    # ---------------------------------------------------------------- m03: attended GP appointments per caseload person-year
    # g1 (a, 04-05, attended), g2 (a, 05-05, attended), g4 (b, 05-10, attended, on caseload) = 3;
    # g3 is a DNA, g5 (b, 06-10) is after b's episode ended. Exposure as m02.
    "m03_caseload_gp_appointments": [
        K(FY, 3, 0.47091034, 6.3706395, note=DEATH_NOTE),   # 3 / (172/365.25)
        K(APR, 1, 0.16427105, 6.0875),                      # 1 / (60/365.25)
        K(JUN, 0, 0.082135524, 0, note=DEATH_NOTE),         # 0 / (30 a days/365.25)
        K(FY, 1, 0.084873374, 11.782258, breakdown="ethnicity", group="Asian"),  # g4 (b, H) / (31/365.25)
    ],
    # ---------------------------------------------------------------- m04: permanent care home admissions 65+ per 100,000
    # h1 (b, 04-20, 73) yes; h2 (g, 05-20, 78) yes; h3 (j, 64) no; h4 not permanent; h5 (k, 06-03, 65 in
    # his birthday month) yes; h6 (b, 06-10, nursing) follows b's permanent h1: a move from residential
    # to nursing care, excluded by ASCOF 2C => 3 people. Population 65+ = 6000.
    "m04_care_home_admissions_65": [
        K(FY, 3, 6000, 200.68681),     # 3 / (6000 x 91/365.25) x 100000 = 200.68681
        K(APR, 1, 6000, 202.91667),    # 1 / (6000 x 30/365.25) x 100000
        K(MAY, 1, 6000, 196.37097),    # 1 / (6000 x 31/365.25) x 100000
        K(JUN, 1, 6000, 202.91667),    # h5: pat_k is 65 on 2024-06-03
        K(FY, 1, 4000, 100.34341, level="locality", geo="East"),       # h1 / (P1 65+ 4000 x Y91)
        K(FY, 2, 2000, 401.37363, level="locality", geo="Solihull"),   # h2, h5 / (P2 65+ 2000 x Y91)
        K(FY, 2, 3000, 267.58242, breakdown="sex", group="Male"),      # h1, h5 / (M 65+ 3000 x Y91)
        K(FY, 2, 3000, 267.58242, breakdown="age_band", group="65-74"),  # b 73, k 65 / (M70 3000 x Y91)
        K(FY, 2, 2000, 401.37363, breakdown="imd_quintile", group="Q5 (least deprived)"),  # g, k / P2F75
    ],
    # ---------------------------------------------------------------- m05 UCR
    # u1 a 04-01 (1h30, eligible, managed), u2 b 04-02 (2h30, eligible, conveyed),
    # u3 g 05-02 (exactly 2h, eligible, managed), u4 j 05-03 (not eligible, outcome unknown).
    "m05_ucr_referrals": [
        K(FY, 4, None, 4),
        K(APR, 2, None, 2),            # u1, u2
        K(JUN, 0, None, 0, note="no referrals in June 2024, a complete month: the count is 0, not missing"),
        K(FY, 2, None, 2, level="locality", geo="Solihull"),   # u3, u4
        K(FY, 2, None, 2, breakdown="sex", group="Female"),    # a, g
    ],
    "m05_ucr_2h": [
        K(FY, 2, 3, 66.666667),        # u1 (1h30) and u3 (exactly 2h: within) of u1-u3 eligible
        K(APR, 1, 2, 50),              # u1 of u1, u2
        K(MAY, 1, 1, 100),             # u3; u4 not eligible
        K(FY, 1, 2, 50, level="locality", geo="East"),
    ],
    # Registered population 20,000 (P1 10,000, P2 10,000; F 5,000).
    "m05_ucr_referrals_rate": [
        K(FY, 4, 20000, 80.274725),    # 4 / (20000 x Y91) x 100000
        K(APR, 2, 20000, 121.75),      # 2 / (20000 x Y30) x 100000
        K(JUN, 0, 20000, 0),
        K(FY, 2, 10000, 80.274725, level="locality", geo="Solihull"),   # u3, u4 / (10000 x Y91)
        K(FY, 2, 5000, 160.54945, breakdown="sex", group="Female"),     # a, g / (5000 x Y91)
    ],
    # Response hours, 2-hour-eligible referrals with a contact: u1 1.5, u2 2.5, u3 2.0 (u4 not eligible).
    "m05_ucr_response_median": [
        K(FY, None, 3, 2.0),           # median(1.5, 2.0, 2.5)
        K(APR, None, 2, 2.0),          # median(1.5, 2.5)
        K(MAY, None, 1, 2.0),
        K(FY, None, 2, 2.0, level="locality", geo="East"),   # u1, u2
    ],
    # 90th centile by linear interpolation (R type 7): h = (n - 1) x 0.9
    "m05_ucr_response_p90": [
        K(FY, None, 3, 2.4),           # h = 1.8: 2.0 + 0.8 x (2.5 - 2.0)
        K(APR, None, 2, 2.4),          # h = 0.9: 1.5 + 0.9 x (2.5 - 1.5)
        K(FY, None, 2, 2.4, level="locality", geo="East"),
    ],
    "m05_ucr_managed_at_home": [
        K(FY, 2, 3, 66.666667),        # u1, u3 of u1-u3 (u4 unknown outcome excluded)
        K(MAY, 1, 1, 100),             # u3 (u4 excluded)
        K(FY, 1, 1, 100, level="locality", geo="Solihull"),
    ],
    # ---------------------------------------------------------------- m06 discharge delays
    # Pathway 1 with ready + discharge dates: s1 (a, dis 04-20, ready 04-15: 5 days), s2 (a, 05-09,
    # 05-09: 0), s6 (g, 04-25, 04-20: 5). Pathway 2: s3 (b, 05-30, 05-26: 4), s7 (f, 06-08, 06-02: 6).
    "m06_p1_mean_delay": [
        K(FY, 10, 3, 3.3333333),       # (5 + 0 + 5) / 3
        K(APR, 10, 2, 5),              # (5 + 5) / 2
        K(MAY, 0, 1, 0),
        K(FY, 5, 2, 2.5, level="locality", geo="East"),   # (5 + 0) / 2
    ],
    "m06_p1_median_delay": [
        K(FY, None, 3, 5),             # median(0, 5, 5)
        K(APR, None, 2, 5),
        K(FY, None, 2, 2.5, level="locality", geo="East"),  # median(0, 5)
    ],
    "m06_p1_same_day": [
        K(FY, 1, 3, 33.333333),        # s2 only
        K(APR, 0, 2, 0),
        K(FY, 1, 2, 50, level="locality", geo="East"),
    ],
    "m06_p2_mean_delay": [
        K(FY, 10, 2, 5),               # (4 + 6) / 2
        K(MAY, 4, 1, 4),
        K(JUN, 6, 1, 6),
        K(FY, 10, 2, 5, breakdown="sex", group="Male"),   # b, f
    ],
    "m06_p2_median_delay": [
        K(FY, None, 2, 5),             # median(4, 6) = 5 (interpolated)
        K(JUN, None, 1, 6),
        K(FY, None, 2, 5, level="locality", geo="East"),
    ],
    # BCF 2025-26, adults 18+ on any pathway with both dates: s1 5, s2 0, s3 4, s6 5, s7 6 and s9 (d,
    # pathway 0, ready 06-20, out 06-21) 1; s5 (c, aged 14, 1 day) is a child and not counted.
    "m06_all_mean_delay": [
        K(FY, 21, 6, 3.5),             # (5 + 0 + 4 + 5 + 6 + 1) / 6
        K(APR, 10, 2, 5),              # s1, s6
        K(MAY, 4, 2, 2),               # s2, s3
        K(JUN, 7, 2, 3.5, note="s5 (a child) is not an adult discharge"),   # s7, s9
        K(FY, 16, 5, 3.2, level="locality", geo="East"),   # s1, s2, s3, s7, s9
    ],
    # sorted FY delays 0, 1, 4, 5, 5, 6: h = 5 x 0.9 = 4.5 -> 5 + 0.5 x (6 - 5)
    "m06_all_p90_delay": [
        K(FY, None, 6, 5.5),
        K(APR, None, 2, 5),            # 5, 5
        K(JUN, None, 2, 5.5),          # 1, 6: h = 0.9 -> 1 + 0.9 x 5
        K(FY, None, 5, 5.6, level="locality", geo="East"),   # 0, 1, 4, 5, 6: h = 3.6 -> 5 + 0.6 x 1
    ],
    "m06_p2_same_day": [
        K(FY, 0, 2, 0),
        K(MAY, 0, 1, 0),
        K(FY, 0, 2, 0, breakdown="sex", group="Male"),
    ],
    # ---------------------------------------------------------------- m07 nursing-home residents' emergency admissions per 1,000
    # Numerator: s1, s2 (pat_a, nursing) = 2. Denominator: people flagged nursing alive in the period:
    # a and e (e until 2024-05-20) -> 2 for FY/Apr/May, 1 for June. Annualised.
    "m07_nursing_home_emergency_admissions": [
        K(FY, 2, 2, 4013.7363),        # 2 / (2 x 91/365.25) x 1000
        K(APR, 1, 2, 6087.5),          # 1 / (2 x 30/365.25) x 1000
        K(MAY, 1, 2, 5891.129),        # 1 / (2 x 31/365.25) x 1000
        K(JUN, 0, 1, 0),               # pat_e died 2024-05-20: not a resident in June
        # s10 (pat_e, 2024-03-20, emergency) was admitted from her own home (spell flag False) before
        # she moved into the nursing home: not a care-home admission although her spine says nursing.
        K(("month", "2024-03"), 0, 2, 0, note="s10: admitted from home, before moving in"),
        K(FY, 2, 1, 8027.4725, breakdown="age_band", group="75-84"),  # a (84) / (1 x Y91) x 1000
        K(FY, 0, 1, 0, breakdown="age_band", group="85+"),              # e (89 at 2024-04-01)
    ],
    # ---------------------------------------------------------------- m08 still at home 91 days after reablement (65+)
    # Q3 2023-24: a (10-20, 83, at home), b (11-30, 73, hospital), g (10-25, 78, at home); i is 33 -> 2/3.
    # Q4 2023-24: f (01-15, 68, at home) -> 1/1. FY = the Oct-Dec (Q3) cohort only -> 2023-24 = 2/3.
    # g's 2024-05-01 discharge: 91 days not over by the data end -> no 2024-25 Q1 row, no FY 2024-25 row.
    "m08_reablement_91d": [
        K(("quarter", "2023-24 Q3"), 2, 3, 66.666667),
        K(("quarter", "2023-24 Q4"), 1, 1, 100),
        K(("financial_year", "2023-24"), 2, 3, 66.666667),
        K(FY, None, None, None, absent=True),
        K(Q1, None, None, None, absent=True),
        K(("quarter", "2023-24 Q3"), 1, 2, 50, level="locality", geo="East"),       # a at home, b not
        K(("financial_year", "2023-24"), 2, 2, 100, breakdown="sex", group="Female"),   # a, g
    ],
    # ---------------------------------------------------------------- m09 falls 65+ DSR per 100,000 (ESP 2013, 65+ weights 19,500)
    # s1 (a, 84 -> 80-84, S720 + W19X) and s6 (g, 78 -> 75-79, S060 + W01X); s8 (k, S000 + W19X) is
    # excluded: pat_k is 64 on 2024-05-15. Weights: 80-84 2500, 75-79 4000; bands P1F80 1000, P2F75 2000.
    "m09_falls_65": [
        # (2500 x 1/(1000 Y91) + 4000 x 1/(2000 Y91)) / 19500 x 100000 = (4.5 / 0.24914442) / 0.195 = 92.624683
        K(FY, 2, 1494.8665, 92.624683),      # denominator 6000 x Y91 person-years
        K(APR, 2, 492.81314, 280.96154),     # 4.5 / Y30 / 19500 x 100000; 6000 x Y30
        K(MAY, 0, 509.24025, 0),             # s8 (age 64) excluded; 6000 x Y31
        # Q1: a only: 2500/(1000 Y91)/19500 x 1e5 = 51.458157; Q1 65+ population P1F80 1000 + P1M70 3000
        K(FY, 1, 996.57769, 51.458157, breakdown="imd_quintile", group="Q1 (most deprived)"),  # 4000 x Y91
        K(FY, 2, 747.43326, 92.624683, breakdown="sex", group="Female"),   # a, g; F 65+ 3000 x Y91
        K(FY, 1, 996.57769, 51.458157, level="locality", geo="East"),   # a; P1 65+ 4000 x Y91
        K(FY, 2, 498.28884, None, breakdown="ethnicity", group="White",
          note="pat_a (White, 80-84) is a White falls admission although no White 80-84 population is registered"),
        # ^ White: a (no White 80-84 population) and g (P2F75 White 2000): 2 admissions, denominator
        #   2000 x Y91. The 80-84 band has an event and no population: its rate is undefined, so the
        #   DSR is not calculated (PHE rule); dropping the band would understate the rate (41.17).
    ],
    # ---------------------------------------------------------------- m10 smoking (snapshot 2024-06-30)
    # a never, b current (ref 2024-02-01), d current (ref 2022-02-01), f not recorded, g ex,
    # j current (ref 2023-07-01, the first day of the 12 months to 2024-06-30).
    # QOF SMOK002: aged 15+ on a listed register (d is on none, c is 14) -> a, b, f, g, j; recorded in
    # the 12 months to 2024-06-30 = 2023-07-01 onwards: b (2023-07-01, the first day) and j (2024-01-01);
    # a (2020) and g (2023-06-30, one day early) are too old, f has no status.
    "m10_smoking_status_recorded": [
        K(FY, 2, 5, 40),               # b, j of a, b, f, g, j
        K(Q1, 2, 5, 40),
        K(FY, 1, 3, 33.333333, level="locality", geo="East"),     # b of a, b, f
        K(FY, 2, 3, 66.666667, breakdown="sex", group="Male"),    # b, j of b, f, j
        K(FY, 0, 2, 0, breakdown="sex", group="Female"),          # a, g: both too old
    ],
    "m10_smokers_referred": [
        K(FY, 2, 3, 66.666667, note="pat_j referred 2023-07-01 is within the 12 months to 2024-06-30"),
        K(FY, 1, 2, 50, level="locality", geo="East"),    # b of b, d
        K(Q1, 2, 3, 66.666667, note="as FY"),
    ],
    # ---------------------------------------------------------------- m11 hypertension register / expected
    # Register a, b, f (P1), g (P2) = 4; expected P1 4.0 + P2 2.0 = 6.
    "m11_hypertension_detection": [
        K(FY, 4, 6, 66.666667),
        K(Q1, 4, 6, 66.666667),
        K(FY, 3, 4, 75, level="practice", geo="Y90001"),
        K(FY, 1, 2, 50, level="locality", geo="Solihull"),
    ],
    # ---------------------------------------------------------------- m12 hypertension control (age at snapshot)
    # a 84: 148/85 <= 150/90 yes; b 73: 145 > 140 no; f 68: 130/85 yes; g 79: no readings -> no.
    # Lipids: a non-HDL 2.5 yes; b LDL 1.9 yes; f 3.0/3.5 no; g none -> no.
    "m12_hypertension_bp_target": [
        K(FY, 2, 4, 50),
        K(FY, 2, 3, 66.666667, level="locality", geo="East"),     # a, f of a, b, f
        K(FY, 1, 2, 50, breakdown="age_band", group="75-84"),      # a yes, g no
        K(FY, 1, 2, 50, breakdown="age_band", group="65-74"),      # f yes, b no
    ],
    # CVDPREVENT secondary prevention: a, b, g have CVD (f does not: not in the denominator).
    # a: LDL 2.1 > 2.0 fails although non-HDL 2.5 <= 2.6 (LDL-C wins); b LDL 1.9 ok; g no reading.
    "m12_hypertension_cholesterol": [
        K(FY, 1, 3, 33.333333),
        K(FY, 1, 2, 50, level="locality", geo="East"),            # b of a, b
        K(FY, 0, 1, 0, level="practice", geo="Y90002"),            # g
    ],
    # ---------------------------------------------------------------- m13 diabetes (snapshot)
    # Register b (P1: HbA1c 55, 138/78) and j (P2: 70, 150/90); expected P1 2.0 + P2 1.0 = 3.
    "m13_diabetes_detection": [
        K(FY, 2, 3, 66.666667),
        K(FY, 1, 2, 50, level="practice", geo="Y90001"),
        K(FY, 1, 1, 100, level="practice", geo="Y90002"),
    ],
    "m13_diabetes_hba1c": [
        K(FY, 1, 2, 50),
        K(FY, 1, 1, 100, level="locality", geo="East"),
        K(FY, 1, 2, 50, breakdown="sex", group="Male"),
    ],
    "m13_diabetes_bp": [
        K(FY, 1, 2, 50),
        K(FY, 0, 1, 0, level="locality", geo="Solihull"),
        K(FY, 1, 1, 100, breakdown="ethnicity", group="Asian"),   # b (H)
    ],
    # ---------------------------------------------------------------- m14/m15 deaths
    # e 2024-05-20 care home, palliative register; h 2024-04-10 hospital, neither; l 2024-06-15 hospice
    # (P2 Solihull, F), palliative register.
    "m14_deaths_usual_residence": [
        K(FY, 1, 3, 33.333333),        # e only: a hospice is not a usual place of residence (OHID DiUPR)
        K(APR, 0, 1, 0),
        K(MAY, 1, 1, 100),
        K(JUN, 0, 1, 0),               # l died in a hospice
        K(FY, 0, 2, 0, level="locality", geo="Solihull"),    # h hospital, l hospice
        K(FY, 1, 2, 50, breakdown="sex", group="Female"),    # e yes, l no
    ],
    # Table 2's "outside of acute hospital": everything but hospital, so the hospice death counts.
    "m14_deaths_outside_hospital": [
        K(FY, 2, 3, 66.666667),        # e (care home) and l (hospice) of e, h, l
        K(APR, 0, 1, 0),               # h (hospital)
        K(JUN, 1, 1, 100),             # l (hospice)
        K(FY, 1, 2, 50, level="locality", geo="Solihull"),   # l of h, l
        K(FY, 2, 2, 100, breakdown="sex", group="Female"),   # e, l
    ],
    "m15_eol_care_plan": [
        K(FY, 2, 3, 66.666667),        # e, l on the palliative register; h neither
        K(MAY, 1, 1, 100),
        K(JUN, 1, 1, 100),
        K(FY, 0, 1, 0, breakdown="sex", group="Male"),
    ],
    # ---------------------------------------------------------------- m16 chronic ACSC DSR per 100,000 (ESP 2013 all ages, 100,000)
    # Emergency + code in {J44, I50, E11, J45}: s2 (a, 05-02, J44X, 84 -> 80-84), s3 (b, 05-15, I50X,
    # '22', 73 -> 70-74), s5 (c, 06-10, J45X, 14 -> 10-14), s7 (f, 06-01, E119, 68 -> 65-69), s9 (d,
    # 06-20, J459, '2A', 44 -> 40-44) = 5 admissions. s4 (J44X) is elective ('11'); s1, s6, s8 are injuries.
    # No population aged 65-69, so s7 has no band rate: FY and June (which hold s7) have no DSR; the
    # old code silently used the other 4 bands ((2500/1000 + 5000/3000 + 5500/2000 + 7000/4000)/Y91 = 34.79).
    "m16_acsc_chronic": [
        K(FY, 5, 4982.8884, None, note=DSR_NOTE),           # denominator 20000 x Y91
        # age x sex strata, each sex weighted by the whole ESP (W = 2 x 100,000): s2 is F80-84 (P1F80
        # 1000), s3 M70-74 (P1M70 3000): (2500/1000 + 5000/3000) / Y31 / 200000 x 1e5 = 24.546371
        # (age-only standardisation pooled the sexes over W = 100,000: 49.09)
        K(MAY, 2, 1697.4675, 24.546371),                     # 20000 x Y31
        K(JUN, 3, 1642.7105, None, note=DSR_NOTE),          # s5, s7, s9: s7 in the empty 65-69 band
        K(APR, 0, 1642.7105, 0),
        K(FY, 1, 996.57769, 3.5120192, breakdown="imd_quintile", group="Unknown"),  # s9: 7000/(4000 Y91)/200000 x 1e5
        K(FY, 2, 1245.7221, 21.072115, breakdown="sex", group="Female"),  # a, c: (2.5 + 2.75)/Y91 over W = 100,000 (one sex)
    ],
    # Indirectly standardised ratio: observed / expected x 100, expected = area population x BSol's rate in
    # the period by age band and sex. Each kat band is at one practice only, so an area's expected equals its
    # observed: May s2 (F80-84) and s3 (M70-74), both P1 -> 2 / 2. FY and June hold s7 in M65-69, a band with
    # no population (no rate): not calculated; the expected sums the bands with rates (FY: s2, s3, s5, s9 = 4).
    "m16_acsc_chronic_isr": [
        K(MAY, 2, 2, 100),
        K(MAY, 2, 2, 100, level="practice", geo="Y90001"),
        K(MAY, 0, 0, None, level="practice", geo="Y90002"),   # no expected events: no ratio
        K(APR, 0, 0, None),
        K(FY, 5, 4, None, note="s7 in the empty M65-69 band"),
        K(JUN, 3, 2, None, note="s7 in the empty M65-69 band"),
    ],
    # BCF 2025-26: emergency admissions aged 65+: s1 (a 84), s2 (a), s3 (b 73, '22'), s6 (g 78), s7 (f 68) = 5;
    # s4 is elective, s8 (k) is 64 on 2024-05-15, s5/s9/s11 are under 65. Population 65+ 6000.
    "m16_emergency_admissions_65": [
        K(FY, 5, 6000, 334.47802),     # 5 / (6000 x Y91) x 100000
        K(APR, 2, 6000, 405.83333),    # s1, s6: 2 / (6000 x Y30) x 100000
        K(MAY, 2, 6000, 392.74194, note="s8: pat_k is 64 on 2024-05-15"),   # s2, s3: 2 / (6000 x Y31)
        K(JUN, 1, 6000, 202.91667),    # s7
        K(FY, 4, 4000, 401.37363, level="locality", geo="East"),       # s1, s2, s3, s7 / (4000 x Y91)
        K(FY, 1, 2000, 200.68681, level="locality", geo="Solihull"),   # s6 / (2000 x Y91)
    ],
    # ---------------------------------------------------------------- m17
    # UTC (type 03) wound care: a2 (c, 04-07), a3 (g, 05-07); a4 is not wound care, a1 is type 01.
    "m17_utc_wound_consultations": [
        K(FY, 2, 20000, 40.137363),    # 2 / (20000 x Y91) x 100000
        K(APR, 1, 20000, 60.875),      # 1 / (20000 x Y30) x 100000
        K(JUN, 0, 20000, 0),
        K(FY, 1, 10000, 40.137363, level="locality", geo="East"),             # c / (P1 10000 x Y91)
        K(FY, 2, 5000, 160.54945, breakdown="sex", group="Female"),           # c, g / (F 5000 x Y91)
        K(FY, 1, 2000, 200.68681, breakdown="age_band", group="0-14"),        # c / (F10 2000 x Y91)
    ],
    # Items: April P1 50 + P2 30 = 80 (P1's 40 glucose-strip items are not wound care). The extract's
    # latest month is April 2024, so its data end is 2024-04-30: May and June are missing, not zero,
    # and FY 2024-25 to date is April only (30 days).
    "m17_wound_prescribing": [
        K(FY, 80, 20000, 48.7),        # 80 / (20000 x Y30) x 1000
        K(APR, 80, 20000, 48.7),       # 80 / (20000 x Y30) x 1000
        K(MAY, None, None, None, absent=True, note="after the extract's data end"),
        K(FY, 50, 10000, 60.875, level="practice", geo="Y90001"),  # 50 / (10000 x Y30) x 1000
    ],
    # ---------------------------------------------------------------- m18 GPAD appointments per 1,000 (annualised by days)
    # April: P1 300+500+100+100 = 1000, P2 400+600 = 1000; May: P1 1000. GPAD's latest month is May
    # 2024 (data end 2024-05-31): June is missing, not zero; FY to date = April-May = 61 days.
    "m18_gp_appointments_rate": [
        K(FY, 3000, 20000, 898.15574),   # 3000 / (20000 x 61/365.25) x 1000 (June not annualised as 0: 602.06)
        K(APR, 2000, 20000, 1217.5),     # 2000 / (20000 x Y30) x 1000
        K(MAY, 1000, 20000, 589.1129),   # 1000 / (20000 x Y31) x 1000
        K(JUN, None, None, None, absent=True, note="after GPAD's data end"),
        K(Q1, None, None, None, absent=True, note="2024-25 Q1 is not complete in GPAD"),
        K(FY, 2000, 10000, 1197.541, level="practice", geo="Y90001"),    # 2000 / (10000 x 61/365.25) x 1000
        K(FY, 1000, 10000, 598.77049, level="locality", geo="Solihull"),  # 1000 / (10000 x 61/365.25) x 1000
    ],
    # ---------------------------------------------------------------- m19 GPAD booking intervals (unknown excluded)
    # April known: P1 300 same-day + 500 (2-7d) + 100 (>28d) [100 unknown excluded], P2 400 same-day +
    # 600 (8-14d) = 1900. May: P1 1000 same-day.
    "m19_gp_same_day": [
        K(FY, 1700, 2900, 58.62069),     # (300 + 400 + 1000) / (1900 + 1000)
        K(APR, 700, 1900, 36.842105),
        K(MAY, 1000, 1000, 100),
        K(FY, 1300, 1900, 68.421053, level="practice", geo="Y90001"),   # (300 + 1000) / (900 + 1000)
        K(FY, 400, 1000, 40, level="practice", geo="Y90002"),
    ],
    "m19_gp_within_14_days": [
        K(FY, 2800, 2900, 96.551724),    # (300 + 500 + 400 + 600 + 1000) / 2900
        K(APR, 1800, 1900, 94.736842),
        K(FY, 1800, 1900, 94.736842, level="practice", geo="Y90001"),   # (300 + 500 + 1000) / 1900
    ],
    # ---------------------------------------------------------------- m20 workforce (June 2024 = Q1 snapshot)
    "m20_gp_fte_per_10k": [
        K(FY, 9, 20000, 4.5),            # (5 + 4) / 20000 x 10000
        K(Q1, 9, 20000, 4.5),
        K(FY, 5, 10000, 5, level="practice", geo="Y90001"),
    ],
    "m20_nurse_fte_per_10k": [
        K(FY, 1.7, 20000, 0.85),         # 1.7 / 20000 x 10000
        K(FY, 1.7, 10000, 1.7, level="practice", geo="Y90001"),
        K(FY, 0, 10000, 0, level="practice", geo="Y90002"),   # no nurses at P2
    ],
    "m20_clinical_leaver_rate": [
        K(FY, 2, 15, 13.333333),         # leavers gp 1 + nurse 0 + gp 0 + dpc 1; headcount 6+3+4+2 (admin excluded)
        K(FY, 1, 9, 11.111111, level="practice", geo="Y90001"),   # 1 / (6 + 3)
        K(FY, 1, 6, 16.666667, level="practice", geo="Y90002"),   # 1 / (4 + 2)
    ],
    # ---------------------------------------------------------------- m21 CYP asthma/epilepsy/diabetes, under 20, per 100,000
    # s5 (c, 14, J45X, emergency) only: s9 (d, J459) is 44. Population under 20: P1F10 2000.
    "m21_cyp_ltc_admissions": [
        K(FY, 1, 2000, 200.68681),       # 1 / (2000 x Y91) x 100000
        K(JUN, 1, 2000, 608.75),         # 1 / (2000 x Y30) x 100000
        K(MAY, 0, 2000, 0, note="s11 (2024-05-25): pat_m's epilepsy admission at 19 is outside 'under 19s'"),
        K(FY, 1, 2000, 200.68681, breakdown="age_band", group="0-14"),
        K(FY, 1, 2000, 200.68681, breakdown="ethnicity", group="Black"),   # c (N)
    ],
}


# ------------------------------------------------------------------------------------ coverage
def test_every_indicator_has_known_answers() -> None:
    ids = {i.id for i in INDICATORS}
    assert set(EXPECTED) == ids, (
        f"missing known answers: {sorted(ids - set(EXPECTED))}; unknown ids: {sorted(set(EXPECTED) - ids)}")
    for ind in INDICATORS:
        cases = EXPECTED[ind.id]
        assert any(k.period == FY and k.level == "bsol" and k.breakdown == "none" for k in cases), ind.id
        if "month" in ind.frequency:
            assert any(k.period[0] == "month" for k in cases), f"{ind.id}: no monthly known answer"
        assert any(k.level != "bsol" or k.breakdown != "none" for k in cases), f"{ind.id}: no geography/breakdown row"


@pytest.mark.parametrize("indicator_id", [i.id for i in INDICATORS])
def test_known_answers(kat: pd.DataFrame, indicator_id: str) -> None:
    problems: list[str] = []
    for k in EXPECTED[indicator_id]:
        rows = _select(kat, indicator_id, k.period, k.level, k.geo, k.breakdown, k.group)
        if k.absent:
            if len(rows) and rows[["numerator", "denominator", "value"]].notna().any(axis=None):
                problems.append(f"{k.where()}: expected no row, found {rows[['numerator', 'denominator', 'value']].to_dict('records')}")
            continue
        if len(rows) != 1:
            problems.append(f"{k.where()}: expected one row, found {len(rows)}  [{k.note}]")
            continue
        r = rows.iloc[0]
        for col, want in (("numerator", k.num), ("denominator", k.den), ("value", k.value)):
            if not _close(r[col], want):
                problems.append(f"{k.where()}: {col} = {r[col]!r}, by hand {want!r}  [{k.note}]")
    assert not problems, f"{indicator_id}:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------------ confidence intervals
def _ci(row: pd.Series) -> tuple[float, float]:
    return float(row.lower_ci), float(row.upper_ci)


def test_wilson_ci_matches_formula(kat: pd.DataFrame) -> None:
    r = one(kat, "m05_ucr_2h", FY)                     # 2 of 3
    assert _ci(r) == pytest.approx(tuple(100 * v for v in wilson(2, 3)), rel=1e-9)
    assert _ci(r) == pytest.approx((20.765960, 93.850806), abs=1e-5)
    r = one(kat, "m19_gp_same_day", APR)               # 700 of 1900
    assert _ci(r) == pytest.approx(tuple(100 * v for v in wilson(700, 1900)), rel=1e-9)
    r = one(kat, "m06_p1_same_day", APR)               # 0 of 2: lower exactly 0
    assert r.lower_ci == 0 and r.upper_ci == pytest.approx(100 * wilson(0, 2)[1], rel=1e-9)
    r = one(kat, "m14_deaths_usual_residence", MAY)    # 1 of 1: upper exactly 100
    assert r.upper_ci == 100 and r.lower_ci == pytest.approx(100 * wilson(1, 1)[0], rel=1e-9)


def test_poisson_ci_for_rates_is_exact_below_ten(kat: pd.DataFrame) -> None:
    """Counts < 10 use exact chi-square limits (as phe_rate), divided by the denominator."""
    lo, hi = exact_poisson(3)   # chi2(0.025, 6)/2 = 0.61867, chi2(0.975, 8)/2 = 8.7673
    assert (lo, hi) == pytest.approx((0.618672, 8.767273), abs=1e-5)
    r = one(kat, "m04_care_home_admissions_65", FY)   # 3 / (6000 x Y91) x 1e5
    assert _ci(r) == pytest.approx((lo / (6000 * Y91) * 1e5, hi / (6000 * Y91) * 1e5), rel=1e-9)
    # 1 admission / 60 person-days (pat_a, pat_e: both female). The area row is person-clustered
    # (tests/test_clustered.py); breakdown groups keep the Poisson interval.
    r = one(kat, "m02_caseload_emergency_admissions", APR, breakdown="sex", group="Female")
    lo1, hi1 = exact_poisson(1)
    assert _ci(r) == pytest.approx((lo1 / (60 / 365.25), hi1 / (60 / 365.25)), rel=1e-9)
    # the BSol row: y = (1, 0), t = (30, 30) days, R = 1/60 a day; residuals 1/2, -1/2; sandwich
    # se(log R) = sqrt(2/1 x (1/4 + 1/4)) / 1 = 1, limits R exp(-/+ 1.96)
    r = one(kat, "m02_caseload_emergency_admissions", APR)
    rate = 365.25 / 60
    assert _ci(r) == pytest.approx((rate * math.exp(-1.959963984540054), rate * math.exp(1.959963984540054)), rel=1e-9)
    r = one(kat, "m11_hypertension_detection", FY)     # register 4 / expected 6, CI on the register count
    lo4, hi4 = exact_poisson(4)
    assert _ci(r) == pytest.approx((lo4 / 6 * 100, hi4 / 6 * 100), rel=1e-9)
    r = one(kat, "m17_utc_wound_consultations", JUN)   # 0 events: (0, chi2(0.975, 2)/2 = 3.6889)
    assert _ci(r) == pytest.approx((0.0, 3.688879 / (20000 * Y30) * 1e5), rel=1e-6)


def test_t_interval_for_mean_delays(kat: pd.DataFrame) -> None:
    for ind, values in (("m06_p1_mean_delay", [5, 0, 5]), ("m06_p2_mean_delay", [4, 6])):
        v = np.array(values, dtype=float)
        half = sps.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
        r = one(kat, ind, FY)
        # delays cannot be negative, so the lower limit is clipped at 0 days
        assert _ci(r) == pytest.approx((max(v.mean() - half, 0.0), v.mean() + half), rel=1e-9)
    # p1: mean 3.3333, sd 2.88675, t(2) 4.302653 -> 3.3333 -/+ 7.17109 -> (-3.84 clipped to 0, 10.50)
    assert _ci(one(kat, "m06_p1_mean_delay", FY)) == pytest.approx((0.0, 10.504421), abs=1e-5)
    # a single discharge has no interval; two identical delays have a zero-width one
    r = one(kat, "m06_p2_mean_delay", MAY)
    assert math.isnan(r.lower_ci) and math.isnan(r.upper_ci)
    assert _ci(one(kat, "m06_p1_mean_delay", APR)) == pytest.approx((5.0, 5.0))


def _dobson(bands: list[tuple[float, float, float]], total_weight: float, multiplier: float = 1e5):
    """DSR and Dobson limits from (weight, events, person-years) per band; exact Poisson O limits (O < 10)."""
    o = sum(d for _, d, _ in bands)
    dsr = sum(w * d / n for w, d, n in bands) / total_weight
    var = sum(w**2 * d / n**2 for w, d, n in bands) / total_weight**2
    lo_o, hi_o = exact_poisson(int(o))
    scale = math.sqrt(var / o)
    return dsr * multiplier, (dsr + scale * (lo_o - o)) * multiplier, (dsr + scale * (hi_o - o)) * multiplier


def test_dobson_ci_for_dsr(kat: pd.DataFrame) -> None:
    # m09 FY: 80-84 (w 2500, 1 event, 1000 x Y91), 75-79 (w 4000, 1 event, 2000 x Y91); 65+ weights 19,500
    value, lo, hi = _dobson([(2500, 1, 1000 * Y91), (4000, 1, 2000 * Y91)], 19500)
    r = one(kat, "m09_falls_65", FY)
    assert r.value == pytest.approx(value, rel=1e-9)
    assert _ci(r) == pytest.approx((lo, hi), rel=1e-9)
    # m16 May: s2 (F80-84, w 2500, P1F80 1000) and s3 (M70-74, w 5000, P1M70 3000); age x sex: W = 2 x 100,000
    value, lo, hi = _dobson([(2500, 1, 1000 * Y31), (5000, 1, 3000 * Y31)], 200_000)
    r = one(kat, "m16_acsc_chronic", MAY)
    assert r.value == pytest.approx(value, rel=1e-9)
    assert _ci(r) == pytest.approx((lo, hi), rel=1e-9)


# ------------------------------------------------------------------------------------ edge semantics
SNAPSHOT_IDS = [i.id for i in INDICATORS
                if any(isinstance(s, Events) and s.snapshot for s in (i.numerator, i.denominator))]


def test_snapshot_indicators_are_the_expected_ones() -> None:
    assert {s[:3] for s in SNAPSHOT_IDS} == {"m10", "m11", "m12", "m13", "m20"}


@pytest.mark.parametrize("indicator_id", SNAPSHOT_IDS)
def test_snapshot_fy_equals_latest_quarter(kat: pd.DataFrame, indicator_id: str) -> None:
    res = kat[kat.indicator_id == indicator_id]
    assert set(res.period_type) == {"quarter", "financial_year"}, "snapshot indicators have no monthly rows"
    key = ["geography_level", "geography", "breakdown", "group"]
    cols = ["numerator", "denominator", "value", "lower_ci", "upper_ci", "suppressed"]
    fy = res[res.period == "2024-25"].set_index(key)[cols].sort_index()
    q1 = res[res.period == "2024-25 Q1"].set_index(key)[cols].sort_index()
    assert len(fy) > 0
    pd.testing.assert_frame_equal(fy, q1)


def test_derive_fy_takes_latest_quarter_or_the_fixed_cohort_quarter() -> None:
    """Pure check of the FY rule with two quarters of one year (the KAT data has only Q1)."""
    periods = reporting_periods(date(2023, 4, 1), date(2024, 9, 30))
    frame = pd.DataFrame({
        "period_type": ["quarter", "quarter"], "period": ["2024-25 Q1", "2024-25 Q2"],
        "geography_level": "bsol", "geography": "BSol", "breakdown": "none", "group": "All", "n": [10.0, 20.0],
    })
    latest = _derive_fy(frame, periods, None)
    assert latest[latest.period_type == "financial_year"][["period", "n"]].to_dict("records") == [
        {"period": "2024-25", "n": 20.0}]
    cohort_q3 = _derive_fy(frame, periods, 3)   # ASCOF 2B(1): no Q3 yet -> no FY row
    assert (cohort_q3.period_type == "financial_year").sum() == 0
    cohort_q1 = _derive_fy(frame, periods, 1)
    assert cohort_q1[cohort_q1.period_type == "financial_year"]["n"].tolist() == [10.0]


def test_m08_fy_uses_q3_cohort_only_so_fy_2024_25_is_absent(kat: pd.DataFrame) -> None:
    res = kat[kat.indicator_id == "m08_reablement_91d"]
    assert set(res.period_type) == {"quarter", "financial_year"}
    assert set(res.period) == {"2023-24 Q3", "2023-24 Q4", "2023-24"}


def test_m07_denominator_is_living_residents(kat: pd.DataFrame) -> None:
    assert one(kat, "m07_nursing_home_emergency_admissions", MAY).denominator == 2   # e alive to 20 May
    assert one(kat, "m07_nursing_home_emergency_admissions", JUN).denominator == 1   # e died 2024-05-20


def test_caseload_exposure_and_people_stop_at_death(kat: pd.DataFrame) -> None:
    """pat_e's episode is open in the register but she died 2024-05-20: no caseload time after that."""
    got = {p[1]: one(kat, "m02_caseload_emergency_admissions", p).denominator * 365.25 for p in (APR, MAY, JUN, FY)}
    want = {"2024-04": 60, "2024-05": 82, "2024-06": 30, "2024-25": 172}   # a+e, a+b+e(20 days), a, total
    assert got == pytest.approx(want), f"caseload person-days: {got}, by hand {want}"
    assert one(kat, "m01_caseload", JUN).value == 1, "people on a caseload in June 2024: only pat_a is alive"


def test_age_thresholds(kat: pd.DataFrame) -> None:
    # 65+: pat_k is 64 on 2024-05-15 (fall s8 excluded) and 65 on 2024-06-03 (care home h5 included);
    # pat_j is 64 on 2024-05-21 (h3 excluded).
    assert one(kat, "m09_falls_65", MAY).numerator == 0
    assert one(kat, "m04_care_home_admissions_65", JUN).numerator == 1
    assert one(kat, "m04_care_home_admissions_65", MAY).numerator == 1    # h2 only, not h3
    # under 20: s9 (J459, 44) is not counted, s5 (J45X, 14) is
    assert one(kat, "m21_cyp_ltc_admissions", JUN).numerator == 1
    # 80+ blood pressure target: pat_a (84) 148/85 meets <=150/90; pat_b (73) 145/80 fails <=140/90
    assert one(kat, "m12_hypertension_bp_target", FY, breakdown="age_band", group="75-84").numerator == 1
    assert one(kat, "m12_hypertension_bp_target", FY, breakdown="age_band", group="65-74").numerator == 1


def test_emergency_methods_and_code_prefixes(kat: pd.DataFrame) -> None:
    # s4 (pat_b, J44X, method 11 elective, June) is not counted: Asian June ACSC admissions = 0
    assert one(kat, "m16_acsc_chronic", JUN, breakdown="ethnicity", group="Asian").numerator == 0
    # s3 (pat_b, I50X, method 22) is: Asian May = 1
    assert one(kat, "m16_acsc_chronic", MAY, breakdown="ethnicity", group="Asian").numerator == 1
    # s9 (pat_d, J459 under prefix J45, method "2A") is an emergency ACSC admission
    assert one(kat, "m16_acsc_chronic", JUN, breakdown="imd_quintile", group="Unknown").numerator == 1
    # injury prefix "S" matches S720 and S060; fall prefixes W19 / W01 match W19X / W01X
    assert one(kat, "m09_falls_65", APR).numerator == 2


def test_dsr_counts_events_in_age_bands_without_population(kat: pd.DataFrame) -> None:
    """pat_f's s7 (E119, emergency, aged 68) is a chronic ACSC admission. No one aged 65-69 is in
    the registered population, so it cannot enter a band rate, but it must not vanish from the
    numerator (which also drives the <10 suppression rule). PHE's rule (calculate_dsr: every
    denominator > 0): no DSR is calculated for a group with such a band, rather than dropping it."""
    got = {p[1]: one(kat, "m16_acsc_chronic", p).numerator for p in (FY, JUN)}
    assert got == {"2024-25": 5, "2024-06": 3}, f"m16 admissions: {got}; by hand s2, s3, s5, s7, s9 (June: s5, s7, s9)"
    for p in (FY, JUN):
        r = one(kat, "m16_acsc_chronic", p)
        assert math.isnan(r.value) and math.isnan(r.lower_ci) and math.isnan(r.upper_ci), p


def test_m19_excludes_unknown_booking_interval(kat: pd.DataFrame) -> None:
    r = one(kat, "m19_gp_same_day", APR)
    assert (r.numerator, r.denominator) == (700, 1900)   # the 100 'unknown' at P1 are out of both
    r = one(kat, "m19_gp_same_day", APR, level="practice", geo="Y90001")
    assert (r.numerator, r.denominator) == (300, 900)


def test_smoking_referral_window_is_the_12_months_to_the_snapshot(kat: pd.DataFrame) -> None:
    """12 months to 2024-06-30 = 2023-07-01..2024-06-30; pat_j was referred on 2023-07-01.
    (snapshot - 365 days is 2023-07-01 because of 29 Feb 2024, and the filter is a strict `>`.)"""
    r = one(kat, "m10_smokers_referred", FY, level="locality", geo="Solihull")
    assert (r.numerator, r.denominator) == (1, 1), f"Solihull smokers referred {r.numerator} of {r.denominator}; by hand 1 of 1"


def test_each_source_has_its_own_data_end_and_latest_revised_month_is_provisional(kat: pd.DataFrame) -> None:
    """GPAD ends in May 2024 (its latest month) although the data end is June: its FY to date ends
    2024-05-31. UCR and GPAD are usually revised, so their latest month (and the periods holding
    it) are provisional; care-home admissions are not a revised source."""
    fy = one(kat, "m18_gp_appointments_rate", FY)
    assert fy.period_end == date(2024, 5, 31) and bool(fy.provisional)
    assert bool(one(kat, "m18_gp_appointments_rate", MAY).provisional)
    assert not one(kat, "m18_gp_appointments_rate", APR).provisional
    assert bool(one(kat, "m05_ucr_referrals", JUN).provisional) and bool(one(kat, "m05_ucr_referrals", Q1).provisional)
    assert not one(kat, "m05_ucr_referrals", MAY).provisional
    assert not kat[kat.indicator_id == "m04_care_home_admissions_65"].provisional.any()


def test_rolling_12_months_known_answers(kat: pd.DataFrame) -> None:
    """Rolling years (Fingertips' small-area view): each month with the 11 before it, from the first
    month with 12 months of data (data start April 2023, so 12m to 2024-03 is the first)."""
    first = kat[kat.period_type == "rolling_12m"].sort_values("period_start").iloc[0]
    assert first.period == "12m to 2024-03" and first.period_start == date(2023, 4, 1)
    # UCR referrals u1-u4 (April and May 2024): a count, so a year without any is 0.
    for period, want in (("12m to 2024-03", 0), ("12m to 2024-04", 2), ("12m to 2024-06", 4)):
        assert one(kat, "m05_ucr_referrals", ("rolling_12m", period)).value == want, period
    # u1 (1h30) and u3 (2h) within two hours of u1-u3 eligible: 2 of 3.
    r = one(kat, "m05_ucr_2h", ("rolling_12m", "12m to 2024-06"))
    assert (r.numerator, r.denominator) == (2, 3) and _close(r.value, 66.666667)
    # GPAD ends May 2024: 12m to 2024-05 holds April (700 of 1900) and May (1000 of 1000).
    r = one(kat, "m19_gp_same_day", ("rolling_12m", "12m to 2024-05"))
    assert (r.numerator, r.denominator) == (1700, 2900) and _close(r.value, 58.62069)
    assert _select(kat, "m19_gp_same_day", ("rolling_12m", "12m to 2024-06")).empty  # after GPAD's end
    # 3000 appointments / (20,000 people x 366/365.25 years: June 2023-May 2024 holds 29 Feb) x 1000;
    # the population is 2024-25's, the financial year of the window's last month.
    r = one(kat, "m18_gp_appointments_rate", ("rolling_12m", "12m to 2024-05"))
    assert (r.numerator, r.denominator) == (3000, 20000) and _close(r.value, 149.69263)
    assert bool(r.provisional)  # it holds GPAD's latest (revised) month


def test_count_indicators_report_zero_for_a_complete_month_without_events(kat: pd.DataFrame) -> None:
    rows = _select(kat, "m05_ucr_referrals", JUN)
    assert len(rows) == 1 and rows.iloc[0].value == 0, "June 2024 UCR referrals: 0 by hand, row missing"


# ------------------------------------------------------------------------------------ suppression
def test_suppression_flags(kat: pd.DataFrame) -> None:
    """Issue 10's rule: counts 1-7 hidden at every level below England (BSol included), a cell left
    alone as the only hidden one of a set is joined by its smallest sibling, zeros are not small."""
    m04 = "m04_care_home_admissions_65"
    assert one(kat, m04, FY).suppressed                                                  # BSol: 3
    assert one(kat, m04, FY, level="locality", geo="East").suppressed                    # 1
    assert one(kat, m04, FY, level="locality", geo="East", breakdown="sex", group="Male").suppressed  # 1
    # Female is 0 (not small) but is the only other cell of East's sex groups: shown, it would give
    # Male = East total, so it is hidden as the complementary cell
    assert one(kat, m04, FY, level="locality", geo="East", breakdown="sex", group="Female").suppressed
    assert not one(kat, "m01_caseload", ("financial_year", "2023-24")).suppressed             # 0 is not small
    assert one(kat, "m06_p1_same_day", FY, level="locality", geo="Solihull").suppressed        # denominator 1
    assert one(kat, "m01_caseload", FY, level="locality", geo="East").suppressed               # count 3
    assert one(kat, "m01_caseload", FY).suppressed                                             # BSol: 3
    assert not one(kat, "m18_gp_appointments_rate", FY, level="practice", geo="Y90002").suppressed  # 1000
    assert not one(kat, "m19_gp_same_day", APR, level="practice", geo="Y90001").suppressed      # 300/900
    # DSR with fewer than 10 events: suppressed at every level, BSol included
    for ind in ("m09_falls_65", "m16_acsc_chronic"):
        res = kat[kat.indicator_id == ind]
        assert res.suppressed.all(), f"{ind}: every row has < 10 events"
    # a crude rate on 1 event is hidden at BSol too
    assert one(kat, "m21_cyp_ltc_admissions", FY).suppressed


# ------------------------------------------------------------------------------------ structure
@pytest.mark.parametrize("indicator_id", [i.id for i in INDICATORS])
def test_only_declared_breakdowns_and_frequencies(kat: pd.DataFrame, indicator_id: str) -> None:
    ind = INDICATORS_BY_ID[indicator_id]
    res = kat[kat.indicator_id == indicator_id]
    assert len(res), "no results at all"
    assert set(res.breakdown) <= {"none", *ind.breakdowns}
    if not ind.breakdowns:
        assert set(res.breakdown) == {"none"}
    else:  # every declared breakdown shows up (each has events in the KAT data)
        assert set(res.breakdown) == {"none", *ind.breakdowns}
    assert set(res[res.breakdown != "none"].geography_level) <= {"bsol", "place", "locality"}
    assert set(res.geography_level) == {"bsol", "place", "locality", "neighbourhood", "practice"}
    assert set(res.period_type) <= set(ind.frequency)
    assert not res.duplicated(["period_type", "period", "geography_level", "geography", "breakdown", "group"]).any()


@pytest.mark.parametrize("indicator_id", [i.id for i in INDICATORS if i.aggregation not in ("median", "percentile")])
def test_groups_add_up_to_the_total(kat: pd.DataFrame, indicator_id: str) -> None:
    """Every event is in exactly one group of each breakdown and one practice, so numerators add up.
    (A group whose denominator is empty must not swallow its events.)"""
    res = kat[(kat.indicator_id == indicator_id) & kat.period.str.startswith("2024")]
    key = ["period_type", "period", "geography_level", "geography"]
    total = res[res.breakdown == "none"].set_index(key)["numerator"]
    problems = []
    for (bd, *k), grp in res[res.breakdown != "none"].groupby(["breakdown", *key]):
        want = total.get(tuple(k), np.nan)
        got = grp.numerator.sum()
        if not math.isclose(got, want, abs_tol=1e-9):
            problems.append(f"{k[1]} {k[2]}={k[3]} by {bd}: groups {dict(zip(grp.group, grp.numerator, strict=True))} sum {got}, total {want}")
    practices = res[(res.breakdown == "none") & (res.geography_level == "practice")].groupby(["period_type", "period"]).numerator.sum()
    bsol = res[(res.breakdown == "none") & (res.geography_level == "bsol")].set_index(["period_type", "period"]).numerator
    for k, v in bsol.items():
        if not math.isclose(practices.get(k, 0.0), v, abs_tol=1e-9):
            problems.append(f"{k[1]}: practices sum {practices.get(k, 0.0)}, BSol {v}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------ reporting periods
def _p(frame: pd.DataFrame, period_type: str) -> pd.DataFrame:
    return frame[frame.period_type == period_type].reset_index(drop=True)


def test_reporting_periods_labels_and_boundaries() -> None:
    rp = reporting_periods(date(2023, 4, 1), date(2024, 6, 30))
    months = _p(rp, "month")
    assert months.period.tolist() == [f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 7)]
    assert (months.period_start.iloc[10], months.period_end.iloc[10]) == (date(2024, 2, 1), date(2024, 2, 29))
    quarters = _p(rp, "quarter")
    assert quarters[["period", "period_start", "period_end"]].values.tolist() == [
        ["2023-24 Q1", date(2023, 4, 1), date(2023, 6, 30)],
        ["2023-24 Q2", date(2023, 7, 1), date(2023, 9, 30)],
        ["2023-24 Q3", date(2023, 10, 1), date(2023, 12, 31)],
        ["2023-24 Q4", date(2024, 1, 1), date(2024, 3, 31)],
        ["2024-25 Q1", date(2024, 4, 1), date(2024, 6, 30)],
    ]
    fys = _p(rp, "financial_year")
    assert fys[["period", "period_start", "period_end"]].values.tolist() == [
        ["2023-24", date(2023, 4, 1), date(2024, 3, 31)],
        ["2024-25", date(2024, 4, 1), date(2024, 6, 30)],   # partial: to date
    ]
    assert fys.years.tolist() == pytest.approx([366 / 365.25, 91 / 365.25])   # 2023-24 holds 29 Feb 2024
    # every period knows its financial year and quarter of it
    assert rp.set_index("period").loc["2024-01", "fy"] == "2023-24"
    assert rp.set_index("period").loc["2024-01", "quarter_of_fy"] == 4
    assert rp.set_index("period").loc["2023-12", "quarter_of_fy"] == 3
    assert rp.set_index("period").loc["2024-04", "fy"] == "2024-25"


def test_reporting_periods_partial_quarter_and_year() -> None:
    rp = reporting_periods(date(2023, 4, 1), date(2024, 8, 31))
    assert _p(rp, "month").period.iloc[-1] == "2024-08"
    assert _p(rp, "quarter").period.iloc[-1] == "2024-25 Q1"          # Q2 (Jul-Sep) incomplete
    fy = _p(rp, "financial_year").iloc[-1]
    assert (fy.period, fy.period_start, fy.period_end) == ("2024-25", date(2024, 4, 1), date(2024, 8, 31))
    assert fy.years == pytest.approx(153 / 365.25)
    # a data end on 31 March: no row at all for the next year
    rp = reporting_periods(date(2023, 4, 1), date(2024, 3, 31))
    assert set(rp.period) >= {"2023-24", "2023-24 Q4", "2024-03"}
    assert not rp.period.str.startswith("2024-25").any()
    # a data start inside a quarter: that quarter is not complete, the FY starts at the data start
    rp = reporting_periods(date(2023, 5, 1), date(2024, 3, 31))
    assert _p(rp, "quarter").period.tolist() == ["2023-24 Q2", "2023-24 Q3", "2023-24 Q4"]
    assert _p(rp, "financial_year").period_start.tolist() == [date(2023, 5, 1)]
    assert _p(rp, "month").period.iloc[0] == "2023-05"


# ------------------------------------------------------------------ m16: the CCG OIS 2.6 exclusions
# Extra May emergency spells for pat_a (F 84, P1 F80-84, 1000) and pat_b (M 73, P1 M70-74, 3000),
# each worked against the NHS Digital CCG OIS 2.6 v1.15 data filters (the NHS OF 2.3.i chronic ACSC):
# (id, patient, method, primary, classification, source, secondaries, procedures, counted?, why)
ACSC_EXTRA = [
    ("x01", "pat_a", "21", "I500", 2, "19", None, None, False, "day case: CLASSPAT must be 1"),
    ("x02", "pat_a", "21", "J440", 1, "51", None, None, False, "transfer: ADMISORC 51"),
    ("x03", "pat_b", "21", "I500", 1, "52", None, None, False, "transfer: ADMISORC 52"),
    ("x04", "pat_b", "21", "I209", 1, "19", None, "U051 K634", False, "angina with K63 (chapter K) second"),
    ("x05", "pat_b", "21", "I259", 1, "19", None, "U051 Y534", True, "angina: U and Y do not exclude"),
    ("x06", "pat_b", "21", "I500", 1, "19", None, "K634", True, "heart failure: K63 is not a listed cardiac code"),
    ("x07", "pat_b", "21", "I110", 1, "19", None, "K491", False, "heart failure with K49 (K4)"),
    ("x08", "pat_a", "21", "I10X", 1, "19", None, "K571", False, "hypertension with K57"),
    ("x09", "pat_a", "21", "J209", 1, "19", "I10X J449", None, True, "J20 with a COPD secondary (J44)"),
    ("x10", "pat_a", "21", "J209", 1, "19", "I10X", None, False, "J20 without COPD"),
    ("x11", "pat_a", "21", "J209", None, None, None, None, False, "J20, no secondaries recorded"),
    ("x12", "pat_b", "21", "B181", 1, "19", "D570", None, False, "hepatitis B with sickle-cell (D57)"),
    ("x13", "pat_b", "21", "B181", 1, "19", "K703", None, True, "hepatitis B, no D57"),
    ("x14", "pat_a", "21", "I240", 1, "19", None, None, False, "I24.0 is not on the CCG OIS 2.6 list"),
    ("x15", "pat_b", "21", "R568", 1, "19", None, None, False, "R56 is not on the list"),
    ("x16", "pat_a", "21", "I500", 1, None, None, None, True, "source not recorded: not a transfer"),
    ("x19", "pat_b", "21", "I500", None, "19", None, None, False, "classification not recorded: not CLASSPAT 1"),
    ("x17", "pat_a", "2B", "I500", 1, "19", None, None, True, "method 2B is in ADMIMETH; source 19 is no transfer"),
    ("x18", "pat_a", "11", "I500", 1, "19", None, None, False, "elective"),
    ("x20", "pat_g", "21", "I500", 1, "19", None, None, True, "P2's woman aged 78 (F75-79, 2000)"),
]


def _with_acsc_extra(frames: dict[str, pd.DataFrame]) -> None:
    """The extra spells, and the shipped acsc_chronic* code lists in place of the test's short one
    (which the hand-worked answers check: they are read from the specification, not from the file)."""
    from data_loaders.reference import REFERENCE_DIR
    from tests.kat_data import SPELL_CODING

    shipped = pd.read_csv(REFERENCE_DIR / "code_list.csv", dtype=str)
    lists = frames["code_list"]
    frames["code_list"] = pd.concat([lists[~lists["list_name"].str.startswith("acsc_chronic")],
                                     shipped[shipped["list_name"].str.startswith("acsc_chronic")]], ignore_index=True)

    day = date(2024, 5, 6)
    extra = pd.DataFrame([(sid, pid, day, day, method, dx, None, None, None, False, cls, src, sec, ops)
                          for sid, pid, method, dx, cls, src, sec, ops, _, _ in ACSC_EXTRA],
                         columns=list(frames["inpatient_spell"].columns[:10]) + list(SPELL_CODING))
    extra["patient_classification"] = extra["patient_classification"].astype("Int64")
    spells = frames["inpatient_spell"]  # s11 (G409 at 19) is on the shipped list, in a band with no population
    # 1,000 women aged 80-84 at P2 too, so the practices share a band (for the indirect standardisation)
    frames["population"] = pd.concat([frames["population"], pd.DataFrame(
        [("2024-25", "Y90002", "F", 80, 5, "White", 1000)], columns=frames["population"].columns)], ignore_index=True)
    frames["inpatient_spell"] = pd.concat([spells[spells["spell_id"] != "s11"], extra], ignore_index=True)


@pytest.fixture(scope="module", params=BACKENDS)
def kat_acsc(request: pytest.FixtureRequest) -> pd.DataFrame:
    template_db: TemplateDb = request.getfixturevalue("template_db")
    return _read(template_db(request.param, "kat-acsc", lambda url: build_kat_db(url, _with_acsc_extra)))


def test_m16_follows_the_ccg_ois_2_6_exclusions(kat_acsc: pd.DataFrame) -> None:
    counted = [e for e in ACSC_EXTRA if e[8]]
    assert [e[0] for e in counted] == ["x05", "x06", "x09", "x13", "x16", "x17", "x20"]
    # May: s2 and x09, x16, x17 for pat_a (F80-84: 2,000 with P2's 1,000); s3 and x05, x06, x13 for pat_b
    # (M70-74, 3000); x20 for pat_g (F75-79, 2000). ESP weights 2500, 5000, 4000; W = 2 x 100,000:
    # (2500 x 4/2000 + 5000 x 4/3000 + 4000 x 1/2000) / Y31 / 200,000 x 1e5 = 13.666667 / Y31 / 2 = 80.512118
    r = one(kat_acsc, "m16_acsc_chronic", MAY)
    assert r.numerator == 9
    assert r.value == pytest.approx((5 + 20 / 3 + 2) / Y31 / 2, rel=1e-9)
    assert r.value == pytest.approx(80.512118, rel=1e-6)
    assert one(kat_acsc, "m16_acsc_chronic", MAY, breakdown="sex", group="Male").numerator == 4


def test_m16_indirectly_standardised_ratio_by_practice(kat_acsc: pd.DataFrame) -> None:
    """BCF 2023-25 template: observed / expected x 100, expected from BSol's May rates by age band and
    sex: F80-84 4/2000, M70-74 4/3000, F75-79 1/2000 (no events in the other bands). Byar's interval
    on the observed count (exact Poisson below 10), the expected count held fixed."""
    # P1 (Y90001): observed 8 (s2, x09, x16, x17, s3, x05, x06, x13); expected 1000 x 4/2000 + 3000 x 4/3000 = 6
    # P2 (Y90002): observed 1 (x20); expected 1000 x 4/2000 + 2000 x 1/2000 = 3; BSol 9 / 9
    for geo, observed, expected in (("Y90001", 8, 6.0), ("Y90002", 1, 3.0)):
        r = one(kat_acsc, "m16_acsc_chronic_isr", MAY, level="practice", geo=geo)
        assert (r.numerator, r.denominator) == (observed, pytest.approx(expected, rel=1e-12)), geo
        assert r.value == pytest.approx(observed / expected * 100, rel=1e-9), geo
        lo = sps.chi2.ppf(0.025, 2 * observed) / 2
        hi = sps.chi2.ppf(0.975, 2 * observed + 2) / 2
        assert _ci(r) == pytest.approx((lo / expected * 100, hi / expected * 100), rel=1e-9), geo
    assert one(kat_acsc, "m16_acsc_chronic_isr", MAY, level="practice", geo="Y90001").value == pytest.approx(133.33333)
    bsol = one(kat_acsc, "m16_acsc_chronic_isr", MAY)
    assert (bsol.numerator, bsol.denominator, bsol.value) == (9, pytest.approx(9.0), pytest.approx(100.0))


# Worked independently from the ASCOF 2B(1) definition (session 7, a helper that had not read the
# code): ages in completed years at discharge; a quarter only once its end + 91 days <= data end.
M08_EXTRA = [
    ("pat_k", date(2024, 6, 30), "reablement", "at_home"),  # 65 since 2024-06-01; followed up 2024-09-29
    ("pat_a", date(2024, 7, 1), "reablement", "died"),      # 84: in, not at home; its own 91 days end 2024-09-30
    ("pat_j", date(2024, 7, 1), "reablement", "at_home"),   # 64 (65 only on 2025-01-01): out
    ("pat_b", date(2024, 7, 2), "rehabilitation", "at_home"),
    ("pat_f", date(2024, 9, 15), "reablement", "unknown"),  # status unknown: out
]
M08_WANT = {  # data end -> {period: (numerator, denominator)}; any other period is absent
    date(2024, 9, 30): {"2023-24 Q3": (2, 3), "2023-24 Q4": (1, 1), "2024-25 Q1": (2, 2), "2023-24": (2, 3)},
    date(2024, 12, 31): {"2023-24 Q3": (2, 3), "2023-24 Q4": (1, 1), "2024-25 Q1": (2, 2), "2024-25 Q2": (1, 2),
                         "2023-24": (2, 3)},
}


def test_m08_reports_a_quarter_only_once_its_91_day_follow_up_is_complete(tmp_path: Path) -> None:
    """With data to 30 Sep 2024, 2024-25 Q2 is not shown although a's 1 July discharge has had its 91
    days: the quarter's value would come from that one early discharge (0%), not from its cohort."""
    from data_loaders.db import write_transaction
    from data_loaders.load import load_frames
    from metrics.compute import compute_all
    from tests.kat_data import frames

    data = frames()
    extra = pd.DataFrame(M08_EXTRA, columns=list(data["reablement_discharge"].columns))
    data["reablement_discharge"] = pd.concat([data["reablement_discharge"], extra], ignore_index=True)
    with write_transaction(f"duckdb:///{tmp_path / 'm08.duckdb'}") as conn:
        load_frames(conn, data)
        for end, want in M08_WANT.items():
            got = compute_all(conn, [INDICATORS_BY_ID["m08_reablement_91d"]], data_end=end)
            got = got[(got.geography_level == "bsol") & (got.breakdown == "none")]
            assert {r.period: (r.numerator, r.denominator) for r in got.itertuples()} == want, end
