"""The command line as a user runs it: `flask --app app ...` in a fresh data folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data_loaders.audit import read_audit
from metrics.catalogue import INDICATORS

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BSOL_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Path:
    """A data folder holding a copy of the run's demo (built by `flask demo` in conftest)."""
    folder = tmp_path_factory.mktemp("cli")
    shutil.copyfile(demo_db, folder / "bsol.duckdb")
    return folder


def test_measures_writes_the_results_table(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    done = _run(["measures", "--out", str(out)], data_dir)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    expected = {"indicator_id", "measure", "period_type", "period", "geography_level", "geography",
                "breakdown", "group", "numerator", "denominator", "value", "lower_ci", "upper_ci", "suppressed"}
    assert expected <= set(frame.columns)
    assert frame["measure"].nunique() == 21
    # disclosure control applied: no displayed count from 1 to 7 below BSol level
    # (person or event counts only: FTE, days and published practice totals are not disclosive)
    disclosive = {i.id for i in INDICATORS if i.numerator_disclosive}
    below = frame[(frame.geography_level != "bsol") & ~frame.suppressed & frame.indicator_id.isin(disclosive)]
    counts = below["numerator"].dropna()
    assert len(counts) > 1000
    assert not counts.between(1, 7).any()
    assert (counts % 5 == 0).all(), "displayed counts are rounded to the nearest 5"
    exports = read_audit(f"sqlite:///{data_dir / 'audit.sqlite'}", action="export")
    assert json.loads(exports["detail"].iloc[0]) == {"what": "measures", "out": str(out), "rows": len(frame)}
    assert exports["role"].iloc[0] == "cli"


def test_bad_load_exits_2_and_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "bsol.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = tmp_path / "practice.csv"
    bad.write_text("practice_code,practice_name,pcn_code,neighbourhood_code,neighbourhood_name,locality,place\n"
                   "Y99999,Bad,U00001,N01,Somewhere,Nowhere,Birmingham\n")
    done = _run(["load", str(bad)], data_dir)
    assert done.returncode == 2
    assert "practice.csv, row 2, column locality" in done.stderr
    assert "Nothing was loaded" in done.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    rejected = read_audit(f"sqlite:///{data_dir / 'audit.sqlite'}", action="load_rejected")
    assert json.loads(rejected["detail"].iloc[0])["files"] == [str(bad)]


def test_data_dictionary_check_passes_on_the_committed_file(data_dir: Path) -> None:
    done = _run(["data-dictionary", "--check"], data_dir)
    assert done.returncode == 0, done.stderr


def test_measures_without_data_says_what_to_do(tmp_path: Path) -> None:
    done = _run(["measures", "--out", str(tmp_path / "x.csv")], tmp_path)
    assert done.returncode == 1
    assert "No data loaded" in done.stderr


def test_every_indicator_computes_at_every_level_and_declared_breakdown(data_dir: Path) -> None:
    from data_loaders.db import read_engine
    from metrics.results import read_results

    with read_engine(f"duckdb:///{data_dir / 'bsol.duckdb'}").connect() as conn:
        frame = read_results(conn)
    missing = []
    for ind in INDICATORS:
        rows = frame[frame.indicator_id == ind.id]
        for level in ("bsol", "place", "locality", "neighbourhood", "practice"):
            if rows[(rows.geography_level == level) & rows.value.notna()].empty:
                missing.append(f"{ind.id} at {level}")
        for breakdown in ind.breakdowns:
            if rows[(rows.breakdown == breakdown) & rows.value.notna()].empty:
                missing.append(f"{ind.id} by {breakdown}")
        undeclared = set(rows.breakdown) - {"none", *ind.breakdowns}
        assert not undeclared, f"{ind.id} has undeclared breakdowns {undeclared}"
        assert set(rows.period_type) <= set(ind.frequency)
    assert not missing, missing


def test_load_into_a_fresh_database_installs_the_reference_data(tmp_path: Path) -> None:
    """A data team's folder of extracts (no shipped reference CSVs) loads into an empty database."""
    from datetime import date

    from data_loaders import demo

    folder = tmp_path / "extracts"
    files = demo.write_extracts(demo.generate("small", end=date(2025, 3, 31)), folder)
    assert not {"standard_population.csv", "code_list.csv", "ethnicity_code.csv"} & {p.name for p in files}
    spells = pd.read_csv(folder / "inpatient_spell.csv", dtype=str, keep_default_na=False)
    with open(folder / "inpatient_spell.csv", "a", encoding="utf-8") as out:  # one spell the spine lacks
        out.write(",".join(["S-ORPHAN", "NOT-IN-SPINE", *spells.iloc[0, 2:].tolist()]) + "\n")
    done = _run(["load", str(folder)], tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert "loaded 19 rows into standard_population from reference/standard_population.csv" in done.stdout
    assert "from reference/code_list.csv" in done.stdout and "into population from population.csv" in done.stdout
    assert ("Kept and counted on the Data page's data-quality table:\n"
            f"  inpatient_spell.patient_id: 1 of {len(spells) + 1:,} rows for a patient not in the patient "
            "spine\n") in done.stdout  # the only finding: the demo extracts are otherwise consistent
    results = tmp_path / "results.csv"
    assert _run(["measures", "--out", str(results)], tmp_path / "data").returncode == 0
    assert pd.read_csv(results)["measure"].nunique() == 21


def test_load_without_a_required_extract_names_it(tmp_path: Path) -> None:
    done = _run(["load", str(ROOT / "tests" / "data" / "valid")], tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert ("(this load): missing required extract population (Registered population denominators): the "
            "database has no population rows and this load has no population file") in done.stderr
    assert "Nothing was loaded: the database is unchanged." in done.stderr
    assert not (tmp_path / "bsol.duckdb").exists()

