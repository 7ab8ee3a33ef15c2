"""The measure catalogue against the Implementation Plan it transcribes."""

from __future__ import annotations

import re
from pathlib import Path

from metrics.catalogue import INDICATORS, MEASURES, WORK_PROGRAMMES, catalogue_problems
from metrics.docs import indicator_rows, render_measures_doc

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "tests" / "data" / "plan_table2.txt"  # Table 2, verbatim from the plan


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("“", '"').replace("”", '"')).strip()


def test_twenty_one_measures_in_table_2_order_and_wording() -> None:
    assert [m.number for m in MEASURES] == list(range(1, 22))
    plan = _squash(PLAN.read_text(encoding="utf-8"))
    for m in MEASURES:
        assert _squash(m.wording) in plan, f"measure {m.number} wording is not Table 2's: {m.wording!r}"


def test_placeholders_are_proposed_and_the_rest_agreed() -> None:
    assert {m.number for m in MEASURES if m.proposed} == {13, 15, 20, 21}
    assert all(m.status_label == "proposed — not agreed" for m in MEASURES if m.proposed)


def test_work_programmes_match_the_plan() -> None:
    expected = {1: (1, 4), 2: (5, 9), 3: (10, 16), 4: (17, 20), 5: (21, 21)}
    for wp, (first, last) in expected.items():
        assert [m.number for m in MEASURES if m.work_programme == wp] == list(range(first, last + 1)), WORK_PROGRAMMES[wp]


def test_catalogue_is_consistent_and_ids_stable() -> None:
    assert catalogue_problems() == []
    ids = [i.id for i in INDICATORS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"m\d{2}_[a-z0-9_]+", i) for i in ids)
    assert all(i.id.startswith(f"m{i.measure:02d}_") for i in INDICATORS)


def test_national_definitions_are_recorded() -> None:
    by_id = {i.id: i for i in INDICATORS}
    assert "ASCOF 2C" in by_id["m04_care_home_admissions_65"].definition
    assert "ASCOF 2B(1)" in by_id["m08_reablement_91d"].definition
    assert "PHOF C29" in by_id["m09_falls_65"].definition
    assert "2.3.i" in by_id["m16_acsc_chronic"].definition
    assert by_id["m05_ucr_2h"].target == 70.0
    assert "HYP008" in by_id["m12_hypertension_bp_target"].definition
    assert all(i.definition and i.definition_year for i in INDICATORS)


def test_measures_doc_is_generated_from_the_catalogue() -> None:
    committed = (ROOT / "docs" / "measures.md").read_text(encoding="utf-8")
    assert committed == render_measures_doc(), "run `flask --app app measures-doc`"


def test_bcf_metrics_name_their_framework_year() -> None:
    """A Steering Group member must see which Better Care Fund return a figure matches."""
    by_id = {i.id: i for i in INDICATORS}
    tagged = {i.id: i.bcf_framework for i in INDICATORS if i.bcf_framework}
    assert all(v in ("2023-25", "2025-26") for v in tagged.values()), tagged
    # every indicator whose definition or measure says BCF carries a year
    assert all(i.bcf_framework for i in INDICATORS if "BCF" in i.definition), [
        i.id for i in INDICATORS if "BCF" in i.definition and not i.bcf_framework]
    assert by_id["m04_care_home_admissions_65"].bcf_framework == "2025-26"
    assert by_id["m16_acsc_chronic"].bcf_framework == "2023-25"
    assert by_id["m09_falls_65"].bcf_framework == "2023-25"
    assert dict(indicator_rows(by_id["m09_falls_65"]))["Better Care Fund"].startswith("BCF 2023-25")


def test_calculation_rules_are_documented() -> None:
    """Defect 13: rules applied silently (lower CI cut at 0, DSR bands without population) are
    stated in each indicator's metadata, and so in docs/measures.md."""
    by_id = {i.id: i for i in INDICATORS}
    mean = dict(indicator_rows(by_id["m06_p1_mean_delay"]))["Calculation rules"]
    assert "lower limit is cut at 0" in mean
    dsr = dict(indicator_rows(by_id["m16_acsc_chronic"]))["Calculation rules"]
    assert "no population" in dsr and "not calculated" in dsr


def _matches(list_name: str, code: str) -> bool:
    import csv

    with (ROOT / "data_loaders" / "reference" / "code_list.csv").open(encoding="utf-8") as f:
        return any(r["list_name"] == list_name and code.startswith(r["code_prefix"]) for r in csv.DictReader(f))


def test_shipped_chronic_acsc_list_is_nhs_of_2_3_i() -> None:
    """Defect 4: codes on / off the chronic ACSC list, worked from NHS Digital's CCG OIS 2.6
    specification v1.15 (the CCG-level NHS OF 2.3.i), data filter 1 and appendix 2 (hepatitis B, AF,
    CHF incl. I13.0, IDA incl. D51/D52, diabetes incl. uncomplicated .9), and near misses just outside it."""
    on = ["B180", "B181", "I480", "I489", "I130", "I110", "I500", "J81X", "D501", "D508", "D509", "D510",
          "D513", "D518", "D520", "D529", "E109", "E119", "E149", "E101", "I10X", "I119", "I200", "I251",
          "J410", "J42X", "J439", "J449", "J47X", "J459", "J46X", "G409", "G41X", "F00X", "F03X"]
    off = ["B182",  # chronic hepatitis C is not on the list
           "I241",  # Dressler's syndrome (I24.1) is not angina
           "I240", "I248", "I249",  # filter 1(f) names I20 and I25 only (the wider Purdy angina set has I24)
           "R568", "O15X",  # filter 1(i): epilepsy is G40, G41 only (no convulsions R56 or eclampsia O15)
           "G309",  # dementia is F00-F03; Alzheimer disease G30 is not listed
           "D500",  # iron deficiency anaemia secondary to blood loss
           "D530",  # other nutritional anaemias
           "E40X", "E43X", "E550", "E643",  # nutritional deficiencies: not chronic ACSCs
           "I111",  # not a code; I11.0 and I11.9 only
           "J20X"]  # acute bronchitis counts only with a COPD secondary diagnosis (handled separately)
    assert [c for c in on if not _matches("acsc_chronic", c)] == []
    assert [c for c in off if _matches("acsc_chronic", c)] == []
