"""The synthetic dataset: catalogue-valid, deterministic, and it reproduces the plan's pilot table.

All tests use the `small` size (about a second to generate) and a fixed end date, so they do not
depend on today's date.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data_loaders import demo
from data_loaders.extracts import EXTRACTS, LOCALITIES, get_extract
from data_loaders.readers import read_extract
from data_loaders.validate import DTYPES, validate_frame

END = date(2025, 9, 30)
SEED = 20240626


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return demo.generate("small", seed=SEED, end=END)


# ----------------------------------------------------------------------------- catalogue
def test_one_frame_per_generated_extract_with_catalogue_columns_and_dtypes(frames):
    expected = [e.name for e in EXTRACTS if not e.shipped]
    assert list(frames) == expected
    for name, frame in frames.items():
        ex = get_extract(name)
        assert list(frame.columns) == list(ex.column_names), name
        assert len(frame) > 0, name
        for col in ex.columns:
            assert str(frame[col.name].dtype) == DTYPES[col.kind], (name, col.name, frame[col.name].dtype)


def test_every_frame_passes_validation(frames):
    for name, frame in frames.items():
        typed, problems = validate_frame(get_extract(name), frame, file=name)
        assert not problems, f"{name}: {problems.total} problems, e.g. {[str(p) for p in problems.items[:5]]}"
        assert typed is not None and len(typed) == len(frame)


def test_written_csv_files_read_and_validate(frames, tmp_path):
    small = {n: f.head(500) for n, f in frames.items()}
    paths = demo.write_extracts(small, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}.csv" for n in frames)
    for path in paths:
        raw = read_extract(path)
        typed, problems = validate_frame(raw.extract, raw.frame, file=path.name)
        assert not problems, [str(p) for p in problems.items[:5]]
        assert len(typed) == len(small[raw.extract.name])
    text = (tmp_path / "inpatient_spell.csv").read_text().splitlines()
    assert text[0].startswith("spell_id,patient_id,admission_date")
    assert "00:00:00" not in text[1]  # dates are written as dates


def test_parquet_files(frames, tmp_path):
    paths = demo.write_extracts({"death": frames["death"]}, tmp_path, fmt="parquet")
    back = pd.read_parquet(paths[0])
    assert len(back) == len(frames["death"])


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_frames(frames):
    again = demo.generate("small", seed=SEED, end=END)
    for name in frames:
        pd.testing.assert_frame_equal(frames[name], again[name], obj=name)


def test_other_seed_other_frames(frames):
    other = demo.generate("small", seed=SEED + 1, end=END)
    assert not frames["patient"].equals(other["patient"])


def test_facts():
    facts = demo.dataset_facts("small", SEED, END)
    assert facts == {"is_demo": "true", "size": "small", "seed": str(SEED), "data_start": "2023-04-01",
                     "data_end": "2025-09-30", "generated_by": demo.GENERATED_BY}


def test_default_end_is_last_complete_month():
    assert demo.default_end(date(2026, 11, 23)) == date(2026, 10, 31)
    assert demo.default_end(date(2024, 3, 1)) == date(2024, 2, 29)


def test_end_too_early_is_refused():
    with pytest.raises(ValueError, match="2024-06-30"):
        demo.generate("small", end=date(2024, 5, 31))


def test_app_default_size_covers_every_neighbourhood_and_unknown_sizes_are_refused(monkeypatch):
    """`python app.py` builds the full-size demo: BSol's people in every neighbourhood of every locality
    (small, the tests' size, has three neighbourhoods each)."""
    from data_loaders.settings import load_settings

    monkeypatch.delenv("BSOL_DEMO_SIZE", raising=False)
    size = load_settings().demo_size
    assert size == "full" and demo.SIZES[size].neighbourhoods_per_locality is None
    assert demo.SIZES["small"].patients < demo.SIZES["medium"].patients < demo.SIZES[size].patients == 1_700_000
    monkeypatch.setenv("BSOL_DEMO_SIZE", "huge")
    with pytest.raises(ValueError, match="small, medium, full"):
        load_settings()
    with pytest.raises(ValueError, match="small, medium, full"):
        demo.generate("huge", end=END)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- pilot cohort
def _prepost(frames: dict[str, pd.DataFrame], team: str, months: int = 6) -> dict[str, tuple[int, int]]:
    """docs/design.md rules, written out independently of demo.py."""
    cl = frames["int_caseload"]
    cl = cl[cl["int_team_code"] == team]
    index = cl.groupby("patient_id")["start_date"].min()
    index = index[(index >= pd.Timestamp("2023-10-01")) & (index <= pd.Timestamp("2023-12-31"))]
    people = pd.DataFrame({"patient_id": index.index, "index_date": index.to_numpy()})
    people["pre_start"] = people["index_date"] - pd.DateOffset(months=months)
    people["post_end"] = people["index_date"] + pd.DateOffset(months=months)
    gp = frames["gp_appointment"]
    activity = {
        "gp_appointments": gp.loc[gp["status"] == "attended", ["patient_id", "appointment_date"]],
        "ae_attendances": frames["ae_attendance"][["patient_id", "arrival_datetime"]],
        "inpatient_spells": frames["inpatient_spell"][["patient_id", "admission_date"]],
        "op_community_contacts": frames["community_contact"][["patient_id", "contact_date"]],
        "care_packages": frames["social_care_package"][["patient_id", "start_date"]],
    }
    out = {}
    for name, events in activity.items():
        events = events.set_axis(["patient_id", "when"], axis=1)
        j = events.merge(people, on="patient_id", how="inner")
        day = j["when"].dt.floor("D")
        pre = (day >= j["pre_start"]) & (day < j["index_date"])
        post = (day >= j["index_date"]) & (day < j["post_end"])
        out[name] = (int(pre.sum()), int(post.sum()))
    return out


def test_pilot_reproduces_the_plan_table_exactly(frames):
    east, west = _prepost(frames, "INT01"), _prepost(frames, "INT02")
    assert len(demo.PLAN_PREPOST) == 45
    for act in demo.ACTIVITIES:
        for row, got in (("East INT", east[act]), ("West INT", west[act])):
            assert got == (demo.PLAN_PREPOST[(row, "pre", act)], demo.PLAN_PREPOST[(row, "post", act)]), (row, act)
            assert got[1] - got[0] == demo.PLAN_PREPOST[(row, "variance", act)]
        total = (east[act][0] + west[act][0], east[act][1] + west[act][1])
        assert total == (demo.PLAN_PREPOST[("Total", "pre", act)], demo.PLAN_PREPOST[("Total", "post", act)])
    # the figures quoted in the plan (F4:376-385)
    assert demo.PLAN_PREPOST[("Total", "pre", "gp_appointments")] == 5061
    assert demo.PLAN_PREPOST[("Total", "variance", "ae_attendances")] == -909
    assert demo.PLAN_PREPOST[("West INT", "post", "care_packages")] == 5


def test_pilot_cohort_shape(frames):
    cl = frames["int_caseload"]
    first = cl.groupby(["patient_id", "int_team_code"])["start_date"].min().reset_index()
    in_q3 = first[(first["start_date"] >= "2023-10-01") & (first["start_date"] <= "2023-12-31")]
    assert set(in_q3["int_team_code"]) == {"INT01", "INT02"}
    assert in_q3.groupby("int_team_code").size().to_dict() == demo.PILOT_COHORT_SIZE
    later = first[first["int_team_code"].isin(["INT01", "INT02"]) & ~first["patient_id"].isin(in_q3["patient_id"])]
    assert (later["start_date"] >= "2024-01-01").all()
    assert (cl.groupby(["patient_id", "int_team_code"]).size() > 1).any()  # some re-join
    # nobody in the pilot dies before the end of their post window
    pilot = in_q3.merge(frames["death"], on="patient_id", how="left")
    assert (pilot["date_of_death"].isna() | (pilot["date_of_death"] >= pilot["start_date"] + pd.DateOffset(months=6))).all()
    # older and more deprived than the general population
    pat = frames["patient"].merge(frames["lsoa"], on="lsoa_code", how="left")
    age = (pd.Timestamp("2023-10-01") - pat["birth_month"]).dt.days / 365.25
    in_pilot = pat["patient_id"].isin(in_q3["patient_id"])
    assert age[in_pilot].mean() > age.mean() + 15
    assert pat.loc[in_pilot, "imd_quintile"].mean() < pat["imd_quintile"].mean()
    # DNAs exist for the pilot but are not counted
    gp = frames["gp_appointment"]
    assert (gp[gp["patient_id"].isin(in_q3["patient_id"])]["status"] == "dna").any()


def test_some_caseload_people_die_on_the_caseload(frames):
    cl = frames["int_caseload"].merge(frames["death"], on="patient_id")
    assert (cl["end_date"] == cl["date_of_death"]).sum() > 0


def test_patient_level_gp_appointments_only_for_caseload_people(frames):
    assert frames["gp_appointment"]["patient_id"].isin(frames["int_caseload"]["patient_id"]).all()


# ----------------------------------------------------------------------------- geography
def test_geography(frames):
    prac = frames["practice"]
    assert set(prac["locality"]) == set(LOCALITIES)
    assert ((prac["locality"] == "Solihull") == (prac["place"] == "Solihull")).all()
    assert prac.groupby("locality")["neighbourhood_code"].nunique().min() >= 3
    assert prac["practice_name"].str.startswith("Synthetic Practice").all()
    teams = frames["int_team"].set_index("int_team_code")
    assert teams.loc["INT01", "int_team_name"] == "East INT"
    assert teams.loc["INT02", "go_live_date"] == pd.Timestamp("2023-10-01")
    assert teams.loc["INT06", "locality"] == "Solihull"
    assert teams.loc["INT06", "go_live_date"] == pd.Timestamp("2024-07-01")
    assert (teams["go_live_date"] <= pd.Timestamp(END)).all()
    assert frames["patient"]["practice_code"].isin(prac["practice_code"]).all()
    known = frames["patient"]["lsoa_code"].dropna()
    assert known.isin(frames["lsoa"]["lsoa_code"]).all()
    assert 0.002 < frames["patient"]["lsoa_code"].isna().mean() < 0.01


def test_birmingham_deprivation_concentration(frames):
    lsoa = frames["lsoa"]
    share = lsoa.assign(d12=lsoa["imd_decile"] <= 2).groupby("local_authority")["d12"].mean()
    assert share["Birmingham"] > 0.35
    assert share["Solihull"] < share["Birmingham"] - 0.15
    mean = lsoa.groupby("locality")["imd_decile"].mean()
    assert max(mean["East"], mean["West"], mean["Central"]) < min(mean["South"], mean["Solihull"])


def test_ethnicity_shape(frames):
    codes = pd.read_csv("data_loaders/reference/ethnicity_code.csv", dtype=str, keep_default_na=False)
    groups = dict(zip(codes["code"], codes["ethnic_group"], strict=True))
    pat = frames["patient"].merge(frames["practice"][["practice_code", "place", "locality"]], on="practice_code")
    pat["group"] = pat["ethnic_category"].map(groups).fillna("Not stated")
    assert 0.03 < (pat["group"] == "Not stated").mean() < 0.07
    stated = pat[pat["group"] != "Not stated"]
    mix = pd.crosstab(stated["place"], stated["group"], normalize="index")
    assert 0.44 < 1 - mix.loc["Birmingham", "White"] < 0.60
    assert 0.26 < mix.loc["Birmingham", "Asian"] < 0.38
    assert mix.loc["Solihull", "White"] > 0.78
    by_loc = pd.crosstab(stated["locality"], stated["group"], normalize="index")
    assert by_loc.loc["East", "Asian"] > by_loc.loc["North", "Asian"] + 0.2


def test_age_structure(frames):
    pat = frames["patient"].merge(frames["practice"][["practice_code", "place"]], on="practice_code")
    age = (pd.Timestamp("2024-10-01") - pat["birth_month"]).dt.days / 365.25
    old = (age >= 65).groupby(pat["place"]).mean()
    assert 0.12 < (age >= 65).mean() < 0.16
    assert old["Solihull"] > old["Birmingham"] + 0.05


# ----------------------------------------------------------------------------- dates
def test_date_coverage(frames):
    end = pd.Timestamp(END)
    start = pd.Timestamp("2023-04-01")
    for name, col in (("inpatient_spell", "admission_date"), ("ae_attendance", "arrival_datetime"),
                      ("community_contact", "contact_date"), ("gp_appointment", "appointment_date"),
                      ("ucr_referral", "referral_datetime"), ("death", "date_of_death")):
        values = frames[name][col]
        assert values.min() >= start, name
        assert values.max() < end + pd.Timedelta(days=1), name
        assert values.max() >= end - pd.Timedelta(days=31), name
    months = frames["gp_appointments"]["month"]
    assert months.min() == start and months.max() == pd.Timestamp("2025-09-01")
    assert months.nunique() == 30
    snaps = sorted(frames["smoking_status"]["snapshot_date"].unique())
    assert pd.Timestamp(snaps[0]) == pd.Timestamp("2023-06-30")
    assert pd.Timestamp(snaps[-1]) == pd.Timestamp("2025-09-30")
    assert len(snaps) == 10
    assert set(frames["gp_workforce"]["month"].dt.month) == {3, 6, 9, 12}
    assert sorted(frames["population"]["financial_year"].unique()) == ["2023-24", "2024-25", "2025-26"]
    assert sorted(frames["modelled_prevalence"]["financial_year"].unique()) == ["2023-24", "2024-25", "2025-26"]


def test_deaths_match_the_spine(frames):
    pat = frames["patient"].dropna(subset=["date_of_death"]).set_index("patient_id")["date_of_death"]
    deaths = frames["death"].set_index("patient_id")["date_of_death"]
    pd.testing.assert_series_equal(pat.sort_index(), deaths.sort_index(), check_names=False)
    # no activity after death
    spells = frames["inpatient_spell"].merge(frames["death"], on="patient_id")
    assert (spells["admission_date"] <= spells["date_of_death"]).all()
    hosp = frames["death"][frames["death"]["place_of_death"] == "hospital"]
    share = len(hosp) / len(frames["death"])
    assert 0.35 < share < 0.6


# ----------------------------------------------------------------------------- plausibility
def test_codes_that_the_measures_need_are_present(frames):
    spells = frames["inpatient_spell"]
    em = spells[spells["admission_method"].str.startswith("2")]
    assert em["primary_diagnosis"].str.match(r"^(J44|J45|I50|E1[01]|G40)").sum() > 50
    falls = em[em["primary_diagnosis"].str.startswith("S") & em["cause_code"].str.startswith("W").fillna(False)]
    assert len(falls) > 20
    assert spells["discharge_pathway"].isin([1, 2]).sum() > 50
    ae = frames["ae_attendance"]
    assert ((ae["department_type"] == "03") & ae["wound_care"]).sum() > 20
    assert frames["wound_prescribing"]["bnf_code"].str.startswith("20").all()


def test_inequality_gradient_in_emergency_admissions(frames):
    pat = frames["patient"].merge(frames["lsoa"], on="lsoa_code")
    spells = frames["inpatient_spell"]
    em = spells[spells["admission_method"].str.startswith("2")].merge(pat, on="patient_id")
    rate = em.groupby("imd_quintile").size() / pat.groupby("imd_quintile").size()
    assert rate[1] > rate[5] * 1.4


def test_rates_are_plausible(frames):
    n = len(frames["patient"])
    years = 2.5
    em = frames["inpatient_spell"]["admission_method"].str.startswith("2").sum() / n / years * 1000
    assert 80 < em < 140  # emergency admissions per 1,000 per year
    gpad = frames["gp_appointments"].groupby("month")["appointments"].sum().mean() / n * 1000
    assert 380 < gpad < 500  # appointments per 1,000 patients per month
    deaths = len(frames["death"]) / n / years
    assert 0.005 < deaths < 0.01
    snap = frames["smoking_status"]
    last = snap[snap["snapshot_date"] == snap["snapshot_date"].max()]
    recorded = last[last["status"] != "not_recorded"]
    assert 0.11 < (recorded["status"] == "current").mean() < 0.19
    htn = frames["hypertension"]
    last_htn = htn[htn["snapshot_date"] == htn["snapshot_date"].max()]
    assert 0.09 < len(last_htn) / n < 0.15
    assert np.isfinite(last_htn["last_systolic"].astype("float64")).mean() > 0.85


def test_same_seed_same_data_as_recorded(frames):
    """The streamed generator makes byte-for-byte the tables recorded before it streamed."""
    import json
    from pathlib import Path

    from data_loaders.load import frame_sha256

    recorded = json.loads((Path(__file__).parent / "data" / "demo_small_sha256.json").read_text())["tables"]
    assert list(frames) == list(recorded)
    changed = [name for name, frame in frames.items() if frame_sha256(frame) != recorded[name]]
    assert not changed, f"generated tables differ from the recorded ones: {changed} (see the file's _how)"


def test_stream_yields_each_table_once_as_it_is_finished():
    names = [name for name, _ in demo.generate_stream("small", seed=SEED, end=END)]
    assert sorted(names) == sorted(demo.GENERATED_EXTRACTS) and len(names) == len(set(names))
    assert names.index("practice") < names.index("patient") < names.index("smoking_status")
