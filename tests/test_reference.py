"""Shipped reference data is right, validated, loadable; the data dictionary is up to date."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_loaders import reference
from data_loaders.db import write_transaction
from data_loaders.dialect import make_engine
from data_loaders.dictionary import DICTIONARY_PATH, main, render_data_dictionary
from data_loaders.extracts import EXTRACTS, NHS_ETHNIC_CATEGORIES
from data_loaders.validate import ExtractValidationError


def prefixes(list_name: str) -> list[str]:
    codes = reference.read_reference("code_list")
    return codes.loc[codes["list_name"] == list_name, "code_prefix"].tolist()


def matches(list_name: str, code: str) -> bool:
    return any(code.startswith(p) for p in prefixes(list_name))


def test_european_standard_population_2013() -> None:
    esp = reference.read_reference("standard_population")
    assert esp["age_band_start"].tolist() == list(range(0, 95, 5))
    assert esp["persons"].tolist() == [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
                                       7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000]
    assert esp["persons"].sum() == 100_000


def test_ethnicity_mapping() -> None:
    eth = reference.read_reference("ethnicity_code").set_index("code")["ethnic_group"]
    assert sorted(eth.index) == sorted(NHS_ETHNIC_CATEGORIES)
    assert eth["R"] == "Asian"  # Chinese: Asian in ONS 2021
    assert eth["S"] == "Other"
    assert eth["Z"] == eth["99"] == "Not stated"
    assert {eth[c] for c in "ABC"} == {"White"} and {eth[c] for c in "DEFG"} == {"Mixed"}
    assert {eth[c] for c in "HJKL"} == {"Asian"} and {eth[c] for c in "MNP"} == {"Black"}


def test_code_lists() -> None:
    codes = reference.read_reference("code_list")
    assert set(codes["list_name"]) == {"acsc_chronic", "falls_cause", "injury_diagnosis", "wound_bnf", "cyp_ltc",
                                       *(f"acsc_chronic_{c}{s}" for c in ("angina", "cardiac") for s in ("", "_procedure")),
                                       *(f"acsc_chronic_{c}{s}" for c in ("hep_b", "bronchitis") for s in ("", "_secondary"))}
    assert codes["source"].str.len().min() > 10 and codes["version"].notna().all()
    # NHS OF 2.3.i (IAP00068): see also tests/test_catalogue.py::test_shipped_chronic_acsc_list_is_nhs_of_2_3_i
    for code in ("I209", "J459", "I500", "I110", "G409", "J449", "F03", "E105",
                 "E112", "E148", "I10", "I119", "D509", "E109", "E119", "I489", "B181", "I130"):
        assert matches("acsc_chronic", code), code
    for code in ("E43", "E550", "I111", "J189", "I21", "D500", "J20", "R568", "G309", "I248"):
        assert not matches("acsc_chronic", code), code
    assert prefixes("falls_cause") == [f"W{i:02d}" for i in range(20)]
    assert matches("injury_diagnosis", "S720") and matches("injury_diagnosis", "T983")
    assert not matches("injury_diagnosis", "T99") and not matches("injury_diagnosis", "R55")
    assert matches("wound_bnf", "20030100018") and not matches("wound_bnf", "0601060D0")
    assert sorted(prefixes("cyp_ltc")) == ["E10", "E11", "E12", "E13", "E14", "G40", "G41", "J45", "J46"]  # NHS OF 2.3.ii


def test_every_shipped_extract_has_a_file_and_a_readme_entry() -> None:
    readme = (reference.REFERENCE_DIR / "README.md").read_text()
    shipped = {e.name for e in EXTRACTS if e.shipped}
    assert {p.stem for p in reference.REFERENCE_DIR.glob("*.csv")} == shipped
    for name in shipped:
        assert f"`{name}.csv`" in readme


def test_load_reference(db_url: str) -> None:
    for _ in range(2):  # idempotent
        with write_transaction(db_url) as conn:
            records = reference.load_reference(conn)
    assert [r.extract for r in records] == ["standard_population", "ethnicity_code", "code_list"]
    assert all(r.file_name.startswith("reference/") and len(r.sha256) == 64 for r in records)
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            got = {r.extract: c.execute(sa.text(f"SELECT COUNT(*) FROM {r.extract}")).scalar_one() for r in records}
            total = c.execute(sa.text("SELECT SUM(persons) FROM standard_population")).scalar_one()
            logged = c.execute(sa.text("SELECT COUNT(*) FROM load_log")).scalar_one()
    finally:
        engine.dispose()
    assert got == {r.extract: r.rows for r in records}
    assert total == 100_000 and logged == 6


def test_bad_shipped_file_is_rejected_before_writing(db_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for f in reference.REFERENCE_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "code_list.csv").write_text(
        "list_name,code_prefix,description,source,version\nfalls_cause,w01,bad,src,v1\n")
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    with pytest.raises(ExtractValidationError) as e, write_transaction(db_url) as conn:
        reference.load_reference(conn)
    assert "reference/code_list.csv, row 2, column code_prefix: 'w01' does not match" in str(e.value)
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            assert not sa.inspect(c).has_table("standard_population")
    finally:
        engine.dispose()


def test_data_dictionary_is_up_to_date() -> None:
    """docs/data-dictionary.md is generated: regenerate with `python -m data_loaders.dictionary`."""
    assert DICTIONARY_PATH.read_text(encoding="utf-8") == render_data_dictionary()
    assert main(["--check"]) == 0


def test_data_dictionary_covers_every_column() -> None:
    text = render_data_dictionary()
    for ex in EXTRACTS:
        assert f"### `{ex.name}` — {ex.title}" in text
        for col in ex.columns:
            assert f"| `{col.name}` |" in text
        for rule in ex.rules:
            assert rule.description in text


def test_install_reference_keeps_the_tables_in_step(db_url: str) -> None:
    """A fresh database gets every shipped table; an unchanged one is left alone; a stale one is replaced whole."""
    with write_transaction(db_url) as conn:
        first = reference.install_reference(conn)
    assert [r.extract for r in first] == ["standard_population", "ethnicity_code", "code_list"]
    with write_transaction(db_url) as conn:
        assert reference.install_reference(conn) == []  # in step already: nothing reloaded
        # an older app version's list: an extra code and a different hash in load_log
        conn.execute(sa.text("INSERT INTO code_list VALUES ('wound_bnf', '21', 'old', 'old', 'v0')"))
        conn.execute(sa.text("UPDATE load_log SET sha256 = 'old' WHERE extract = 'code_list'"))
    with write_transaction(db_url) as conn:
        again = reference.install_reference(conn)
    assert [r.extract for r in again] == ["code_list"]
    shipped = len(reference.read_reference("code_list"))
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT COUNT(*) FROM code_list")).scalar_one() == shipped
            assert c.execute(sa.text("SELECT COUNT(*) FROM code_list WHERE version = 'v0'")).scalar_one() == 0
            assert c.execute(sa.text("SELECT COUNT(*) FROM load_log")).scalar_one() == 4
    finally:
        engine.dispose()


def test_an_unchanged_copy_of_shipped_data_in_a_load_is_not_loaded_twice(db_url: str, tmp_path: Path) -> None:
    from data_loaders.load import load_files

    copy = tmp_path / "in" / "code_list.csv"
    copy.parent.mkdir()
    shutil.copy(reference.reference_path("code_list"), copy)
    records = load_files(db_url, [copy], progress=False, data_dir=tmp_path)
    assert [r.file_name for r in records] == [f"reference/{n}.csv" for n in
                                              ("standard_population", "ethnicity_code", "code_list")]
