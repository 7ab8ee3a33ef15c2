"""Known-answer tests for metrics.prepost on the hand-built caseload (tests/prepost_data.py).

Every expected number below is worked out by hand from the event comments in prepost_data.py.
Runs on DuckDB and PostgreSQL (one database per backend per run). The last test reads the run's
small demo (conftest `demo_db`) and checks all 45 cells of the Implementation Plan's table.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from data_loaders.calendar import DATA_START
from data_loaders.db import read_engine, write_transaction
from data_loaders.dialect import make_engine
from data_loaders.load import load_frames
from data_loaders.reference import load_reference
from data_loaders.tables import prepost_flow
from metrics import prepost as pp
from metrics.disclosure import DisclosureRule
from metrics.pipeline import set_dataset_info
from tests.conftest import BACKENDS, TemplateDb
from tests.prepost_data import DATA_END, frames

YEAR = 365.25

# (team code, activity) -> (pre, post), window 6 months, every eligible index date
EXPECTED = {
    "INT01": {  # pat_a, pat_b, pat_d (at 2024-01-01), pat_g
        "gp_appointments": (3, 2), "ae_attendances": (6, 3), "inpatient_spells": (2, 2),
        "op_community_contacts": (1, 4), "care_packages": (1, 0),
    },
    "INT02": {  # pat_c, pat_d (at 2023-11-01)
        "gp_appointments": (2, 1), "ae_attendances": (1, 2), "inpatient_spells": (0, 0),
        "op_community_contacts": (1, 1), "care_packages": (0, 0),
    },
    "TOTAL": {  # pat_a, pat_b, pat_c, pat_d (once, at 2023-11-01), pat_g
        "gp_appointments": (4, 2), "ae_attendances": (6, 5), "inpatient_spells": (2, 2),
        "op_community_contacts": (2, 5), "care_packages": (1, 0),
    },
}
PEOPLE = {"INT01": 4, "INT02": 2, "TOTAL": 5}
# person-days alive in each window: pre / post (pat_b's post ends the day after death: 92 days)
PRE_DAYS = {"INT01": 183 + 184 + 184 + 183, "INT02": 184 + 184, "TOTAL": 183 + 184 + 184 + 184 + 183}
POST_DAYS = {"INT01": 183 + 92 + 182 + 183, "INT02": 182 + 182, "TOTAL": 183 + 92 + 182 + 182 + 183}


def _build(url: str) -> None:
    with write_transaction(url) as conn:
        load_reference(conn)
        load_frames(conn, frames())
        set_dataset_info(conn, {"data_start": DATA_START.isoformat(), "data_end": DATA_END.isoformat(),
                                "is_demo": "false"})
        pp.refresh_prepost(conn)
        pp.refresh_flow(conn)
        pp.refresh_profile(conn)


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, template_db: TemplateDb) -> str:
    """The hand-built caseload, built once per backend per run: tests only read it."""
    return template_db(request.param, "prepost", _build)


def _table(url: str, **kw) -> pd.DataFrame:
    with read_engine(url).connect() as conn:
        return pp.prepost_table(conn, **kw)


def _row(table: pd.DataFrame, team: str, activity: str) -> pd.Series:
    sub = table[(table["int_team_code"] == team) & (table["activity"] == activity)]
    assert len(sub) == 1, (team, activity)
    return sub.iloc[0]


def test_counts_windows_deaths_rejoins_and_total(url: str) -> None:
    table = _table(url)
    assert list(table["int_team_code"].unique()) == ["INT01", "INT02", "TOTAL"]
    assert list(table.loc[table.int_team_code == "TOTAL", "int_team"].unique()) == ["Total"]
    for team, acts in EXPECTED.items():
        for act, (pre, post) in acts.items():
            r = _row(table, team, act)
            assert (r["pre"], r["post"], r["variance"]) == (pre, post, post - pre), (team, act)
            assert r["people"] == PEOPLE[team]
            assert r["pre_person_years"] == pytest.approx(PRE_DAYS[team] / YEAR)
            assert r["post_person_years"] == pytest.approx(POST_DAYS[team] / YEAR)
            assert r["pre_per_person"] == pytest.approx(pre / PEOPLE[team])
    # pat_b died in the post window: counted as observed, exposure cut at death
    assert _row(table, "INT01", "inpatient_spells")["died_in_post"] == 1
    assert _row(table, "INT02", "inpatient_spells")["died_in_post"] == 0
    # team rows need not add to Total: pat_d is in both teams but once in Total
    gp = table[table.activity == "gp_appointments"].set_index("int_team_code")["pre"]
    assert gp["INT01"] + gp["INT02"] == 5 and gp["TOTAL"] == 4


def test_rates_and_rate_ratios(url: str) -> None:
    r = _row(_table(url), "TOTAL", "ae_attendances")  # 6 pre, 5 post
    t0, t1 = PRE_DAYS["TOTAL"] / YEAR, POST_DAYS["TOTAL"] / YEAR
    assert r["pct_change"] == pytest.approx(-100 / 6)
    assert r["pre_rate"] == pytest.approx(6 / t0) and r["post_rate"] == pytest.approx(5 / t1)
    assert r["rate_ratio"] == pytest.approx((5 * 918) / (822 * 6))
    # exact conditional interval: Clopper-Pearson on post | total = 11, mapped to the ratio
    ci = st.binomtest(5, 11).proportion_ci(0.95, method="exact")
    assert r["rate_ratio_lower"] == pytest.approx(ci.low / (1 - ci.low) * t0 / t1)
    assert r["rate_ratio_upper"] == pytest.approx(ci.high / (1 - ci.high) * t0 / t1)
    assert r["rr_robust_lower"] < r["rate_ratio"] < r["rr_robust_upper"]
    # zeros: no post events -> ratio 0, lower 0; no events at all -> undefined
    packages = _row(_table(url), "TOTAL", "care_packages")
    assert packages["rate_ratio"] == 0 and packages["rate_ratio_lower"] == 0
    assert math.isnan(_row(_table(url), "INT02", "inpatient_spells")["rate_ratio"])
    assert math.isnan(_row(_table(url), "INT02", "care_packages")["pct_change"])


def test_rate_ratio_robust_by_hand() -> None:
    y0, y1 = np.array([2.0, 0.0, 4.0]), np.array([1.0, 1.0, 1.0])
    t = np.ones(3)
    lo, hi = pp.rate_ratio_robust(y0, y1, t, t)
    u = (y1 - 1) / 3 - (y0 - 2) / 6
    se = math.sqrt(3 / 2 * float((u**2).sum()))
    assert lo == pytest.approx(0.5 * math.exp(-1.959963984540054 * se))
    assert hi == pytest.approx(0.5 * math.exp(1.959963984540054 * se))
    assert all(math.isnan(x) for x in pp.rate_ratio_robust(y0, np.zeros(3), t, t))


def test_cohort_filter_and_flow(url: str) -> None:
    table = _table(url, cohort_from=date(2023, 10, 1), cohort_to=date(2023, 10, 31))
    # pat_a (10-15) and pat_g (10-01) only: pat_h (10-10) died before its index date
    assert set(table["int_team_code"]) == {"INT01", "TOTAL"}
    assert _row(table, "TOTAL", "ae_attendances")[["people", "pre", "post"]].tolist() == [2, 3, 2]
    with read_engine(url).connect() as conn:
        flow = pp.cohort_flow(conn).set_index("int_team_code")
    assert flow.loc["INT01"].tolist() == [5, 5, 1, 0, 0, 4]   # pat_e: pre window before data
    assert flow.loc["INT02"].tolist() == [4, 4, 0, 1, 1, 2]   # pat_f: post incomplete; pat_h dead
    assert flow.loc["TOTAL"].tolist() == [8, 8, 1, 1, 1, 5]



def test_cohort_flow_is_stored_at_refresh(url: str, tmp_path: Path) -> None:
    """The page's "who is counted" reads prepost_flow (stored at refresh), never patient rows: the
    same hand-worked counts as the live query, for the "all" preset and the 6-month window."""
    with read_engine(url).connect() as conn:
        stored = pp.read_flow(conn, "all", 6).set_index("int_team_code")
        assert set(pp.read_flow(conn, "all", 3)["int_team_code"]) == {"INT01", "INT02", "TOTAL"}
        assert pp.read_flow(conn, "all", 9).empty  # not a stored window
    assert stored.loc["INT01"].tolist() == [5, 5, 1, 0, 0, 4]
    assert stored.loc["INT02"].tolist() == [4, 4, 0, 1, 1, 2]
    assert stored.loc["TOTAL"].tolist() == [8, 8, 1, 1, 1, 5]
    old = f"duckdb:///{tmp_path / 'old.duckdb'}"  # a database refreshed before the table existed
    with write_transaction(old) as conn:
        prepost_flow.drop(conn)
    with read_engine(old).connect() as conn:
        assert pp.read_flow(conn, "all", 6).empty


def test_window_length_is_configurable(url: str) -> None:
    # 3 months: pat_g's pre window [2023-07-01, 2023-10-01) keeps only its 30 Sep A&E
    r = _row(_table(url, window_months=3), "INT01", "ae_attendances")
    assert r["people"] == 5  # pat_e (2023-09-30) is now eligible too
    g_only = _table(url, window_months=3, cohort_from=date(2023, 10, 1), cohort_to=date(2023, 10, 1))
    assert _row(g_only, "INT01", "ae_attendances")[["pre", "post"]].tolist() == [1, 0]
    # 12 months: every pre window predates the data
    assert _table(url, window_months=12).empty


def test_stored_results_equal_live_and_plan_layout(url: str) -> None:
    with read_engine(url).connect() as conn:
        stored = pp.read_prepost(conn, "all", 6)
        live = pp.prepost_table(conn)
        assert pp.read_prepost(conn, "pilot", 6)["int_team_code"].tolist()[-1] == "TOTAL"
        assert not pp.read_prepost(conn, "all", 3).empty
    cols = ["int_team_code", "activity", "people", "pre", "post", "variance"]
    pd.testing.assert_frame_equal(stored[cols].astype({c: "int64" for c in cols[2:]}),
                                  live[cols].astype({c: "int64" for c in cols[2:]}))
    layout = pp.plan_layout(stored)
    assert layout["INT"].tolist() == ["EAST INT"] * 3 + ["WEST INT"] * 3 + ["TOTAL"] * 3
    assert layout.columns.tolist()[2:] == list(pp.ACTIVITY_LABELS.values())
    total = layout[layout.INT == "TOTAL"].set_index("MEASURE")
    assert total.loc["PRE-INT INTERVENTION", "A&E ATTENDANCES"] == 6
    assert total.loc["VARIANCE", "OUTPATIENTS & COMMUNITY CONTACTS"] == 3


def test_for_display_suppresses_teams_and_rounds(url: str) -> None:
    with read_engine(url).connect() as conn:
        shown = pp.for_display(pp.read_prepost(conn, "all", 6), DisclosureRule())
    west = shown[shown.int_team_code == "INT02"]
    assert west["suppressed"].all() and west["people"].isna().all() and west["pre"].isna().all()
    total_gp = shown[(shown.int_team_code == "TOTAL") & (shown.activity == "gp_appointments")].iloc[0]
    # The Total is BSol, which is below England too: pre 4 and post 2 are hidden with the variance.
    assert total_gp[["pre", "post", "variance", "pre_rate", "rate_ratio"]].isna().all()
    assert total_gp["suppressed"]
    exact = pp.read_prepost(read_engine(url).connect(), "all", 6)
    shown_rows = shown[shown["people"].notna() & shown["pre"].notna() & shown["post"].notna()]
    for _, r in shown_rows.iterrows():  # counts rounded; every derived figure from the rounded counts
        assert r["pre"] % 5 == 0 and r["post"] % 5 == 0 and r["people"] % 5 == 0
        assert r["variance"] == r["post"] - r["pre"]
        assert r["pre_per_person"] * r["people"] == pytest.approx(r["pre"])
        assert r["pre_rate"] * r["pre_person_years"] == pytest.approx(r["pre"])
        e = exact[(exact.int_team_code == r.int_team_code) & (exact.activity == r.activity)].iloc[0]
        assert r["pre_person_years"] / r["people"] == pytest.approx(e["pre_person_years"] / e["people"])


def test_difference_in_differences_known_answer(url: str) -> None:
    with read_engine(url).connect() as conn:
        did = pp.comparison_cohort(conn, cohort_from=date(2023, 10, 1), cohort_to=date(2023, 10, 1))
    did = did.set_index(["grp", "activity"])
    z = 1.959963984540054
    # pat_g vs ctl1, ctl2 (same stratum); ctl3 band 0, ctl4 male, ctl5 dead: not used
    want = {  # activity: (case change, control mean change, did, se)
        "ae_attendances": (-2, -1, -1, 1.0),
        "inpatient_spells": (0, -0.5, 0.5, 0.5),
        "op_community_contacts": (3, 0.5, 2.5, 0.5),
        "care_packages": (0, 0, 0, 0.0),
    }
    for grp in ("INT01", "TOTAL"):
        for act, (case_d, ctl_d, est, se) in want.items():
            r = did.loc[(grp, act)]
            assert (r["did_cases"], r["did_unmatched"], r["did_controls"]) == (1, 0, 2)
            assert r["case_change_pp"] == pytest.approx(case_d)
            assert r["control_change_pp"] == pytest.approx(ctl_d)
            assert r["did_pp"] == pytest.approx(est)
            assert r["did_lower"] == pytest.approx(est - z * se)
            assert r["did_upper"] == pytest.approx(est + z * se)
    assert did.loc[("TOTAL", "ae_attendances"), "did_share"] == pytest.approx(0.5)
    assert math.isnan(did.loc[("TOTAL", "op_community_contacts"), "did_share"])
    assert "gp_appointments" not in did.index.get_level_values("activity")


def test_control_sample_is_portable_and_deterministic(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    import sqlalchemy as sa

    p = pp.T["patient"]
    with read_engine(url).connect() as conn:
        assert pp.control_fraction(conn) == 1.0
        monkeypatch.setattr(pp.matching, "MAX_CONTROL_POOL", 2)
        assert pp.control_fraction(conn) == pytest.approx(2 / 5)  # ctl1..ctl5
        got = set(conn.execute(sa.select(p.c.patient_id).where(pp.matching._sampled(p.c.patient_id, 0.5))).scalars())
    ids = frames()["patient"]["patient_id"]
    want = {i for i in ids if hashlib.md5(i.encode()).hexdigest()[:4] < "8000"}
    assert got == want


def test_did_strata_band_zero_from_population() -> None:
    """Band-0 controls are the eligible population minus active people in higher bands."""
    key = {"m": pd.Timestamp("2023-10-01"), "locality": "East", "sex": "F", "imd_quintile": 1,
           "age_band": "65-74"}
    vals = {f"{k}_{a}": 0.0 for a in pp.DID_ACTIVITIES for k in ("pre", "post", "ss")}
    active = pd.DataFrame([
        {**key, "prior_band": "2", "n": 2.0, **vals},
        {**key, "prior_band": "0", "n": 1.0, **vals, "post_care_packages": 1.0, "ss_care_packages": 1.0},
    ])
    pop = pd.DataFrame([{**key, "population": 10}])
    strata = pp.matching._strata_frame(active, pop).set_index("prior_band")
    assert strata.loc["0", "n"] == 8 and strata.loc["2", "n"] == 2
    assert strata.loc["0", "post_care_packages"] == 1


def test_caseload_profile_against_locality(url: str) -> None:
    with read_engine(url).connect() as conn:
        prof = pp.caseload_profile(conn, "East INT")
        bsol = pp.caseload_profile(conn, "BSol")
        east = pp.caseload_profile(conn, "east")  # every team serving East: INT01 only
        with pytest.raises(ValueError, match="not an INT"):
            pp.caseload_profile(conn, "Nowhere")
    assert east["caseload"].sum() == 4 * 5 and set(east["geography_level"]) == {"locality"}
    assert set(prof["area"]) == {"East"} and set(prof["financial_year"]) == {"2023-24"}
    age = prof[prof.breakdown == "age_band"].set_index("group")
    # INT01 ever: pat_a 83, pat_b 78, pat_d 54, pat_e 93, pat_g 73 (age at first start)
    assert age["caseload"].to_dict() == {"45-64": 1, "65-74": 1, "75-84": 2, "85+": 1}
    assert age.loc["75-84", "population_share"] == pytest.approx(60 / 400)
    assert age.loc["75-84", "representation"] == pytest.approx((2 / 5) / (60 / 400))
    sex = prof[prof.breakdown == "sex"].set_index("group")
    assert sex.loc["F", "representation"] == pytest.approx((3 / 5) / (160 / 400))
    eth = prof[prof.breakdown == "ethnicity"].set_index("group")["caseload"].to_dict()
    assert eth == {"Asian": 1, "White": 3, "Not stated": 1}
    assert bsol.loc[bsol.breakdown == "sex", "caseload"].sum() == 8
    shown = pp.profile_for_display(prof, DisclosureRule())
    assert shown["suppressed"].any() and shown.loc[shown.suppressed, "caseload"].isna().all()


def test_caseload_profile_is_stored_at_refresh(url: str) -> None:
    """The pre/post page reads caseload_profile_result (stored at refresh), never patient rows: the
    same hand-worked profile as the live query, for every scope the page can ask for."""
    with read_engine(url).connect() as conn:
        assert pp.profile_scopes(conn) == ["BSol", "North", "South", "East", "West", "Central", "Solihull",
                                           "INT01", "INT02"]
        stored = pp.read_profile(conn, "INT01", "all")
        live = pp.caseload_profile(conn, "INT01")
        pilot_live = pp.caseload_profile(conn, "East", cohort_from=pp.COHORT_PRESETS["pilot"][1],
                                         cohort_to=pp.COHORT_PRESETS["pilot"][2])
        pilot = pp.read_profile(conn, "East", "pilot")
        assert pp.read_profile(conn, "Nowhere", "all").empty
    age = stored[stored.breakdown == "age_band"].set_index("group")
    assert age["caseload"].to_dict() == {"45-64": 1, "65-74": 1, "75-84": 2, "85+": 1}  # as the live test
    assert age.loc["75-84", "representation"] == pytest.approx((2 / 5) / (60 / 400))
    pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    pd.testing.assert_frame_equal(pilot, pilot_live, check_dtype=False)


def test_refresh_replaces_an_old_table_layout(db_url: str) -> None:
    import sqlalchemy as sa

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE prepost_result (int_team VARCHAR(80))"))
    engine.dispose()
    _build(db_url)  # must not fail on the old draft table
    with read_engine(db_url).connect() as conn:
        assert not pp.read_prepost(conn, "all", 6).empty


# ------------------------------------------------------------------------------ the plan's table
def test_demo_reproduces_plan_table(demo_db: Path) -> None:
    from data_loaders.demo import PLAN_PREPOST

    url = f"duckdb:///{demo_db}"
    with read_engine(url).connect() as conn:
        stored = pp.read_prepost(conn, "pilot", 6)
        _label, frm, to = pp.COHORT_PRESETS["pilot"]
        live = pp.prepost_table(conn, 6, frm, to)
    for table in (stored, live):
        layout = table.set_index(["int_team", "activity"])
        assert set(layout.index.get_level_values(0)) == {"East INT", "West INT", "Total"}
        got = {(team, phase, act): int(layout.loc[(team, act), phase])
               for (team, phase, act) in PLAN_PREPOST}
        assert got == PLAN_PREPOST  # all 45 cells
    plan = pp.plan_layout(stored)
    assert plan.loc[0].tolist() == ["EAST INT", "PRE-INT INTERVENTION", 2110, 370, 87, 3262, 8]
    assert plan.loc[8].tolist() == ["TOTAL", "VARIANCE", -1581, -909, -143, -2263, -17]
