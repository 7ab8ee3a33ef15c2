"""Bad input is rejected with a precise message and leaves the database exactly as it was.

Every case: the message names the file (and row, column, reason where there is one), the
database's tables hold the same rows as before (and a DuckDB file has the same bytes), and the
rejection is recorded in rejected-loads.jsonl.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_loaders.db import database_file
from data_loaders.dialect import make_engine
from data_loaders.load import REJECTIONS_FILE, load_files, read_rejections
from data_loaders.readers import MAX_CELL_CHARS
from data_loaders.tables import metadata
from data_loaders.validate import MAX_PROBLEMS, ExtractValidationError
from tests.conftest import BACKENDS, TemplateDb

VALID = Path(__file__).resolve().parent / "data" / "valid"
SPELL_HEADER = ("spell_id,patient_id,admission_date,discharge_date,admission_method,primary_diagnosis,"
                "cause_code,discharge_ready_date,discharge_pathway,admitted_from_care_home,"
                "patient_classification,admission_source,secondary_diagnoses,procedure_codes")
SPELL_OK = "S9,P0001,2024-01-05,2024-01-09,21,J45,,2024-01-08,1,no,1,19,J449 I10X,U051"
GPA_HEADER = "month,practice_code,booking_interval,status,appointments"


def spells(*lines: str, header: str = SPELL_HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def snapshot(url: str) -> dict[str, object]:
    """Every table's rows (sorted), plus the file's hash for DuckDB."""
    state: dict[str, object] = {}
    path = database_file(url)
    if path is not None:
        state["__file_sha256__"] = hashlib.sha256(path.read_bytes()).hexdigest()
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            for name in sorted(sa.inspect(c).get_table_names()):
                table = metadata.tables.get(name)  # reflection is not supported by duckdb-engine
                query = sa.select(table) if table is not None else sa.text(f'SELECT * FROM "{name}"')  # alembic_version
                state[name] = sorted(map(repr, c.execute(query).all()))
    finally:
        engine.dispose()
    return state


@pytest.fixture(params=BACKENDS)
def loaded(request: pytest.FixtureRequest, template_db: TemplateDb, copy_db: Callable[[str], str],
           tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of a database holding the valid fixture set (so 'unchanged' means something).

    The set is loaded once per backend per run; each test gets its own copy to try to spoil.
    """
    def load_valid(url: str) -> None:
        load_files(url, sorted(VALID.glob("*.csv")), progress=False, data_dir=tmp_path_factory.mktemp("valid"))

    return copy_db(template_db(request.param, "valid", load_valid))


def reject(url: str, tmp_path: Path, files: dict[str, bytes], extract: str | None = None) -> ExtractValidationError:
    """Write the files, try to load them (with one valid file alongside), assert nothing changed."""
    before = snapshot(url)
    data_dir = tmp_path / "data"
    previous = len(read_rejections(data_dir))
    paths = []
    for name, content in files.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    if extract is None:  # a valid file in the same load must not land either
        paths.append(VALID / "practice.csv")
    with pytest.raises(ExtractValidationError) as info:
        load_files(url, paths, extract=extract, progress=False, data_dir=data_dir)
    assert snapshot(url) == before
    rejections = read_rejections(data_dir)
    rejected_files = {r["file"] for r in rejections[: len(rejections) - previous]}
    assert rejected_files == {p.file for p in info.value.problems}
    for r in rejections[: len(rejections) - previous]:
        assert r["problems"] >= 1 and len(r["sha256"]) == 64 and r["first_problems"]
    return info.value


def assert_problem(error: ExtractValidationError, expected: str) -> None:
    text = str(error)
    assert expected in text, f"{expected!r} not in:\n{text}"


# ----------------------------------------------------------------------------- structure
def test_missing_column(loaded: str, tmp_path: Path) -> None:
    header = SPELL_HEADER.replace(",discharge_pathway", "")
    line = SPELL_OK.replace(",1,no", ",no")
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(line, header=header)})
    assert_problem(e, "inpatient_spell.csv: missing column: discharge_pathway")
    assert e.total == 1


def test_extra_column(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK + ",x,y", header=SPELL_HEADER + ",notes,ward")})
    assert_problem(e, "inpatient_spell.csv: unexpected columns: notes, ward (expected exactly: spell_id,")


def test_duplicate_header(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK + ",S9", header=SPELL_HEADER + ",spell_id")})
    assert_problem(e, "inpatient_spell.csv, row 1: duplicate column name in the header: spell_id")


def test_ragged_row(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK, SPELL_OK + ",extra")})
    assert_problem(e, "inpatient_spell.csv: not a readable CSV table: Expected 14 fields in line 3, saw 15")


def test_unknown_file_name(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"spells.csv": spells(SPELL_OK)})
    assert_problem(e, "spells.csv: cannot tell which extract this is from its name")
    assert_problem(e, "known extracts: ae_attendance, care_home_admission,")


def test_unsupported_file_type(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.txt": spells(SPELL_OK)})
    assert_problem(e, "inpatient_spell.txt: unsupported file type '.txt': use .csv (UTF-8), .xlsx or .parquet")


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize(("line", "expected"), [
    (SPELL_OK.replace(",1,no", ",two,no"),
     "inpatient_spell.csv, row 2, column discharge_pathway: 'two' is not a whole number"),
    (SPELL_OK.replace(",1,no", ",1.5,no"),
     "inpatient_spell.csv, row 2, column discharge_pathway: '1.5' is not a whole number"),
    (SPELL_OK.replace(",no", ",maybe"),
     "inpatient_spell.csv, row 2, column admitted_from_care_home: 'maybe' is not true/false"),
    (SPELL_OK.replace("2024-01-05", "2024-02-30"),
     "inpatient_spell.csv, row 2, column admission_date: '2024-02-30' is not a date as YYYY-MM-DD"),
    (SPELL_OK.replace("2024-01-05", "05/01/2024"),
     "inpatient_spell.csv, row 2, column admission_date: '05/01/2024' is not a date as YYYY-MM-DD"),
    (SPELL_OK.replace("2024-01-09", "2099-01-09"),
     "inpatient_spell.csv, row 2, column discharge_date: 2099-01-09 is in the future (after today,"),
    (SPELL_OK.replace("2024-01-05", "2014-12-31").replace("2024-01-08", ""),
     "inpatient_spell.csv, row 2, column admission_date: 2014-12-31 is before the earliest allowed date 2015-01-01"),
    (SPELL_OK.replace(",21,", ",77,"),
     "inpatient_spell.csv, row 2, column admission_method: '77' is not an allowed code (allowed: 11, 12, 13,"),
    (SPELL_OK.replace(",J45,", ",J45.9,"),
     "inpatient_spell.csv, row 2, column primary_diagnosis: 'J45.9' does not match the expected format"),
    (SPELL_OK.replace(",1,no", ",9,no"),
     "inpatient_spell.csv, row 2, column discharge_pathway: 9 is above the maximum 3"),
    (SPELL_OK.replace("S9,", ","),
     "inpatient_spell.csv, row 2, column spell_id: required value is missing"),
    (SPELL_OK.replace(",no,1,", ",no,6,"),
     "inpatient_spell.csv, row 2, column patient_classification: 6 is above the maximum 5"),
    (SPELL_OK.replace(",19,", ",1A,"),
     "inpatient_spell.csv, row 2, column admission_source: '1A' does not match the expected format"),
    (SPELL_OK.replace("J449 I10X", "J44.9 I10X"),
     "inpatient_spell.csv, row 2, column secondary_diagnoses: 'J44.9 I10X' does not match the expected format"),
    (SPELL_OK.replace(",U051", ",U051  K401"),
     "inpatient_spell.csv, row 2, column procedure_codes: 'U051  K401' does not match the expected format"),
], ids=["wrong-type", "fraction", "bool", "bad-date", "uk-date", "future", "before-2015", "unknown-code",
        "pattern", "above-max", "required", "classification", "source", "secondary-list", "procedure-list"])
def test_bad_value(loaded: str, tmp_path: Path, line: str, expected: str) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(line)})
    assert_problem(e, expected)
    assert e.total == 1, str(e)


def test_negative_count(loaded: str, tmp_path: Path) -> None:
    content = f"{GPA_HEADER}\n2024-03-01,M85001,same_day,attended,-5\n".encode()
    e = reject(loaded, tmp_path, {"gp_appointments-2024-03.csv": content})
    assert_problem(e, "gp_appointments-2024-03.csv, row 2, column appointments: -5 is below the minimum 0")


def test_duplicate_keys(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK, SPELL_OK.replace("S9,", "S8,"), SPELL_OK)})
    assert_problem(e, "inpatient_spell.csv, row 4, column spell_id: duplicate key (spell_id='S9'): same as row 2")
    assert e.total == 1


def test_duplicate_composite_keys(loaded: str, tmp_path: Path) -> None:
    content = (f"{GPA_HEADER}\n2024-03-01,M85001,same_day,attended,1\n"
               "2024-03-01,M85001,same_day,dna,2\n2024-03-01,M85001,same_day,attended,3\n").encode()
    e = reject(loaded, tmp_path, {"gp_appointments.csv": content})
    assert_problem(e, "gp_appointments.csv, row 4, column month, practice_code, booking_interval, status: "
                      "duplicate key (month=2024-03-01, practice_code='M85001', booking_interval='same_day', "
                      "status='attended'): same as row 2")


def test_rule_violation(loaded: str, tmp_path: Path) -> None:
    line = "S9,P0001,2024-01-05,2024-01-03,21,J45,,,1,no,,,,"
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(line)})
    assert_problem(e, "inpatient_spell.csv, row 2, column discharge_date, admission_date: discharge_date must "
                      "not be before admission_date (discharge_date=2024-01-03, admission_date=2024-01-05)")
    assert e.total == 1


def test_huge_cell(loaded: str, tmp_path: Path) -> None:
    big = "x" * (MAX_CELL_CHARS + 1)
    content = (f"contact_id,patient_id,contact_date,setting,service\nC1,P0001,2024-01-01,community,ok\n"
               f'C2,P0001,2024-01-01,community,"{big}"\n').encode()
    e = reject(loaded, tmp_path, {"community_contact.csv": content})
    assert_problem(e, "community_contact.csv, row 3, column service: cell is 10,001 characters long; "
                      "at most 10,000 allowed")


# ----------------------------------------------------------------------------- whole files
def test_empty_file(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": b""})
    assert str(e).splitlines()[1] == "  inpatient_spell.csv: the file is empty"


def test_header_only(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells()})
    assert_problem(e, "inpatient_spell.csv: the file has a header row but no data rows")


def test_latin1_file(loaded: str, tmp_path: Path) -> None:
    content = ("practice_code,practice_name,pcn_code,neighbourhood_code,neighbourhood_name,locality,place\n"
               "M85009,Café Surgery,U12345,N01,East 1,East,Birmingham\n").encode("latin-1")
    e = reject(loaded, tmp_path, {"practice__latin1.csv": content}, extract="practice")
    offset = content.index(b"\xe9")
    assert_problem(e, f"practice__latin1.csv: not UTF-8 text at byte {offset} (line 2): save it as 'CSV UTF-8'")


def test_utf16_file(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK).decode().encode("utf-16")})
    assert_problem(e, "inpatient_spell.csv: not UTF-8 text: it is UTF-16 (byte-order mark at byte 0)")


def test_utf16_without_bom(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK).decode().encode("utf-16-le")})
    assert_problem(e, "inpatient_spell.csv: not UTF-8 text at byte 1 (NUL byte; UTF-16 text?")


def test_png_renamed_csv(loaded: str, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": png})
    assert_problem(e, "inpatient_spell.csv: not a CSV text file: it looks like a PNG image")


def test_random_binary(loaded: str, tmp_path: Path) -> None:
    blob = bytes((i * 37 + 11) % 256 for i in range(3000))
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": blob})
    assert_problem(e, "inpatient_spell.csv: not UTF-8 text at byte")


def _xlsx_bytes(text: bytes) -> bytes:
    frame = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False)
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


def test_truncated_xlsx(loaded: str, tmp_path: Path) -> None:
    good = _xlsx_bytes(spells(SPELL_OK))
    e = reject(loaded, tmp_path, {"inpatient_spell.xlsx": good[: len(good) // 2]})
    assert_problem(e, "inpatient_spell.xlsx: not a readable XLSX workbook (truncated or corrupt")


def test_csv_renamed_xlsx(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.xlsx": spells(SPELL_OK)})
    assert_problem(e, "inpatient_spell.xlsx: not an XLSX workbook")


def test_xlsx_problem_rows_are_sheet_rows(loaded: str, tmp_path: Path) -> None:
    content = _xlsx_bytes(spells(SPELL_OK, SPELL_OK.replace("S9,", "S8,").replace(",21,", ",77,")))
    e = reject(loaded, tmp_path, {"inpatient_spell.xlsx": content})
    assert_problem(e, "inpatient_spell.xlsx, row 3, column admission_method: '77' is not an allowed code")


def test_corrupt_parquet(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"inpatient_spell.parquet": b"PAR1" + b"\x00" * 64})
    assert_problem(e, "inpatient_spell.parquet: not a readable Parquet file (truncated or corrupt")


def test_parquet_rows_are_record_numbers(loaded: str, tmp_path: Path) -> None:
    frame = pd.read_csv(io.BytesIO(spells(SPELL_OK, SPELL_OK.replace("S9,", "S8,").replace("2024-01-05", "2099-01-01"))),
                        dtype=str, keep_default_na=False)
    out = io.BytesIO()
    frame.to_parquet(out)
    e = reject(loaded, tmp_path, {"inpatient_spell.parquet": out.getvalue()})
    assert_problem(e, "inpatient_spell.parquet, row 2, column admission_date: 2099-01-01 is in the future")


# ----------------------------------------------------------------------------- many problems
def test_every_problem_in_every_file_is_reported(loaded: str, tmp_path: Path) -> None:
    bad_spells = spells(
        SPELL_OK.replace(",21,", ",77,"),                                  # row 2: code
        SPELL_OK.replace("S9,", "S8,").replace("2024-01-05", "2024-13-01"),  # row 3: date
        SPELL_OK.replace("S9,", "S7,").replace(",no", ",perhaps"),        # row 4: bool
        SPELL_OK,                                                           # row 5: duplicate of row 2
    )
    bad_counts = f"{GPA_HEADER}\n2024-03-01,M85001,same_day,attended,-1\n".encode()
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": bad_spells, "gp_appointments.csv": bad_counts})
    text = str(e)
    assert text.startswith("5 problems in 2 files (nothing was loaded):")
    for expected in (
        "inpatient_spell.csv, row 2, column admission_method: '77' is not an allowed code",
        "inpatient_spell.csv, row 3, column admission_date: '2024-13-01' is not a date",
        "inpatient_spell.csv, row 4, column admitted_from_care_home: 'perhaps' is not true/false",
        "inpatient_spell.csv, row 5, column spell_id: duplicate key (spell_id='S9'): same as row 2",
        "gp_appointments.csv, row 2, column appointments: -1 is below the minimum 0",
    ):
        assert_problem(e, expected)
    assert [(p.file, p.row) for p in e.problems][:4] == [("inpatient_spell.csv", r) for r in (2, 3, 4, 5)]


def test_problem_report_is_capped(loaded: str, tmp_path: Path) -> None:
    n = MAX_PROBLEMS + 500
    lines = [f"S{i},P0001,2024-01-05,2024-01-09,77,J45,,,1,no,,,," for i in range(n)]
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(*lines)})
    assert e.total == n and len(e.problems) == MAX_PROBLEMS
    assert str(e).endswith("... and 500 more not shown")
    (entry,) = read_rejections(tmp_path / "data")[:1]
    assert entry["problems"] == n and len(entry["first_problems"]) == 20


def test_rejections_file_is_json_lines(loaded: str, tmp_path: Path) -> None:
    reject(loaded, tmp_path, {"inpatient_spell.csv": b""})
    reject(loaded, tmp_path, {"gp_appointments.csv": b"nonsense"})
    lines = (tmp_path / "data" / REJECTIONS_FILE).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["file"] for e in entries] == ["inpatient_spell.csv", "gp_appointments.csv"]
    assert set(entries[0]) >= {"time", "file", "sha256", "problems", "first_problems"}
    newest: Callable[[], list[dict]] = lambda: read_rejections(tmp_path / "data")  # noqa: E731
    assert newest()[0]["file"] == "gp_appointments.csv"


def test_semicolon_separated(loaded: str, tmp_path: Path) -> None:
    content = spells(SPELL_OK).decode().replace(",", ";").encode()
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": content})
    assert_problem(e, "inpatient_spell.csv, row 1: the header has one column separated by semicolons")


def test_integer_beyond_database_range(loaded: str, tmp_path: Path) -> None:
    content = f"{GPA_HEADER}\n2024-03-01,M85001,same_day,attended,3000000000\n".encode()
    e = reject(loaded, tmp_path, {"gp_appointments.csv": content})
    assert_problem(e, "gp_appointments.csv, row 2, column appointments: '3000000000' is not a whole number "
                      "(at most 2,147,483,647 either side of 0)")


# ----------------------------------------------------------------------------- across files
PATIENT_HEADER = "patient_id,practice_code,lsoa_code,sex,birth_month,ethnic_category,care_home,date_of_death"
PRACTICE_HEADER = "practice_code,practice_name,pcn_code,neighbourhood_code,neighbourhood_name,locality,place"
CASELOAD_HEADER = "patient_id,int_team_code,start_date,end_date"


def lines(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_practice_not_in_the_stored_practice_list(loaded: str, tmp_path: Path) -> None:
    """The practice list is in the database (M85001, M85002); Y01234 is in neither it nor the load."""
    e = reject(loaded, tmp_path, {"gp_appointments.csv": lines(
        GPA_HEADER, "2024-03-01,M85001,same_day,attended,5", "2024-03-01,Y01234,same_day,attended,7")})
    assert [str(p) for p in e.problems] == [
        "gp_appointments.csv, row 3, column practice_code: 'Y01234' is not in practice (GP practices); "
        "load the updated practice file first or in the same load"]


def test_practice_in_the_same_load_is_accepted(loaded: str, tmp_path: Path) -> None:
    """The same row lands when the updated practice list comes in the same load."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "practice.csv").write_bytes(lines(
        PRACTICE_HEADER, "Y01234,New Surgery,U12345,N01,East Birmingham 1,East,Birmingham"))
    (folder / "gp_appointments.csv").write_bytes(lines(GPA_HEADER, "2024-03-01,Y01234,same_day,attended,7"))
    load_files(loaded, [folder], progress=False, data_dir=tmp_path / "data")
    engine = make_engine(loaded)
    try:
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT COUNT(*) FROM practice")).scalar_one() == 3
            assert c.execute(sa.text(
                "SELECT appointments FROM gp_appointments WHERE practice_code = 'Y01234'")).scalar_one() == 7
    finally:
        engine.dispose()


def test_patient_practice_without_any_practice_list(db_url: str, tmp_path: Path) -> None:
    """A fresh database and no practice file: the message says the practice list is missing."""
    from data_loaders.db import write_transaction

    with write_transaction(db_url):  # an empty database, so "unchanged" can be checked
        pass
    e = reject(db_url, tmp_path, {"patient.csv": lines(PATIENT_HEADER, "P0009,M85009,,F,1950-03-01,A,,")},
               extract="patient")
    assert [str(p) for p in e.problems] == [
        "patient.csv, row 2, column practice_code: 'M85009' is not in practice (GP practices); "
        "no practice rows are loaded yet: load practice.csv first or in the same load"]


def test_unknown_int_team(loaded: str, tmp_path: Path) -> None:
    """No INT register is loaded, so INT07 points at nothing; the whole load is rejected."""
    e = reject(loaded, tmp_path, {"int_caseload.csv": lines(CASELOAD_HEADER, "P0001,INT07,2024-01-10,")})
    assert [str(p) for p in e.problems] == [
        "int_caseload.csv, row 2, column int_team_code: 'INT07' is not in int_team (Integrated Neighbourhood "
        "Teams); no int_team rows are loaded yet: load int_team.csv first or in the same load"]


def test_full_date_in_birth_month(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"patient.csv": lines(
        PATIENT_HEADER, "P0001,M85001,E01008881,F,1940-03-01,A,,", "P0004,M85001,,F,1950-03-14,A,,")})
    assert [str(p) for p in e.problems] == [
        "patient.csv, row 3, column birth_month: 1950-03-14 is not the first day of a month: this column "
        "holds a month only, as YYYY-MM-01 (a full date must not be sent)"]


def test_changed_copy_of_shipped_reference_data(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {"standard_population.csv": lines("age_band_start,persons", "0,5001")})
    assert [str(p) for p in e.problems] == [
        "standard_population.csv: standard_population is reference data shipped with the app and installed "
        "on every load from data_loaders/reference/standard_population.csv; this file differs from it. Leave "
        "it out of the load, or change the shipped file (see data_loaders/reference/README.md)"]


def test_missing_required_extract(loaded: str, tmp_path: Path) -> None:
    """The results refresh needs a population: a load that leaves none is rejected, naming it."""
    from data_loaders.extracts import REQUIRED_EXTRACTS
    from data_loaders.load import LOAD_LEVEL

    before = snapshot(loaded)
    with pytest.raises(ExtractValidationError) as info:
        load_files(loaded, [VALID / "inpatient_spell.csv"], progress=False, data_dir=tmp_path / "data",
                   required=REQUIRED_EXTRACTS)
    assert [str(p) for p in info.value.problems] == [
        "(this load): missing required extract population (Registered population denominators): the "
        "database has no population rows and this load has no population file; add population.csv "
        "(or .xlsx / .parquet; format in docs/data-dictionary.md)"]
    assert snapshot(loaded) == before
    assert read_rejections(tmp_path / "data")[0]["file"] == LOAD_LEVEL


def test_xlsx_date_column_holding_text(loaded: str, tmp_path: Path) -> None:
    """A real Excel date in one row, text typed into the same date column in the next."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(SPELL_HEADER.split(","))
    first = SPELL_OK.split(",")
    first[2], first[3], first[7] = dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 1, 8)
    sheet.append(first)
    second = SPELL_OK.replace("S9,", "S8,").split(",")
    second[2], second[3], second[7] = "5th Jan 2024", dt.datetime(2024, 1, 9), None
    sheet.append(second)
    out = io.BytesIO()
    book.save(out)
    e = reject(loaded, tmp_path, {"inpatient_spell.xlsx": out.getvalue()})
    assert [str(p) for p in e.problems] == [
        "inpatient_spell.xlsx, row 3, column admission_date: '5th Jan 2024' is not a date as YYYY-MM-DD"]


def test_two_files_of_one_load_sharing_a_month(loaded: str, tmp_path: Path) -> None:
    """gp_appointments replaces whole months: the second file would delete the first one's March rows."""
    e = reject(loaded, tmp_path, {
        "gp_appointments-a.csv": lines(GPA_HEADER, "2024-03-01,M85001,same_day,attended,5"),
        "gp_appointments-b.csv": lines(GPA_HEADER, "2024-04-01,M85002,same_day,attended,6",
                                       "2024-03-01,M85002,same_day,attended,7"),
    })
    assert [str(p) for p in e.problems] == [
        "gp_appointments-b.csv, row 3, column month: month=2024-03-01 is also in gp_appointments-a.csv (row 2) of "
        "this load; each file replaces the rows it shares these values with, so one would overwrite the other: "
        "merge the files or load them one after the other"]


def test_two_files_of_one_load_sharing_a_key(loaded: str, tmp_path: Path) -> None:
    e = reject(loaded, tmp_path, {
        "inpatient_spell-1.csv": spells(SPELL_OK),
        "inpatient_spell-2.csv": spells(SPELL_OK.replace("S9,", "S7,"), SPELL_OK.replace(",1,no", ",2,no")),
    })
    assert [str(p) for p in e.problems] == [
        "inpatient_spell-2.csv, row 3, column spell_id: spell_id='S9' is also in inpatient_spell-1.csv (row 2) of "
        "this load; each file replaces the rows it shares these values with, so one would overwrite the other: "
        "merge the files or load them one after the other"]


# ----------------------------------------------------------------------------- bounded reads
def _bomb_xlsx(rows: int) -> bytes:
    """A real workbook whose sheet is `rows` identical rows: megabytes unzipped, kilobytes zipped."""
    import zipfile

    good = _xlsx_bytes(spells(SPELL_OK))
    row = ('<row>' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in SPELL_OK.split(",")) + "</row>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item, src.read(item))
                continue
            with dst.open(item.filename, "w") as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                header = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in SPELL_HEADER.split(","))
                sheet.write(f"<row>{header}</row>".encode())
                block = (row * 10_000).encode()
                for _ in range(rows // 10_000):
                    sheet.write(block)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_compressed_bomb_xlsx_is_refused_before_parsing(loaded: str, tmp_path: Path) -> None:
    bomb = _bomb_xlsx(1_200_000)
    assert len(bomb) < 4 * 2**20  # small on disk ...
    e = reject(loaded, tmp_path, {"inpatient_spell.xlsx": bomb})  # ... and refused without parsing 1.2M rows
    assert_problem(e, "inpatient_spell.xlsx: the workbook part xl/worksheets/sheet1.xml unzips to")
    assert_problem(e, "refused as a possible compressed bomb")


def test_too_many_rows_and_too_large_files_are_refused(loaded: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from data_loaders import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 2)
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": spells(SPELL_OK, SPELL_OK.replace("S9,", "S8,"),
                                                                 SPELL_OK.replace("S9,", "S7,"))})
    assert_problem(e, "inpatient_spell.csv: the file has more than 2 rows: split it")
    monkeypatch.setattr(readers, "MAX_ROWS", 50_000_000)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 100)
    content = spells(SPELL_OK, SPELL_OK)
    e = reject(loaded, tmp_path, {"inpatient_spell.csv": content})
    assert_problem(e, f"inpatient_spell.csv: the file is {len(content)} bytes; at most 100 bytes can be loaded at once")
