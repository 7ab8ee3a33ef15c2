"""Page callbacks called directly (no browser) on the known-answer database.

Checks every page renders for every locality, bad input gives a message (never a traceback),
filters round-trip through the URL, and no output or download carries patient identifiers or
unsuppressed small counts below BSol level.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder

from layouts import filters as flt
from metrics.catalogue import INDICATORS
from tests.conftest import app_on
from tests.dash_json import components
from tests.dash_json import text as cell_text
from tests.kat_data import frames as kat_frames


@pytest.fixture(scope="module")
def kat_app(tmp_path_factory: pytest.TempPathFactory, kat_db: Path) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("pages-data")
    shutil.copyfile(kat_db, data_dir / "bsol.duckdb")
    with app_on(data_dir) as app_module:
        yield app_module


def _text(component: Any) -> str:
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False) if component is not None else ""


PATIENT_IDS = set(kat_frames()["patient"]["patient_id"].astype(str))


def _assert_no_patient_data(text: str) -> None:
    assert "patient_id" not in text and "pat_" not in text
    leaked = [p for p in PATIENT_IDS if re.search(rf"\b{re.escape(p)}\b", text)]
    assert not leaked, f"patient identifiers in output: {leaked[:5]}"
    assert "Traceback" not in text


def test_scorecard_every_locality(kat_app: Any) -> None:
    from callbacks import home

    for geography in flt.GEOGRAPHIES:
        out = _text(home.update_scorecard(geography, None))
        _assert_no_patient_data(out)
        for ind in INDICATORS:
            assert f"/measure/{ind.id}" in out
    assert "proposed — not agreed" in out


def test_measure_page_every_indicator(kat_app: Any) -> None:
    from callbacks import measure

    for ind in INDICATORS:
        options, value = measure.period_choices(ind.frequency[0], ind.id, None)
        assert value == "latest" and options
        assert measure.update_periods(ind.frequency[0], ind.id, "1999-01") == "latest"  # not a period of this type
        for geography in ("BSol", "East"):
            content, view, period_options = measure.update_measure(geography, ind.frequency[0], value, "sex", ind.id)
            assert period_options == options  # one round trip: the content and its period choices
            out = _text(content)
            _assert_no_patient_data(out)
            assert view and view["period"], f"{ind.id} {geography}: no period shown"
            below = _text(measure.update_below(1, view, ind.id))  # the section below the fold
            _assert_no_patient_data(below)
            assert "Definition" in below and "table-open" in below
            assert measure.update_below(0, view, ind.id) is None  # not rendered until scrolled to
            table, no_prev, no_next, page = measure.update_table(
                1, 0, 0, None, view, ind.id, trigger={"type": "table-open", "section": "all", "period": view["period"]})
            _assert_no_patient_data(_text(table))
            assert "figures-table" in _text(table) and no_prev and page == 0
            if not no_next:  # a long table: the next page starts where the first ended
                table2, prev2, _, page2 = measure.update_table(
                    1, 0, 1, 0, view, ind.id, trigger={"type": "table-next", "section": "all",
                                                       "period": view["period"]})
                assert page2 == 1 and not prev2 and "Showing rows 26-" in _text(table2)


def test_charts_draw_the_comparisons_the_callbacks_worked_out(kat_app: Any) -> None:
    """The localities chart colours each bar with the comparison metrics.results.with_comparisons
    gave its displayed row (the layout draws it, never computes it): hand-checkable on the page."""
    from callbacks import data, measure
    from layouts.figures import COMPARISON_STYLE
    from tests.dash_json import figures

    names = {kind: style[0].format(b="BSol") for kind, style in COMPARISON_STYLE.items()}
    checked, kinds = 0, set()
    for ind in (i for i in INDICATORS if i.unit != "count"):
        pt = ind.frequency[0]
        content, view, _options = measure.update_measure("BSol", pt, "latest", "sex", ind.id)
        frame = data.compared_results([ind.id], period_type=pt)
        rows = frame[(frame.geography_level == "locality") & (frame.breakdown == "none")
                     & (frame.period == (view or {}).get("period")) & ~frame.suppressed.astype(bool)]
        expected = {flt.GEOGRAPHY_LABELS[g]: c for g, c in zip(rows.geography, rows.comparison, strict=True)}
        if not expected:
            continue
        chart = next(f for f in figures(json.loads(_text(content))) if str(f["layout"].get("title", {}).get(
            "text", "")).startswith("Localities"))
        drawn = {label: kind for trace in chart["data"] for kind, name in names.items()
                 if trace.get("name") == name for label in trace["y"]}
        assert {k: v for k, v in drawn.items() if k in expected} == expected, ind.id
        assert {v for k, v in drawn.items() if k not in expected} <= {"not compared"}  # e.g. the BSol bar
        checked, kinds = checked + 1, kinds | set(expected.values())
    assert checked >= 3 and kinds & {"better", "similar", "worse"}, (checked, kinds)


def test_bad_input_gives_messages(kat_app: Any) -> None:
    from callbacks import home, measure
    from layouts import measure as measure_layout

    assert "There is no indicator" in _text(measure_layout.layout("nope"))
    assert "Unknown locality" in _text(home.update_scorecard("Narnia", None))
    out = _text(measure.update_measure("BSol", "month", "1999-01", "sex", "m05_ucr_2h")[0])
    assert "No data for this selection" in out
    parsed = flt.parse({"locality": "atlantis", "period_type": "decade", "breakdown": "star sign"})
    assert len(parsed.errors) == 3 and parsed.locality == "BSol"


def test_filters_round_trip_through_query_string() -> None:
    f = flt.parse({"locality": "east", "period_type": "quarter", "breakdown": "age_band"})
    assert (f.locality, f.period_type, f.breakdown, f.errors) == ("East", "quarter", "age_band", ())
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type, "breakdown": f.breakdown,
                            "period": "latest"})
    assert search == "?locality=East&period_type=quarter&breakdown=age_band"
    assert flt.parse(flt.parse_search(search)) == f
    assert flt.to_search({"locality": "BSol", "breakdown": "sex"}) == ""  # defaults left out


def test_url_sync_and_nav_links(kat_app: Any) -> None:
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from callbacks import shell

    hrefs, classes = shell.nav_links("?locality=East&period=2024-05", "/measure/m05_ucr_2h")
    assert all(h.endswith("?locality=East") for h in hrefs)  # period is page-specific, not carried
    assert classes[0] == "nav-link active"
    ctx = AttributeDict(inputs_list=[[{"id": {"type": "filter", "name": "locality"}, "property": "value"},
                                      {"id": {"type": "filter", "name": "period_type"}, "property": "value"}]])
    token = context_value.set(ctx)
    try:
        assert shell.filters_to_url(["Solihull", "quarter"], "?breakdown=age_band") == \
            "?locality=Solihull&period_type=quarter&breakdown=age_band"
    finally:
        context_value.reset(token)


def test_other_pages(kat_app: Any) -> None:
    from callbacks import pages

    overview = _text(pages.update_locality("BSol", None))  # the tartan rug: every locality by every indicator
    _assert_no_patient_data(overview)
    assert "tartan-rug" in overview and all(f"/measure/{ind.id}" in overview for ind in INDICATORS)
    assert all(f"locality={g}" in overview for g in flt.GEOGRAPHIES[1:])
    for geography in flt.GEOGRAPHIES[1:]:
        _assert_no_patient_data(_text(pages.update_locality(geography, "quarter")))
        _assert_no_patient_data(_text(pages.update_inequalities(geography, None)))
    data_page = _text(pages.update_data_page("/data"))
    _assert_no_patient_data(data_page)
    assert "What each source covers" in data_page and "Completeness" in data_page
    # both read from the tables the full refresh stored (metrics.quality.refresh_quality), never live
    assert "Sex unknown" in data_page and "inpatient_spell" in data_page
    for out in pages.update_prepost("BSol", "all", "pilot", 6):
        _assert_no_patient_data(_text(out))


def test_downloads_have_no_small_counts(kat_app: Any) -> None:
    client = kat_app.server.test_client()
    for ind in INDICATORS:
        for geography in ("BSol", "East", "Solihull"):
            response = client.get(f"/download/measure/{ind.id}.csv?locality={geography}")
            if response.status_code == 404:  # no data for this selection
                continue
            assert response.status_code == 200, response.data[:200]
            text = response.data.decode("utf-8-sig")
            _assert_no_patient_data(text)
            table = pd.read_csv(io.StringIO(text), dtype=str)
            below = table[table["Level"] != "BSol"]
            # Sums of a measured quantity (e.g. staff FTE) are not counts of people or events.
            counted = tuple(col for col, src in (("Numerator", ind.numerator), ("Denominator", ind.denominator))
                            if getattr(src, "count", "") != "sum")
            for col in counted:
                values = pd.to_numeric(below[col], errors="coerce")
                assert not values.between(1, 7).any(), (ind.id, geography, col)
            if ind.unit == "count":
                assert not pd.to_numeric(below["Value"], errors="coerce").between(1, 7).any()


def test_practice_names_beside_codes_in_downloads_and_tables(kat_app: Any) -> None:
    """kat_data: Y90001 is "Practice One" (East). The download names it beside its code, and the
    practices table behind the measure page does too; other areas have no practice name."""
    from callbacks import measure as measure_cb

    client = kat_app.server.test_client()
    response = client.get("/download/measure/m19_gp_same_day.csv?locality=East&period_type=month&period=2024-04")
    assert response.status_code == 200, response.data[:200]
    table = pd.read_csv(io.StringIO(response.data.decode("utf-8-sig")), dtype=str, keep_default_na=False)
    practices = table[table["Level"] == "Practice"]
    assert set(zip(practices["Area"], practices["Practice name"], strict=True)) == {("Y90001", "Practice One")}
    assert set(table.loc[table["Level"] != "Practice", "Practice name"]) == {""}
    view = {"locality": "East", "period_type": "month", "period": "2024-04", "breakdown": "sex"}
    trigger = {"type": "table-open", "section": "practices", "period": "2024-04"}
    body, *_ = measure_cb.update_table(1, 0, 0, None, view, "m19_gp_same_day", trigger)
    text = _text(body)
    assert "Practice One" in text and "Y90001" in text


def test_every_neighbourhood_rug_on_demand(kat_app: Any) -> None:
    """kat_data has two neighbourhoods, East One (East) and Solihull One: both are columns, East first."""
    from callbacks import pages

    assert pages.show_all_neighbourhoods(0, None) is None  # nothing until asked for
    rug = _text(pages.show_all_neighbourhoods(1, "financial_year"))
    assert "Every neighbourhood (2)" in rug and rug.index("East One") < rug.index("Solihull One")
    _assert_no_patient_data(rug)


def _as_role(kat_app: Any, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    """Everyone has `role` (AUTH_MODE=none with BSOL_DEFAULT_ROLE=role; access.py reads it per request)."""
    from dataclasses import replace

    config = kat_app.server.config
    monkeypatch.setitem(config, "BSOL_AUTH", replace(config["BSOL_AUTH"], default_role=role))


def test_downloads_need_the_analyst_role(kat_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = kat_app.server.test_client()
    _as_role(kat_app, monkeypatch, "viewer")
    assert client.get("/download/measure/m05_ucr_2h.csv").status_code == 403
    _as_role(kat_app, monkeypatch, "analyst")
    ok = client.get("/download/measure/m05_ucr_2h.xlsx")
    assert ok.status_code == 200 and ok.data[:2] == b"PK"
    assert client.get("/download/measure/nope.csv").status_code == 404
    assert client.get("/download/measure/m05_ucr_2h.csv?locality=Narnia").status_code == 400


# --------------------------------------------------------------------------- pre/post page
PREPOST_COUNT_COLUMNS = {"People", "Pre", "Post", "Matched people", "Unmatched people", "Caseload", "Population"}


def _table_cells(output: Any) -> Iterator[tuple[str, str, dict[str, str], str]]:
    """(table id, column, the row's cells by column, text) for every body cell of every HTML table."""
    tree = json.loads(_text(output)) if output is not None else None
    for table in (c for c in components(tree) if c["type"] == "Table"):
        parts = list(components(table["props"].get("children")))
        heads = [cell_text(th) for th in parts if th["type"] == "Th" and th["props"].get("scope") == "col"]
        for tr in (c for c in parts if c["type"] == "Tr"):
            tds = [c for c in components(tr["props"].get("children")) if c["type"] == "Td"]
            if not tds:
                continue
            cols = heads[len(heads) - len(tds):]
            row = {col: cell_text(td) for col, td in zip(cols, tds, strict=True)}
            row["_int"] = tr["props"].get("data-int", row.get("INT", ""))
            row["_measure"] = tr["props"].get("data-measure", "")
            for col in cols:
                yield table["props"].get("id", ""), col, row, row[col]


def _small(text: str) -> bool:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return False
    return 1 <= value <= 7


def _assert_no_small_prepost_counts(output: Any, bsol_profile: bool) -> int:
    checked = 0
    for table_id, col, row, text in _table_cells(output):
        if row["_int"] in ("TOTAL", "Total (BSol)"):  # the Total row is BSol level
            continue
        if table_id == "prepost-plan-table":
            counted = row["_measure"] != "VARIANCE"  # a difference of rounded counts, not a count
        elif table_id == "prepost-profile-table":
            counted = col in PREPOST_COUNT_COLUMNS and not bsol_profile
        else:
            counted = col in PREPOST_COUNT_COLUMNS
        if counted:
            checked += 1
            assert not _small(text), f"small count {text!r} in {table_id} {col} ({row})"
    return checked


def test_prepost_page_every_selection_has_no_small_counts(kat_app: Any) -> None:
    from callbacks import data, pages
    from layouts import prepost

    teams = data.int_teams()
    checked = 0
    for geography in flt.GEOGRAPHIES:
        options, value = pages.update_prepost_teams(geography, None)
        assert value == prepost.ALL_TEAMS and options[0]["value"] == prepost.ALL_TEAMS
        for team in [o["value"] for o in options]:
            for cohort in ("pilot", "all"):
                for window in prepost.windows():
                    content, did = pages.update_prepost(geography, team, cohort, window)
                    profile = pages.update_prepost_profile(geography, team, cohort, window)
                    for out in (content, did, profile):
                        text = _text(out)
                        _assert_no_patient_data(text)
                        assert "This link has a problem" not in text
                    checked += _assert_no_small_prepost_counts(content, False)
                    checked += _assert_no_small_prepost_counts(did, False)
                    checked += _assert_no_small_prepost_counts(
                        profile, geography == flt.BSOL and team == prepost.ALL_TEAMS)
    assert checked > 0
    # The known-answer caseload is 3 people on East INT: its rows are hidden, the BSol Total is shown.
    content, _did = pages.update_prepost("East", "INT01", "all", 3)
    text = _text(content)
    assert "EAST INT" in text and "TOTAL" in text and "[c]" in text
    assert "regression to the mean" in text.lower()
    profile = _text(pages.update_prepost_profile("East", "INT01", "all", 3))
    assert "[c] suppressed" in profile and "Under-represented" in profile
    assert len(teams) == 2   # INT01 and INT02 (pat_a is on both in May 2024)


def test_prepost_downloads_have_no_small_counts(kat_app: Any) -> None:
    client = kat_app.server.test_client()
    response = client.get("/download/prepost.csv?cohort=all&window=3&locality=East")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    _assert_no_patient_data(text)
    plan = pd.read_csv(io.StringIO(text), dtype=str)
    assert list(plan.columns[:2]) == ["INT", "MEASURE"]
    assert set(plan["INT"]) == {"EAST INT", "TOTAL"}
    teams = plan[(plan["INT"] != "TOTAL") & (plan["MEASURE"] != "VARIANCE")]
    assert not teams.iloc[:, 2:].map(_small).any().any()
    xlsx = client.get("/download/prepost.xlsx?cohort=all&window=3&team=INT01")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    sheets = pd.read_excel(io.BytesIO(xlsx.data), sheet_name=None, dtype=str)
    assert list(sheets) == ["Plan table", "Rates and ratios", "Comparison cohort", "Notes"]
    rates = sheets["Rates and ratios"]
    below = rates[rates["INT"] != "Total (BSol)"]
    for col in ("People", "Pre", "Post"):
        assert not below[col].fillna("").map(_small).any(), col
    for sheet in sheets.values():
        _assert_no_patient_data(sheet.to_csv(index=False))
    # the pilot has no complete windows in the known-answer data: nothing to download
    assert client.get("/download/prepost.csv").status_code == 404


def test_prepost_bad_url_gives_in_page_message(kat_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from callbacks import pages
    from layouts import prepost

    content, did = pages.update_prepost("BSol", "INT99", "pilot", 6)
    assert "This link has a problem" in _text(content) and "Unknown INT team “INT99”" in _text(content)
    assert did is None and pages.update_prepost_profile("BSol", "INT99", "pilot", 6) is None
    content, _ = pages.update_prepost("BSol", "all", "pilot", "7")
    assert "Unknown window “7”" in _text(content) and "3, 6, 12 months" in _text(content)
    content, _ = pages.update_prepost("BSol", "all", "everyone", 6)
    assert "Unknown cohort “everyone”" in _text(content)
    content, _ = pages.update_prepost("Solihull", "INT01", "pilot", 6)
    assert "East INT serves East, not Solihull" in _text(content)
    # the layout (URL -> page) shows the same message and falls back to the defaults in the filters
    import dash

    page = _text(dash.page_registry["prepost"]["layout"](team="nope", window="five"))
    assert "This link has a problem" in page and "Unknown INT team “nope”" in page and "Unknown window “five”" in page
    assert "Traceback" not in page
    # team names and codes are accepted case-insensitively; a team outside the locality falls back to all
    assert prepost.parse({"team": "east int", "window": "3"}, pd.DataFrame(
        {"int_team_code": ["INT01"], "int_team": ["East INT"], "locality": ["East"]})).team == "INT01"
    assert pages.update_prepost_teams("Solihull", "INT01")[1] == prepost.ALL_TEAMS
    client = kat_app.server.test_client()
    assert client.get("/download/prepost.csv?window=7").status_code == 400
    assert client.get("/download/prepost.csv?team=INT99").status_code == 400
    assert client.get("/download/prepost.pdf?cohort=all&window=3").status_code == 404
    _as_role(kat_app, monkeypatch, "viewer")
    assert client.get("/download/prepost.csv?cohort=all&window=3").status_code == 403



def test_each_app_serves_its_own_settings(kat_app: Any) -> None:
    """Settings are resolved once per app and passed down: a second app built in the same process
    with BSOL_PREPOST_MONTHS=9 and a stricter suppression rule offers the 9-month window and states
    its own rule, while the first app keeps 3, 6 and 12 months and the standard rule."""
    from dataclasses import replace

    import dash

    from app import create_app
    from callbacks import data
    from layouts.components import suppression_legend

    other = create_app(replace(data.settings(), prepost_window_months=9, suppress_max=10))
    layout = dash.page_registry["prepost"]["layout"]
    with other.server.test_request_context("/"):
        page = _text(layout(window="9"))
        assert "Unknown window" not in page and '"9 months"' in page
        assert "fewer than 11 people" in _text(suppression_legend(data.policy()))
    page = _text(layout(window="9"))  # kat_app's request context: the environment's settings
    assert "Unknown window “9”" in page and "3, 6, 12 months" in page
    assert "fewer than 8 people" in _text(suppression_legend(data.policy()))


def test_warm_up_renders_the_first_pages_once_and_never_fails(kat_app: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """app.warm_up (python app.py, each gunicorn worker) leaves the landing scorecard and the first
    measure page's data in this process's cache; on a server with no data it does nothing, quietly."""
    import app as app_module
    from caching import clear_caches
    from callbacks import data
    from metrics import results

    first = INDICATORS[0]
    clear_caches()  # earlier tests in this module opened every page
    app_module.warm_up(kat_app.app)
    monkeypatch.setattr(results, "read_results", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    warmed = data.compared_results([first.id], period_type=first.frequency[0])  # a cache hit: nothing read
    assert not warmed.empty and "comparison" in warmed
    monkeypatch.undo()
    with app_on(tmp_path) as empty:  # no database yet
        app_module.warm_up(empty.app)
