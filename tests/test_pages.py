"""Page callbacks called directly (no browser) on the known-answer database.

Checks every page renders for every locality, bad input gives a message (never a traceback),
filters round-trip through the URL, and no output or download carries patient identifiers or
unsuppressed small counts below BSol level.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder

from layouts import filters as flt
from metrics.catalogue import INDICATORS
from tests.kat_data import frames as kat_frames


@pytest.fixture(scope="module")
def kat_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("pages-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSOL_DATA_DIR", str(data_dir))
        mp.delenv("DATABASE_URL", raising=False)
        mp.setenv("BSOL_DEFAULT_ROLE", "analyst")
        from tests.kat_db import build_kat_db

        build_kat_db(f"duckdb:///{data_dir / 'bsol.duckdb'}")
        import app as app_module
        from callbacks.data import cache

        with app_module.server.test_request_context("/"):
            cache.clear()
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
        options, value = measure.update_periods(ind.frequency[0], ind.id, None)
        assert value == "latest" and options
        for geography in ("BSol", "East"):
            out = _text(measure.update_measure(geography, ind.frequency[0], value, "sex", ind.id))
            _assert_no_patient_data(out)


def test_bad_input_gives_messages(kat_app: Any) -> None:
    from callbacks import home, measure
    from layouts import measure as measure_layout

    assert "There is no indicator" in _text(measure_layout.layout("nope"))
    assert "Unknown locality" in _text(home.update_scorecard("Narnia", None))
    out = _text(measure.update_measure("BSol", "month", "1999-01", "sex", "m05_ucr_2h"))
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

    assert "Choose your locality" in _text(pages.update_locality("BSol", None))
    for geography in flt.GEOGRAPHIES[1:]:
        _assert_no_patient_data(_text(pages.update_locality(geography, "quarter")))
        _assert_no_patient_data(_text(pages.update_inequalities(geography, None)))
    data_page = _text(pages.update_data_page("/data"))
    _assert_no_patient_data(data_page)
    assert "What each source covers" in data_page and "Completeness" in data_page
    _assert_no_patient_data(_text(pages.update_prepost("pilot", 6)))


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


def test_downloads_need_the_analyst_role(kat_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = kat_app.server.test_client()
    monkeypatch.setenv("BSOL_DEFAULT_ROLE", "viewer")
    assert client.get("/download/measure/m05_ucr_2h.csv").status_code == 403
    monkeypatch.setenv("BSOL_DEFAULT_ROLE", "analyst")
    ok = client.get("/download/measure/m05_ucr_2h.xlsx")
    assert ok.status_code == 200 and ok.data[:2] == b"PK"
    assert client.get("/download/measure/nope.csv").status_code == 404
    assert client.get("/download/measure/m05_ucr_2h.csv?locality=Narnia").status_code == 400
