"""Loads: validated, idempotent (replace by slice), logged, on DuckDB and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_loaders.db import write_transaction
from data_loaders.extracts import get_extract
from data_loaders.load import load_files, load_frames, read_load_log, read_rejections
from data_loaders.readers import identify_extract, read_extract
from data_loaders.validate import ExtractValidationError, validate_frame, validate_parts

VALID = Path(__file__).resolve().parent / "data" / "valid"
VALID_FILES = sorted(VALID.glob("*.csv"))
PRACTICE = VALID / "practice.csv"
SHIPPED = ["standard_population", "ethnicity_code", "code_list"]  # installed by the first load


def loaded(records: list, shipped: bool = False) -> list:
    """The records of the files given (without the shipped reference data the loader installs)."""
    return [r for r in records if shipped or not r.file_name.startswith("reference/")]


def counts(url: str) -> dict[str, int]:
    from data_loaders.db import read_engine

    with read_engine(url).connect() as c:  # the app's reader (it shares the process's opening of a file)
        names = [n for n in sa.inspect(c).get_table_names()]
        return {n: c.execute(sa.text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}


def rows(url: str, sql: str) -> list[tuple]:
    from data_loaders.db import read_engine

    with read_engine(url).connect() as c:
        return [tuple(r) for r in c.execute(sa.text(sql))]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_twice_leaves_same_rows(db_url: str, tmp_path: Path) -> None:
    first = load_files(db_url, VALID_FILES, progress=False, data_dir=tmp_path)
    assert [r.extract for r in first] == [*SHIPPED, "gp_appointments", "inpatient_spell", "patient", "practice"]
    once = counts(db_url)
    assert once["inpatient_spell"] == 3 and once["gp_appointments"] == 4 and once["patient"] == 3
    second = load_files(db_url, VALID_FILES, progress=False, data_dir=tmp_path)
    assert [r.extract for r in second] == ["gp_appointments", "inpatient_spell", "patient", "practice"]
    twice = counts(db_url)
    assert {k: v for k, v in twice.items() if k != "load_log"} == {
        k: v for k, v in once.items() if k != "load_log"}
    assert once["load_log"] == 7 and twice["load_log"] == 11  # reference data is installed once


def test_values_are_typed(db_url: str, tmp_path: Path) -> None:
    load_files(db_url, [VALID / "inpatient_spell.csv"], progress=False, data_dir=tmp_path)
    got = rows(db_url, "SELECT spell_id, admission_date, discharge_date, discharge_pathway, "
                       "admitted_from_care_home, cause_code FROM inpatient_spell ORDER BY spell_id")
    assert got == [
        ("S1", dt.date(2024, 1, 5), dt.date(2024, 1, 9), 1, False, None),
        ("S2", dt.date(2024, 1, 6), None, None, True, "W01"),
        ("S3", dt.date(2024, 2, 1), dt.date(2024, 2, 1), 0, False, "W19"),
    ]


def test_replace_by_key(db_url: str, tmp_path: Path) -> None:
    """inpatient_spell replaces by spell_id: S2 updated, S4 added, S1/S3 kept."""
    load_files(db_url, [VALID / "inpatient_spell.csv"], progress=False, data_dir=tmp_path)
    update = write(tmp_path / "inpatient_spell__update.csv", (
        "spell_id,patient_id,admission_date,discharge_date,admission_method,primary_diagnosis,"
        "cause_code,discharge_ready_date,discharge_pathway,admitted_from_care_home,"
        "patient_classification,admission_source,secondary_diagnoses,procedure_codes\n"
        "S2,P0002,2024-01-06,2024-01-20,11,I500,W01,2024-01-19,2,yes,1,19,,\n"
        "S4,P0001,2024-03-01,2024-03-02,22,J440,,,,no,,,,\n"))
    load_files(db_url, [update], progress=False, data_dir=tmp_path)
    got = rows(db_url, "SELECT spell_id, discharge_date, discharge_pathway FROM inpatient_spell ORDER BY spell_id")
    assert got == [("S1", dt.date(2024, 1, 9), 1), ("S2", dt.date(2024, 1, 20), 2),
                   ("S3", dt.date(2024, 2, 1), 0), ("S4", dt.date(2024, 3, 2), None)]


def test_replace_by_month_slice(db_url: str, tmp_path: Path) -> None:
    """gp_appointments replaces whole months: a February file drops February rows it lacks."""
    load_files(db_url, [PRACTICE, VALID / "gp_appointments.csv"], progress=False, data_dir=tmp_path)
    feb = write(tmp_path / "gp_appointments-2024-02.csv", (
        "month,practice_code,booking_interval,status,appointments\n"
        "2024-02-01,M85002,same_day,attended,77\n"))
    load_files(db_url, [feb], progress=False, data_dir=tmp_path)
    got = rows(db_url, "SELECT month, practice_code, booking_interval, appointments FROM gp_appointments "
                       "ORDER BY month, practice_code, booking_interval")
    assert got == [
        (dt.date(2024, 1, 1), "M85001", "1_day", 4),
        (dt.date(2024, 1, 1), "M85001", "same_day", 120),
        (dt.date(2024, 2, 1), "M85002", "same_day", 77),
    ]


def test_load_log_rows(db_url: str, tmp_path: Path) -> None:
    path = VALID / "patient.csv"
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_files(db_url, [PRACTICE], progress=False, data_dir=tmp_path)
    (record,) = load_files(db_url, [path], progress=False, data_dir=tmp_path)
    log = read_load_log(db_url)
    assert log["extract"].tolist()[:2] == ["patient", "practice"] and len(log) == 5  # + 3 shipped
    row = log.iloc[0]
    assert row["load_id"] == record.load_id and len(record.load_id) == 36
    assert row["extract"] == "patient" and row["file_name"] == "patient.csv"
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["rows"] == 3 and row["outcome"] == "loaded"
    assert before - dt.timedelta(seconds=1) <= pd.Timestamp(row["loaded_at"]) <= before + dt.timedelta(minutes=5)


def test_read_load_log_without_database(tmp_path: Path) -> None:
    log = read_load_log(f"duckdb:///{tmp_path / 'none.duckdb'}")
    assert log.empty and "sha256" in log.columns
    assert read_rejections(tmp_path) == []


def test_after_load_runs_in_the_transaction(db_url: str, tmp_path: Path) -> None:
    seen: list[int] = []

    def after(conn: sa.Connection) -> None:
        seen.append(conn.execute(sa.text("SELECT COUNT(*) FROM patient")).scalar_one())

    load_files(db_url, [PRACTICE, VALID / "patient.csv"], progress=False, after_load=after, data_dir=tmp_path)
    assert seen == [3]


def test_failing_after_load_rolls_everything_back(db_url: str, tmp_path: Path) -> None:
    load_files(db_url, [VALID / "practice.csv"], progress=False, data_dir=tmp_path)
    before = counts(db_url)

    def boom(conn: sa.Connection) -> None:
        raise RuntimeError("refresh failed")

    with pytest.raises(RuntimeError, match="refresh failed"):
        load_files(db_url, [VALID / "patient.csv"], progress=False, after_load=boom, data_dir=tmp_path)
    assert counts(db_url) == before


def test_load_frames_generated_data(db_url: str) -> None:
    """The demo generator's path: typed frames straight into load_frames, hashed and logged."""
    frame = pd.DataFrame({
        "age_band_start": pd.array([0, 5], dtype="Int64"),
        "persons": pd.array([10, 20], dtype="Int64"),
    })
    seen: list[tuple[str, int]] = []
    with write_transaction(db_url) as conn:
        (record,) = load_frames(conn, {"standard_population": frame}, progress=lambda n, r: seen.append((n, r)))
    assert seen == [("standard_population", 2)]
    assert record.file_name == "standard_population (generated)" and len(record.sha256) == 64
    assert rows(db_url, "SELECT age_band_start, persons FROM standard_population ORDER BY 1") == [(0, 10), (5, 20)]
    with write_transaction(db_url) as conn, pytest.raises(ValueError, match="missing"):
        load_frames(conn, {"standard_population": frame[["persons"]]})


def _smoking(snapshots: list[str], people: int) -> pd.DataFrame:
    """A smoking-status extract as a reader gives it: every person at every snapshot, in order."""
    return pd.DataFrame([
        {"snapshot_date": snap, "patient_id": f"P{i:04d}", "status": ("current", "ex", "never")[i % 3],
         "status_date": "2024-01-0" + str(1 + i % 9), "referral_date": "", "ltc_register": "1" if i % 2 else "0"}
        for snap in snapshots for i in range(people)
    ], dtype=str)


def test_a_large_frame_is_validated_and_loaded_in_parts_like_the_whole(db_url: str) -> None:
    """validate_parts (the demo build's path, for memory) breaks only between snapshots, so a
    duplicate key still lies in one part; the parts load and hash as the whole frame does."""
    extract = get_extract("smoking_status")
    raw = _smoking(["2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31"], 5)
    whole, problems = validate_frame(extract, raw, "s.csv")
    assert not problems and whole is not None
    parts = list(validate_parts(extract, raw, "s.csv", rows_per_part=8))
    assert [len(p) for p in parts] == [10, 10], "two snapshots a part, never one cut through"
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    bad = raw.copy()
    bad.loc[17, "patient_id"] = bad.loc[16, "patient_id"]  # a duplicate in the last part: row 18
    with pytest.raises(ExtractValidationError) as caught:
        list(validate_parts(extract, bad, "s.csv", rows_per_part=8))
    assert {(p.row, p.column) for p in caught.value.problems} >= {(18, "snapshot_date, patient_id")}, str(caught.value)
    # a snapshot in two runs of rows cannot be cut on: one part, so its duplicates are seen
    split = pd.concat([raw.iloc[:3], raw.iloc[5:], raw.iloc[3:5]], ignore_index=True)
    assert len(list(validate_parts(extract, split, "s.csv", rows_per_part=8))) == 1
    with pytest.raises(ExtractValidationError):
        list(validate_parts(extract, pd.concat([split, raw.iloc[:1]], ignore_index=True), "s.csv", rows_per_part=8))
    # frames given apart (the generator's snapshots): emptied as checked, row numbers run on,
    # and two frames may not share a snapshot
    frames = [raw.iloc[:10].reset_index(drop=True), bad.iloc[10:].reset_index(drop=True)]
    with pytest.raises(ExtractValidationError) as caught:
        list(validate_parts(extract, frames, "s.csv"))
    assert {p.row for p in caught.value.problems} >= {18} and frames == []
    with pytest.raises(ValueError, match="share snapshot_date"):
        list(validate_parts(extract, [raw.iloc[:10], raw.iloc[5:15]], "s.csv"))
    with write_transaction(db_url) as conn:
        (record,) = load_frames(conn, {"smoking_status": validate_parts(extract, [raw.iloc[:10], raw.iloc[10:]])})
    with write_transaction(db_url) as conn:
        (again,) = load_frames(conn, {"smoking_status": whole})
    assert record.rows == again.rows == 20 and record.sha256 == again.sha256
    assert rows(db_url, "SELECT count(*), count(DISTINCT snapshot_date) FROM smoking_status") == [(20, 4)]


def test_a_demo_build_failing_part_way_changes_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build commits each table inside its working copy (commit_so_far, for memory); a table
    failing after others were written must still leave the database exactly as it was."""
    from data_loaders import demo
    from metrics.pipeline import build_demo

    extract = get_extract("smoking_status")
    with write_transaction(db_url) as conn:
        load_frames(conn, {"smoking_status": validate_parts(extract, _smoking(["2024-03-31"], 3))})
    before = rows(db_url, "SELECT snapshot_date, patient_id FROM smoking_status ORDER BY 1, 2")
    log_before = rows(db_url, "SELECT count(*) FROM load_log")

    def stream(**_: object):
        yield "smoking_status", [_smoking(["2024-06-30"], 4), _smoking(["2024-09-30"], 4)]
        yield "hypertension", pd.DataFrame({"snapshot_date": ["2024-06-30"]})  # columns missing

    monkeypatch.setattr(demo, "generate_stream", stream)
    with pytest.raises(ValueError, match="missing columns"):
        build_demo(db_url)
    assert rows(db_url, "SELECT snapshot_date, patient_id FROM smoking_status ORDER BY 1, 2") == before
    assert rows(db_url, "SELECT count(*) FROM load_log") == log_before


def test_several_files_of_one_extract_in_one_load(db_url: str, tmp_path: Path) -> None:
    header = "month,practice_code,booking_interval,status,appointments\n"
    jan = write(tmp_path / "gp_appointments-2024-01.csv", header + "2024-01-01,M85001,same_day,attended,1\n")
    feb = write(tmp_path / "gp_appointments-2024-02.csv", header + "2024-02-01,M85001,same_day,attended,2\n")
    shutil.copy(PRACTICE, tmp_path / "practice.csv")
    records = load_files(db_url, [tmp_path], progress=False, data_dir=tmp_path)  # a directory
    assert [r.file_name for r in loaded(records)] == [jan.name, feb.name, "practice.csv"]
    assert rows(db_url, "SELECT appointments FROM gp_appointments ORDER BY month") == [(1,), (2,)]


def test_xlsx_and_parquet_read_like_csv(tmp_path: Path) -> None:
    src = VALID / "inpatient_spell.csv"
    ex = get_extract("inpatient_spell")
    from_csv, problems = validate_frame(ex, read_extract(src).frame)
    assert not problems
    text = pd.read_csv(src, dtype=str, keep_default_na=False)
    # XLSX with real Excel types: dates, numbers, booleans
    typed = text.copy()
    xlsx = tmp_path / "inpatient_spell.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        typed2 = typed.astype(object)
        for c in ("admission_date", "discharge_date", "discharge_ready_date"):
            typed2[c] = [pd.Timestamp(v).to_pydatetime() if v else None for v in typed[c]]
        typed2["discharge_pathway"] = [int(v) if v else None for v in typed["discharge_pathway"]]
        typed2.to_excel(writer, index=False, sheet_name="Sheet1")
    raw = read_extract(xlsx)
    assert list(raw.frame.index) == [2, 3, 4]
    from_xlsx, problems = validate_frame(ex, raw.frame, raw.file_name)
    assert not problems, problems.items
    pd.testing.assert_frame_equal(from_xlsx, from_csv)
    # Parquet with typed columns
    pq = tmp_path / "inpatient_spell-x.parquet"
    pqf = text.copy()
    for c in ("admission_date", "discharge_date", "discharge_ready_date"):
        pqf[c] = pd.to_datetime(pqf[c].replace("", None))
    pqf["discharge_pathway"] = pd.to_numeric(pqf["discharge_pathway"].replace("", None)).astype("Int64")
    pqf.to_parquet(pq)
    raw = read_extract(pq)
    assert list(raw.frame.index) == [1, 2, 3]
    from_pq, problems = validate_frame(ex, raw.frame, raw.file_name)
    assert not problems, problems.items
    pd.testing.assert_frame_equal(from_pq, from_csv)


def test_value_spellings(tmp_path: Path) -> None:
    """Booleans in many spellings, datetimes with T or space, with or without seconds, BOM."""
    csv = tmp_path / "ucr_referral.csv"
    csv.write_bytes(("\ufeffreferral_id,patient_id,referral_datetime,first_contact_datetime,"
                     "two_hour_eligible,outcome\n"
                     "R1,P0001,2024-01-01 08:00,2024-01-01T09:30:15,Yes,conveyed\n"
                     "R2,P0001,2024-01-02T10:00:00, ,n,other\n"
                     " R3 ,P0001,2024-01-03 11:00:00,,1,unknown\n").encode())
    raw = read_extract(csv)
    typed, problems = validate_frame(raw.extract, raw.frame, raw.file_name)
    assert not problems, problems.items
    assert typed["two_hour_eligible"].tolist() == [True, False, True]
    assert typed["referral_id"].tolist() == ["R1", "R2", "R3"]
    assert typed["first_contact_datetime"].iloc[0] == pd.Timestamp("2024-01-01 09:30:15")
    assert typed["first_contact_datetime"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize(("name", "extract"), [
    ("inpatient_spell.csv", "inpatient_spell"),
    ("inpatient_spell-2024-05.csv", "inpatient_spell"),
    ("inpatient_spell__bsol_extract.XLSX", "inpatient_spell"),
    ("gp_appointment-2024.csv", "gp_appointment"),
    ("gp_appointments-2024.csv", "gp_appointments"),
    ("GP_APPOINTMENTS.parquet", "gp_appointments"),
])
def test_identify_extract(name: str, extract: str) -> None:
    assert identify_extract(name).name == extract


def test_unknown_file_name_lists_extracts() -> None:
    with pytest.raises(ExtractValidationError) as e:
        identify_extract("spells_may.csv")
    message = str(e.value)
    assert "spells_may.csv: cannot tell which extract" in message
    assert "inpatient_spell" in message and "gp_workforce" in message


def test_explicit_extract(tmp_path: Path, db_url: str) -> None:
    odd = tmp_path / "may spells.csv"
    shutil.copy(VALID / "inpatient_spell.csv", odd)
    (record,) = loaded(load_files(db_url, [odd], extract="inpatient_spell", progress=False, data_dir=tmp_path))
    assert record.extract == "inpatient_spell" and record.rows == 3


def test_every_column_kind_round_trips(db_url: str, tmp_path: Path) -> None:
    """datetime, float, bool, nullable int and text with commas/quotes land exactly."""
    ucr = write(tmp_path / "ucr_referral.csv", (
        "referral_id,patient_id,referral_datetime,first_contact_datetime,two_hour_eligible,outcome\n"
        "R1,P0001,2024-01-01 08:00,2024-01-01T09:30:15,yes,conveyed\n"
        "R2,P0002,2024-01-02 10:00:00,,no,other\n"))
    dm = write(tmp_path / "diabetes-2024Q1.csv", (
        "snapshot_date,patient_id,diabetes_type,last_hba1c,last_systolic,last_diastolic\n"
        "2024-03-31,P0001,type2,53.25,141,\n"
        "2024-03-31,P0002,type1,,,\n"))
    cc = write(tmp_path / "community_contact.csv", (
        "contact_id,patient_id,contact_date,setting,service\n"
        'C1,P0001,2024-01-01,community,"District nursing, ""leg ulcer"" clinic"\n'))
    load_files(db_url, [ucr, dm, cc], progress=False, data_dir=tmp_path)
    assert rows(db_url, "SELECT referral_id, referral_datetime, first_contact_datetime, two_hour_eligible "
                        "FROM ucr_referral ORDER BY 1") == [
        ("R1", dt.datetime(2024, 1, 1, 8, 0), dt.datetime(2024, 1, 1, 9, 30, 15), True),
        ("R2", dt.datetime(2024, 1, 2, 10, 0), None, False),
    ]
    assert rows(db_url, "SELECT patient_id, last_hba1c, last_systolic, last_diastolic FROM diabetes ORDER BY 1") == [
        ("P0001", 53.25, 141, None), ("P0002", None, None, None)]
    assert rows(db_url, "SELECT service FROM community_contact") == [('District nursing, "leg ulcer" clinic',)]


def test_load_frames_accepts_python_dates(db_url: str) -> None:
    frame = pd.DataFrame({
        "month": [dt.date(2024, 1, 1)], "practice_code": ["M85001"], "booking_interval": ["same_day"],
        "status": ["attended"], "appointments": [5],
    })
    with write_transaction(db_url) as conn:
        load_frames(conn, {"gp_appointments": frame})
    assert rows(db_url, "SELECT month, appointments FROM gp_appointments") == [(dt.date(2024, 1, 1), 5)]


# ----------------------------------------------------------------------------- kept and counted
SPELL_HEADER = ("spell_id,patient_id,admission_date,discharge_date,admission_method,primary_diagnosis,"
                "cause_code,discharge_ready_date,discharge_pathway,admitted_from_care_home,"
                "patient_classification,admission_source,secondary_diagnoses,procedure_codes\n")
DEATH_HEADER = "patient_id,date_of_death,place_of_death,underlying_cause,on_palliative_register,eol_care_plan\n"


def found(url: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(extract, column) -> (count, total) from the declared cross-file checks."""
    from data_loaders.db import read_engine
    from data_loaders.integrity import findings

    with read_engine(url).connect() as conn:
        return {(f.extract, f.column): (f.count, f.total) for f in findings(conn)}


def test_event_for_a_patient_not_in_the_spine_is_kept_and_counted(db_url: str, tmp_path: Path) -> None:
    """Counted whether the spine comes in the same load or is already stored; a later spine clears it."""
    orphan = write(tmp_path / "inpatient_spell-extra.csv", SPELL_HEADER + "S8,P0099,2024-01-07,,21,J45,,,,no,,,,\n")
    load_files(db_url, [*VALID_FILES, orphan], progress=False, data_dir=tmp_path)  # same load
    assert found(db_url)[("inpatient_spell", "patient_id")] == (1, 4)
    assert rows(db_url, "SELECT patient_id FROM inpatient_spell WHERE spell_id = 'S8'") == [("P0099",)]
    later = write(tmp_path / "inpatient_spell-later.csv", SPELL_HEADER + "S7,P0098,2024-01-08,,21,J45,,,,no,,,,\n")
    load_files(db_url, [later], progress=False, data_dir=tmp_path)  # spine already stored
    assert found(db_url)[("inpatient_spell", "patient_id")] == (2, 5)
    spine = write(tmp_path / "patient-new.csv", (
        "patient_id,practice_code,lsoa_code,sex,birth_month,ethnic_category,care_home,date_of_death\n"
        "P0099,M85001,,F,1950-03-01,A,,\n"))
    load_files(db_url, [spine], progress=False, data_dir=tmp_path)
    assert found(db_url)[("inpatient_spell", "patient_id")] == (1, 5)


def test_death_date_that_differs_from_the_spine_is_kept_and_counted(db_url: str, tmp_path: Path) -> None:
    """P0002's spine date is 2024-02-10; P0001 is alive on the spine; P0003 agrees; P0099 is not in it."""
    spine = write(tmp_path / "patient.csv", (
        "patient_id,practice_code,lsoa_code,sex,birth_month,ethnic_category,care_home,date_of_death\n"
        "P0001,M85001,E01008881,F,1940-03-01,A,,\n"
        "P0002,M85001,,M,1955-07-01,99,nursing,2024-02-10\n"
        "P0003,M85002,E01099999,U,2010-01-01,,,2024-05-01\n"))
    deaths = write(tmp_path / "death.csv", DEATH_HEADER + (
        "P0001,2024-03-01,home,I219,no,no\n"
        "P0002,2024-02-11,hospital,C349,yes,yes\n"
        "P0003,2024-05-01,hospice,C509,yes,yes\n"
        "P0099,2024-04-01,home,I219,no,no\n"))
    load_files(db_url, [PRACTICE, spine, deaths], progress=False, data_dir=tmp_path)
    got = found(db_url)
    assert got[("death", "date_of_death")] == (2, 3)
    assert got[("death", "patient_id")] == (1, 4)
    assert got[("patient", "lsoa_code")] == (2, 2)  # no LSOA lookup loaded: both stated LSOAs are unknown
    assert rows(db_url, "SELECT COUNT(*) FROM death") == [(4,)]


def test_data_quality_table_lists_the_counts(db_url: str, tmp_path: Path) -> None:
    from data_loaders.db import read_engine
    from metrics.quality import completeness

    orphan = write(tmp_path / "inpatient_spell-extra.csv", SPELL_HEADER + "S8,P0099,2024-01-07,,21,J45,,,,no,,,,\n")
    load_files(db_url, [*VALID_FILES, orphan], progress=False, data_dir=tmp_path)
    with read_engine(db_url).connect() as conn:
        table = {c.measure: (c.count, c.total, c.of) for c in completeness(conn)}
    assert table["Inpatient spells: rows for a patient not in the patient spine"] == (1, 4, "inpatient_spell rows")
    assert table["Patient spine: patients whose LSOA is not in the LSOA lookup"] == (2, 2, "patient rows")
    assert table["Sex unknown"] == (1, 3, "registered patients")


def test_data_quality_is_stored_at_refresh_and_read_without_patient_rows(db_url: str, tmp_path: Path) -> None:
    """The Data page and the pack read completeness_result and coverage_result (written by the
    refresh: metrics.pipeline.refresh_all calls refresh_quality; test_pages.test_other_pages), never the patient-level tables: after the tables change with no refresh, the stored
    rows still say what the refresh saw, while the live checks already see the change."""
    from data_loaders.db import read_engine
    from metrics.quality import (
        completeness,
        read_completeness,
        read_coverage,
        refresh_quality,
        source_coverage,
    )

    orphan = write(tmp_path / "inpatient_spell-extra.csv", SPELL_HEADER + "S8,P0099,2024-01-07,,21,J45,,,,no,,,,\n")
    load_files(db_url, [*VALID_FILES, orphan], progress=False, data_dir=tmp_path, after_load=refresh_quality)
    with read_engine(db_url).connect() as conn:
        stored, live = read_completeness(conn), completeness(conn)
        coverage, live_coverage = read_coverage(conn), source_coverage(conn)
    assert stored == live and len(stored) > 3
    assert {c.measure: c.count for c in stored}["Inpatient spells: rows for a patient not in the patient spine"] == 1
    pd.testing.assert_frame_equal(coverage, live_coverage, check_dtype=False)
    assert coverage.set_index("Extract").loc["inpatient_spell", "Rows"] == 4
    with write_transaction(db_url) as conn:  # a change no refresh has seen
        conn.execute(sa.text("DELETE FROM inpatient_spell WHERE spell_id = 'S8'"))
    with read_engine(db_url).connect() as conn:
        assert read_completeness(conn) == stored and read_coverage(conn).equals(coverage)
        assert completeness(conn) != stored  # the live check sees the deleted row
