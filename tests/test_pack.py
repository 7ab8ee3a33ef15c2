"""Committee packs (exports/pack.py): structure, figures = stored results after disclosure control,
charts, symbols, formula-injection safety and the `flask --app app pack` command.

Data: the known-answer dataset (tests/kat_data.py) with a neighbourhood renamed to a formula, and
the small synthetic demo (conftest's session `demo_db`) for packs with realistic volumes.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from data_loaders.db import read_engine
from exports import pack
from metrics.catalogue import INDICATORS, INDICATORS_BY_ID
from metrics.disclosure import DisclosureRule
from metrics.results import for_display, read_results
from tests.conftest import BACKENDS, TemplateDb
from tests.kat_db import build_kat_db

ROOT = Path(__file__).resolve().parent.parent
INJECTED = '=HYPERLINK("http://x","y")'
GENERATED = datetime(2024, 7, 15, 9, 30, tzinfo=pack.LONDON)
SHEETS = ["Cover", "Contents", "Notes", "Scorecard", "WP1 Integrated teams", "WP2 Intermediate care",
          "WP3 Long term conditions", "WP4 Primary care", "WP5 Children", "Neighbourhoods", "To target", "Pre-post INT",
          "Data quality"]
WP_SHEETS = SHEETS[4:9]
LEVELS = {"BSol": "bsol", "Place": "place", "Locality": "locality"}
BREAKDOWNS = {"Area": "none", "IMD quintile": "imd_quintile", "Ethnic group": "ethnicity"}


# --------------------------------------------------------------------------- fixtures
def _inject(data: dict[str, pd.DataFrame]) -> None:
    """East's neighbourhood named like a spreadsheet formula."""
    data["practice"].loc[data["practice"].practice_code == "Y90001", "neighbourhood_name"] = INJECTED


def _build_kat(url: str) -> None:
    """The known-answer data, with East's neighbourhood named like a spreadsheet formula."""
    build_kat_db(url, _inject)


@pytest.fixture(scope="module")
def kat_url(template_db: TemplateDb) -> str:
    return template_db("duckdb", "kat-injected", _build_kat)


@pytest.fixture(scope="module")
def demo_url(demo_db: Path) -> str:
    return f"duckdb:///{demo_db}"


def _pack(url: str, place: str, period: str | None = None) -> Workbook:
    with read_engine(url).connect() as conn:
        content = pack.build_pack(conn, place, period, generated_at=GENERATED)
    return load_workbook(io.BytesIO(content))


@pytest.fixture(scope="module")
def kat_packs(kat_url: str) -> dict[str, Workbook]:
    return {place: _pack(kat_url, place) for place in pack.PLACES}


@pytest.fixture(scope="module")
def kat_open_pack(tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    """The BSol pack of the kat data refreshed and shown under a policy suppressing only counts of 1
    (passed to refresh and pack): its BSol counts are all small, so only this way do the layout tests have
    BSol figures to look at."""
    url = f"duckdb:///{tmp_path_factory.mktemp('kat-open') / 'bsol.duckdb'}"
    open_rule = DisclosureRule(max_suppressed=1)
    build_kat_db(url, _inject, open_rule)
    with read_engine(url).connect() as conn:
        content = pack.build_pack(conn, "bsol", None, generated_at=GENERATED, rule=open_rule)
    return load_workbook(io.BytesIO(content))


@pytest.fixture(scope="module")
def demo_packs(demo_url: str) -> dict[str, Workbook]:
    return {place: _pack(demo_url, place) for place in pack.PLACES}


def _table(wb: Workbook, name: str) -> pd.DataFrame:
    """An Excel table read back as a frame of cell values (header row = columns)."""
    for ws in wb.worksheets:
        if name in ws.tables:
            cells = [[c.value for c in row] for row in ws[ws.tables[name].ref]]
            return pd.DataFrame(cells[1:], columns=cells[0])
    raise KeyError(name)


def _expected(url: str, period: str, period_type: str = "quarter") -> pd.DataFrame:
    with read_engine(url).connect() as conn:
        return for_display(read_results(conn, period_type=period_type, period=period))


def _check_cell(cell: object, row: pd.Series | None, column: str) -> None:
    """A pack cell against the for_display row: [c] if suppressed, [x] if absent, else equal."""
    if row is None:
        assert cell == pack.NOT_AVAILABLE
    elif bool(row["suppressed"]):
        assert cell == pack.SUPPRESSED
    elif pd.isna(row[column]):
        assert cell in (pack.NOT_AVAILABLE, pack.NOT_APPLICABLE)
    else:
        assert cell == pytest.approx(float(row[column]), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- structure
@pytest.mark.parametrize("place", pack.PLACES)
def test_sheets_and_every_indicator(kat_packs: dict[str, Workbook], place: str) -> None:
    wb = kat_packs[place]
    assert wb.sheetnames == SHEETS
    for sheet in ("Scorecard", "Notes"):
        text = {str(c.value) for row in wb[sheet].iter_rows() for c in row if c.value is not None}
        for ind in INDICATORS:
            assert ind.id in text and ind.title in text, (sheet, ind.id)
    wp_ids = set()
    for sheet in WP_SHEETS:
        wp_ids |= set(_table(wb, f"tbl_wp{sheet[2]}")["Indicator id"])
    assert wp_ids == set(INDICATORS_BY_ID)


def test_scope_areas(kat_packs: dict[str, Workbook]) -> None:
    areas = {place: set(_table(wb, "tbl_wp1")["Area"]) - {"All"} for place, wb in kat_packs.items()}
    assert areas["bsol"] == {"BSol", "Birmingham", "Solihull", "North", "South", "East", "West", "Central"}
    assert areas["birmingham"] == {"Birmingham", "North", "South", "East", "West", "Central"}
    assert areas["solihull"] == {"Solihull"}
    assert set(_table(kat_packs["solihull"], "tbl_wp1")["Area type"]) == {"Place", "Locality"}


def test_notes_label_proposed_measures(kat_packs: dict[str, Workbook]) -> None:
    notes = _table(kat_packs["bsol"], "tbl_notes").set_index("Indicator id")
    assert notes.loc["m13_diabetes_hba1c", "Measure status"] == "proposed — not agreed"
    assert notes.loc["m05_ucr_2h", "Measure status"] == "agreed (Table 2)"
    assert notes.loc["m05_ucr_2h", "Numerator"] == INDICATORS_BY_ID["m05_ucr_2h"].numerator_text
    card = _table(kat_packs["bsol"], "tbl_scorecard").set_index("Indicator id")
    assert card.loc["m21_cyp_ltc_admissions", "Measure status"] == "proposed — not agreed"


def test_cover_and_contents(kat_packs: dict[str, Workbook]) -> None:
    wb = kat_packs["birmingham"]
    cover = "\n".join(str(c.value) for c in wb["Cover"]["A"] if c.value)
    assert "Birmingham Place Committee" in cover and "2024-25 Q1" in cover
    assert "April to June 2024" in cover and "15 July 2024 09:30" in cover
    assert "SYNTHETIC" not in cover  # kat data is not flagged as demo
    for text in ("[c]", "[x]", "[z]", "suppressed", "rounded to the nearest 5", "Data sources"):
        assert text in cover
    contents = wb["Contents"]
    links = {c.value: c.hyperlink.location for c in contents["A"] if c.hyperlink is not None}
    assert set(links) == set(SHEETS)
    assert links["WP1 Integrated teams"] == "'WP1 Integrated teams'!A1"


def test_demo_flag_on_cover(demo_packs: dict[str, Workbook]) -> None:
    cover = "\n".join(str(c.value) for c in demo_packs["solihull"]["Cover"]["A"] if c.value)
    assert "SYNTHETIC DEMO DATA" in cover


def test_formatting(kat_packs: dict[str, Workbook], kat_open_pack: Workbook) -> None:
    wb = kat_packs["bsol"]
    names = [name for ws in wb.worksheets for name in ws.tables]
    assert len(names) == len(set(names)) and len(names) >= 10
    for ws in wb.worksheets[1:]:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.freeze_panes is not None or not ws.tables  # frozen headers wherever there is a table
        assert ws["A1"].value and ws["A1"].font.bold  # a title in A1
    ws = kat_open_pack["WP2 Intermediate care"]
    top = int(ws.tables["tbl_wp2"].ref.split(":")[0][1:])
    header = {c.value: c.column for c in ws[top]}
    formats = {}
    for row in ws.iter_rows(min_row=top + 1):
        value = row[header["Value"] - 1]
        if isinstance(value.value, float):
            formats[row[header["Indicator id"] - 1].value] = value.number_format
    # Whichever figures the kat data leaves visible carry their unit's format (worked by hand):
    want = {"percent": '0.0"%"'}
    assert formats, "some WP2 figures are shown"
    for ind_id, fmt in formats.items():
        ind = INDICATORS_BY_ID[ind_id]
        if ind.unit == "percent" and ind.decimals == 1:
            assert fmt == want["percent"], ind_id  # shows 66.7% for a stored 66.666...
        elif ind.unit == "days":  # the catalogue's decimals: 2 for the mean delay, 1 for the median
            assert fmt == ("#,##0." + "0" * ind.decimals), ind_id
    assert ws.column_dimensions["C"].width >= 40


# --------------------------------------------------------------------------- figures
@pytest.mark.parametrize("place", pack.PLACES)
def test_work_programme_figures_equal_stored_results_after_suppression(
        kat_url: str, kat_packs: dict[str, Workbook], place: str) -> None:
    expected = _expected(kat_url, "2024-25 Q1").set_index(
        ["indicator_id", "breakdown", "geography_level", "geography", "group"])
    checked = suppressed = 0
    for sheet in WP_SHEETS:
        table = _table(kat_packs[place], f"tbl_wp{sheet[2]}")
        for _, r in table[table["Area type"] != "All"].iterrows():
            key = (r["Indicator id"], BREAKDOWNS[r["Breakdown"]], LEVELS[r["Area type"]], r["Area"], r["Group"])
            row = expected.loc[key] if key in expected.index else None
            for column, source in (("Value", "value"), ("Lower 95% CI", "lower_ci"),
                                   ("Upper 95% CI", "upper_ci"), ("Numerator", "numerator")):
                if r[column] != pack.NOT_APPLICABLE:
                    _check_cell(r[column], row, source)
            checked += 1
            suppressed += r["Value"] == pack.SUPPRESSED
    assert checked > 100
    assert suppressed > 0  # the kat data has small numbers below BSol level


def test_selected_cells_by_hand(kat_url: str, kat_packs: dict[str, Workbook]) -> None:
    """A few cells picked out and compared with for_display(read_results(...)) directly."""
    shown = _expected(kat_url, "2024-25 Q1")
    none = shown[shown.breakdown == "none"]

    def stored(ind: str, level: str, geo: str) -> pd.Series:
        return none[(none.indicator_id == ind) & (none.geography_level == level) & (none.geography == geo)].iloc[0]

    card = _table(kat_packs["bsol"], "tbl_scorecard").set_index("Indicator id")
    ucr = stored("m05_ucr_2h", "bsol", "BSol")
    # BSol is below England: the kat data's 3 UCR referrals are suppressed there too.
    assert ucr["suppressed"] and card.loc["m05_ucr_2h", "Value"] == "[c]"
    assert card.loc["m05_ucr_2h", "Lower 95% CI"] == "[c]"
    assert card.loc["m05_ucr_2h", "Target"] == 70

    wp1 = _table(kat_packs["solihull"], "tbl_wp1")
    cell = wp1[(wp1["Indicator id"] == "m04_care_home_admissions_65") & (wp1.Breakdown == "Area")
               & (wp1["Area type"] == "Place")].iloc[0]
    row = stored("m04_care_home_admissions_65", "place", "Solihull")
    assert row["suppressed"] and cell["Value"] == "[c]" and cell["Numerator"] == "[c]"

    wp4 = _table(kat_packs["birmingham"], "tbl_wp4")
    # GPAD's latest month in the known-answer data is May 2024: 2024-25 Q1 is not available, not 0
    gpad = wp4[(wp4["Indicator id"] == "m18_gp_appointments_rate") & (wp4["Area"] == "East")]
    assert set(gpad["Value"]) <= {pack.NOT_AVAILABLE}
    cell = wp4[(wp4["Indicator id"] == "m20_gp_fte_per_10k") & (wp4["Area"] == "East")].iloc[0]
    row = stored("m20_gp_fte_per_10k", "locality", "East")
    assert not row["suppressed"]
    assert cell["Value"] == pytest.approx(row["value"])
    assert cell["Numerator"] == row["numerator"] and row["numerator"] % 5 == 0  # rounded to 5
    assert cell["Lower 95% CI"] == "[z]"  # ci = none


def test_scorecard_matches_headline_and_spc_text(kat_url: str, kat_packs: dict[str, Workbook]) -> None:
    shown = _expected(kat_url, "2024-25 Q1")
    head = shown[(shown.breakdown == "none") & (shown.geography_level == "place")
                 & (shown.geography == "Birmingham")].set_index("indicator_id")
    card = _table(kat_packs["birmingham"], "tbl_scorecard")
    assert list(card["Indicator id"]) == [i.id for i in INDICATORS]
    for _, r in card.iterrows():
        _check_cell(r["Value"], head.loc[r["Indicator id"]] if r["Indicator id"] in head.index else None, "value")
        assert isinstance(r["SPC variation"], str) and isinstance(r["SPC assurance"], str)
        if r["Value"] not in (pack.NOT_AVAILABLE, pack.NOT_APPLICABLE):
            assert r["Compared with"] == "BSol"  # place packs compare with BSol
    assert (card["Compared with"] == "BSol").sum() > len(card) / 2


def test_demo_figures_and_charts(demo_url: str, demo_packs: dict[str, Workbook]) -> None:
    for place, wb in demo_packs.items():
        for sheet in WP_SHEETS:
            assert wb[sheet]._charts, (place, sheet)
        card = _table(wb, "tbl_scorecard")
        assert card["SPC variation"].str.contains("variation").any()
    label = _table(demo_packs["bsol"], "tbl_scorecard")["Period"].iloc[0]
    assert label == "2024-25 Q4"  # latest complete quarter for data ending 31 March 2025
    expected = _expected(demo_url, label).set_index(
        ["indicator_id", "breakdown", "geography_level", "geography", "group"])
    table = _table(demo_packs["birmingham"], "tbl_wp3")
    table = table[table["Area type"] != "All"]
    for _, r in table.iterrows():
        key = (r["Indicator id"], BREAKDOWNS[r["Breakdown"]], LEVELS[r["Area type"]], r["Area"], r["Group"])
        _check_cell(r["Value"], expected.loc[key] if key in expected.index else None, "value")
    hoods = _table(demo_packs["birmingham"], "tbl_neighbourhoods")
    assert set(hoods["Locality"]) == {"North", "South", "East", "West", "Central"}


def test_scorecard_says_which_periods_are_to_date_or_provisional(kat_url: str) -> None:
    """kat_data ends 2024-06-30: FY 2024-25 is to date; GPAD (m18, usually revised) ends in May, its
    latest month, so its year is provisional too; care-home admissions (m04) are not revised."""
    card = _table(_pack(kat_url, "bsol", "2024-25"), "tbl_scorecard").set_index("Indicator id")
    assert card.loc["m04_care_home_admissions_65", "Period status"] == "to date"
    assert card.loc["m18_gp_appointments_rate", "Period status"] == "to date, provisional"


def test_demo_patients_needed_to_reach_the_target(demo_packs: dict[str, Workbook]) -> None:
    """CVDPREVENT's gap, by hand from each row's own displayed counts: ceil(0.8 x denominator - numerator),
    0 where met; areas, neighbourhoods and IMD quintiles of the pack's scope."""
    table = _table(demo_packs["birmingham"], "tbl_to_target")
    assert set(table["Indicator id"]) == {"m11_hypertension_detection", "m12_hypertension_bp_target"}
    assert {"Place", "Locality", "Neighbourhood"} <= set(table["Level"])
    assert "Q1 (most deprived)" in set(table["IMD quintile"])
    shown = table[table["Patients needed"] != pack.SUPPRESSED]
    assert len(shown) > 10 and (table[table["Numerator"] == pack.SUPPRESSED]["Patients needed"] == pack.SUPPRESSED).all()
    for r in shown.itertuples(index=False):
        want = max(0, math.ceil(round(0.8 * float(r.Denominator) - float(r.Numerator), 6)))
        assert r[-1] == want, r
    assert (shown["Patients needed"] > 0).any()


def test_demo_prepost_tables(demo_packs: dict[str, Workbook]) -> None:
    plan = _table(demo_packs["bsol"], "tbl_prepost_plan_pilot")
    assert {"EAST INT", "WEST INT", "TOTAL"} <= set(plan["INT"])
    assert "TOTAL" not in set(_table(demo_packs["birmingham"], "tbl_prepost_plan_pilot")["INT"])
    solihull = demo_packs["solihull"]["Pre-post INT"]
    assert "EAST INT" not in {c.value for row in solihull.iter_rows() for c in row}
    stats = _table(demo_packs["bsol"], "tbl_prepost_stats_pilot")
    counts = stats[["People", "Pre", "Post"]].stack()
    numbers = counts[counts.map(lambda v: isinstance(v, int | float))]
    assert (numbers % 5 == 0).all()  # rounded to 5 (disclosure control)
    assert (stats["Difference in differences per person"][stats.Activity == "GP appointments"] == "[z]").all()


def test_charts_on_every_work_programme_sheet(kat_open_pack: Workbook) -> None:
    wb = kat_open_pack  # (almost) nothing suppressed here, so sheets have figures to plot
    charted = 0
    for sheet in WP_SHEETS:
        charts = wb[sheet]._charts
        charted += bool(charts)
        assert all(type(c).__name__ == "BarChart" for c in charts)
    assert charted >= len(WP_SHEETS) - 1, "every work programme sheet with a shown figure has its charts"


def test_charts_plot_their_own_indicator_rows(kat_packs: dict[str, Workbook]) -> None:
    """Each chart's value and category ranges lie on rows of the indicator named in its title."""
    from openpyxl.utils.cell import range_boundaries

    for wb in kat_packs.values():
        for sheet in WP_SHEETS:
            ws = wb[sheet]
            header = {c.value: c.column for c in ws[int(ws.tables[f"tbl_wp{sheet[2]}"].ref.split(":")[0][1:])]}
            for chart in ws._charts:
                title = "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))
                indicator = title.split(" by ")[0]
                series = chart.series[0]
                col, first, _, last = range_boundaries(series.val.numRef.f.split("!")[1])
                assert col == header["Value"]
                rows = range(first, last + 1)
                assert {ws.cell(r, header["Indicator id"]).value for r in rows} == {indicator}
                breakdowns = {ws.cell(r, header["Breakdown"]).value for r in rows}
                assert len(breakdowns) == 1 and (" by area" in title) == (breakdowns == {"Area"})
                ref = (series.cat.numRef or series.cat.strRef).f.split("!")[1]
                cat_col, cat_first, _, cat_last = range_boundaries(ref)
                assert (cat_first, cat_last) == (first, last)
                assert cat_col == header["Area" if breakdowns == {"Area"} else "Group"]


# --------------------------------------------------------------------------- periods
def test_parse_period() -> None:
    assert pack.parse_period("2024-25") == ("financial_year", "2024-25")
    assert pack.parse_period("2024/25") == ("financial_year", "2024-25")
    assert pack.parse_period("2024-25 q2") == ("quarter", "2024-25 Q2")
    assert pack.parse_period("2024-06") == ("month", "2024-06")
    for bad in ("2024-13", "2024-27", "2024-25 Q5", "June 2024", "2024-26 Q1"):
        with pytest.raises(ValueError):
            pack.parse_period(bad)


def test_resolve_period_and_unknown_inputs(kat_url: str) -> None:
    with read_engine(kat_url).connect() as conn:
        period = pack.resolve_period(conn)
        assert (period.period_type, period.label, period.complete) == ("quarter", "2024-25 Q1", True)
        fy = pack.resolve_period(conn, "2024-25")
        assert not fy.complete and "incomplete" in fy.describe()
        with pytest.raises(ValueError, match="available"):
            pack.resolve_period(conn, "2019-20")
        with pytest.raises(ValueError, match="place"):
            pack.build_pack(conn, "coventry", None)
    assert pack.pack_filename("Birmingham", "2024-25 Q1") == "bsol-outcomes-pack-birmingham-2024-25-Q1.xlsx"


def test_month_pack_marks_quarterly_indicators_not_applicable(kat_url: str) -> None:
    wb = _pack(kat_url, "bsol", "2024-06")
    card = _table(wb, "tbl_scorecard").set_index("Indicator id")
    assert card.loc["m08_reablement_91d", "Value"] == "[z]"  # quarterly / annual only
    assert card.loc["m05_ucr_2h", "Period"] == "2024-06"
    # GPAD ends in May 2024 in the known-answer data: June is missing, not zero
    assert card.loc["m18_gp_appointments_rate", "Value"] == pack.NOT_AVAILABLE


# --------------------------------------------------------------------------- safety
def test_injected_formula_is_inert_text(kat_url: str, kat_packs: dict[str, Workbook]) -> None:
    content = _pack_bytes(kat_url, "birmingham")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in archive.read(name), name  # no formula anywhere
    for wb in kat_packs.values():
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (ws.title, cell.coordinate)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith(("=", "+", "-", "@")), (ws.title, cell.coordinate)
    hoods = kat_packs["birmingham"]["Neighbourhoods"]
    cells = [c for row in hoods.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells, "the injected neighbourhood name should be listed"
    for cell in cells:
        assert cell.data_type == "s"
        assert cell.value == "'" + INJECTED


def _pack_bytes(url: str, place: str) -> bytes:
    with read_engine(url).connect() as conn:
        return pack.build_pack(conn, place, None, generated_at=GENERATED)


def test_neutralise() -> None:
    assert pack.neutralise("=1+1") == "'=1+1"
    assert pack.neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert pack.neutralise("-2+3") == "'-2+3"
    assert pack.neutralise("East One") == "East One"
    assert pack.neutralise("bad\x07bell") == "badbell"  # illegal XML characters dropped


def test_no_patient_level_data(kat_packs: dict[str, Workbook]) -> None:
    patient_ids = {f"pat_{c}" for c in "abcdefghij"}
    for wb in kat_packs.values():
        for ws in wb.worksheets:
            values = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
            assert not values & patient_ids, ws.title


# --------------------------------------------------------------------------- command line
@pytest.fixture
def cli_env(kat_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    source = Path(kat_url.removeprefix("duckdb:///"))
    (data_dir / "bsol.duckdb").write_bytes(source.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BSOL_DATA_DIR"] = str(data_dir)
    yield env


def _flask(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    flask = Path(sys.executable).with_name("flask")
    return subprocess.run([str(flask), "--app", str(ROOT / "app"), "pack", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_pack(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "birmingham.xlsx"
    done = _flask(cli_env, "--place", "birmingham", "--period", "2024-25 Q1", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    wb = load_workbook(out)
    assert wb.sheetnames == SHEETS
    assert _table(wb, "tbl_scorecard")["Area"].iloc[0] == "Birmingham"
    bad = _flask(cli_env, "--place", "solihull", "--period", "2019-20", cwd=tmp_path)
    assert bad.returncode == 2 and "available" in bad.stderr
    default = _flask(cli_env, "--place", "solihull", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert (tmp_path / "bsol-outcomes-pack-solihull-2024-25-Q1.xlsx").exists()


# --------------------------------------------------------------------------- both engines
@pytest.mark.parametrize("backend", BACKENDS)
def test_build_pack_on_each_engine(backend: str, template_db: TemplateDb) -> None:
    url = template_db(backend, "kat-injected", _build_kat)
    with read_engine(url).connect() as conn:
        content = pack.build_pack(conn, "solihull", "2024-25 Q1")
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == SHEETS
    assert len(_table(wb, "tbl_scorecard")) == len(INDICATORS)


def test_locality_pack_is_for_that_locality(kat_url: str) -> None:
    """An LDP chair's pack (East): its cover names East, and its tables hold East, never another locality."""
    wb = _pack(kat_url, "east")
    cover = [str(c) for row in wb["Cover"].iter_rows(max_row=6, values_only=True) for c in row if c]
    assert cover[0].startswith("BSol outcomes pack: East locality") and "Areas covered: East" in cover
    table = _table(wb, "tbl_wp1")
    localities = set(table.loc[table["Area type"] == "Locality", "Area"])
    assert localities == {"East"}, localities
    assert not {"Solihull", "North", "West"} & set(table["Area"])


def test_scorecard_spc_icons_are_the_pages(demo_url: str, demo_packs: dict[str, Workbook]) -> None:
    """The pack's SPC variation and assurance are the app scorecard's, i.e. computed on the exact
    stored series (as the page's chart), not on the displayed (rounded, suppressed) figures."""
    from exports.pack.sheets import _ASSURANCE_TEXT, _VARIATION_TEXT
    from metrics.results import scorecard

    differs, levels = 0, []
    with read_engine(demo_url).connect() as conn:
        for place, wb in demo_packs.items():
            level, area = pack.get_scope(place).headline
            page = {r.indicator.id: r for r in scorecard(conn, level, area, "quarter")}
            card = _table(wb, "tbl_scorecard").set_index("Indicator id")
            for ind_id, r in card.iterrows():
                if r["Period"] != page[ind_id].period or r["SPC variation"] == "Not assessed":
                    continue
                assert r["SPC variation"] == _VARIATION_TEXT[page[ind_id].variation], (place, ind_id)
                if page[ind_id].assurance:
                    assert r["SPC assurance"] == _ASSURANCE_TEXT[page[ind_id].assurance], (place, ind_id)
                differs += 1
                levels.append(page[ind_id].comparison_level)
                if page[ind_id].comparator:  # the comparison says its level, as the page's badge
                    suffix = {0.998: " (99.8%)", 0.95: " (95% only)", None: ""}[page[ind_id].comparison_level]
                    assert r["Comparison"] == page[ind_id].comparison.capitalize() + suffix, (place, ind_id)
    assert differs > 20  # most indicators were compared
    assert 0.998 in levels and None in levels  # strict differences and similar ones both occur


def test_every_file_is_made_inert_before_it_is_written() -> None:
    """The last step of every workbook (exports.files.workbook_bytes) neutralises each text or
    formula cell wherever it was written, merged ranges and gaps included; numbers stay numbers."""
    from exports.files import workbook_bytes

    wb = Workbook()
    ws = wb.active
    ws["A1"] = "=HYPERLINK(\"http://x\",\"y\")"  # openpyxl stores this as a live formula
    ws["C5"] = "+cmd|' /C calc'!A0"
    ws["E9"] = " @SUM(1)"
    ws["B2"] = 42
    ws["D3"] = "-5.2%"  # a number written as text: left alone
    ws.merge_cells("F1:G2")
    ws["F1"] = "-1+2"
    back = load_workbook(io.BytesIO(workbook_bytes(wb))).active
    assert back["A1"].data_type == "s" and back["A1"].value == "'=HYPERLINK(\"http://x\",\"y\")"
    assert back["C5"].value == "'+cmd|' /C calc'!A0" and back["E9"].value == "' @SUM(1)"
    assert back["F1"].value == "'-1+2" and back["B2"].value == 42 and back["D3"].value == "-5.2%"
    assert not [c.coordinate for row in back.iter_rows() for c in row if c.data_type == "f"]
