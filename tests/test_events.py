"""Chart events from the loaded INT register (metrics/events.py): go-lives per area, SPC rebases
that move when the register's go_live_date changes, and their annotations on the trend chart.

Known answers are worked by hand from the rule in metrics/events.py's docstring.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from data_loaders.db import read_engine
from layouts.figures import spc_figure
from metrics import events
from metrics.catalogue import INDICATORS_BY_ID
from metrics.results import read_results, spc_frame
from tests.conftest import TemplateDb
from tests.kat_db import build_kat_db

TEAMS = pd.DataFrame([
    ("INTA", "A INT", "East", "N01", date(2023, 10, 1)),
    ("INTB", "B INT", "West", "N05", date(2023, 10, 1)),
    ("INTC", "C INT", "North", None, date(2024, 1, 8)),  # locality-wide: serves every North neighbourhood
    ("INTD", "D INT", "East", "N02", date(2025, 1, 6)),
    ("INTE", "E INT", "North", "N07", date(2025, 2, 3)),
], columns=["int_team_code", "int_team_name", "locality", "neighbourhood_code", "go_live_date"])
PRACTICES = pd.DataFrame([
    ("P1", "N01", "East One", "East", "Birmingham"), ("P2", "N02", "East Two", "East", "Birmingham"),
    ("P3", "N07", "North Seven", "North", "Birmingham"), ("P4", "N05", "West Five", "West", "Birmingham"),
    ("P5", "N09", "Solihull Nine", "Solihull", "Solihull"),
], columns=["practice_code", "neighbourhood_code", "neighbourhood_name", "locality", "place"])


def _dates(ev: pd.DataFrame, level: str, area: str) -> list[tuple[str, date]]:
    sub = ev[(ev.geography_level == level) & (ev.geography == area)]
    return [(r.kind, r.event_date) for r in sub.itertuples()]


def test_events_by_hand() -> None:
    ev = events.derive_events(TEAMS, PRACTICES)
    # BSol: A and B first (1 Oct 2023); C is North's first team, so the roll-out widens with D (6 Jan 2025)
    assert _dates(ev, "bsol", "BSol") == [("first_go_live", date(2023, 10, 1)), ("rollout", date(2025, 1, 6))]
    assert ev.loc[(ev.geography == "BSol") & (ev.kind == "first_go_live"), "label"].item() == "First INT live (A INT, B INT)"
    assert _dates(ev, "place", "Birmingham") == _dates(ev, "bsol", "BSol")
    assert _dates(ev, "locality", "North") == [("first_go_live", date(2024, 1, 8)), ("rollout", date(2025, 2, 3))]
    # North Seven is served by its own team E and the locality-wide C
    assert _dates(ev, "neighbourhood", "North Seven") == _dates(ev, "locality", "North")
    assert _dates(ev, "practice", "P3") == _dates(ev, "locality", "North")
    assert _dates(ev, "neighbourhood", "East Two") == [("first_go_live", date(2025, 1, 6))]  # D alone
    assert _dates(ev, "locality", "Solihull") == [] and _dates(ev, "place", "Solihull") == []
    assert ev["rebase"].all()


def _later_frailty(frames: dict[str, pd.DataFrame]) -> None:
    teams = frames["int_team"]
    teams.loc[teams.int_team_code == "INT02", "go_live_date"] = date(2024, 5, 15)


def test_changed_go_live_moves_the_rebase(kat_db, template_db: TemplateDb) -> None:
    """The kat register: East INT live 1 Oct 2023, East Frailty INT 1 Apr 2024. Moving the second
    to 15 May 2024 moves East's stored roll-out event and restarts m02's limits in May, not April."""
    ind = INDICATORS_BY_ID["m02_caseload_emergency_admissions"]
    moved = template_db("duckdb", "kat-frailty-may", lambda url: build_kat_db(url, _later_frailty))
    segments = {}
    for url, when in ((f"duckdb:///{kat_db}", date(2024, 4, 1)), (moved, date(2024, 5, 15))):
        with read_engine(url).connect() as conn:
            ev = events.read_events(conn, "locality", "East")
            series = read_results(conn, [ind.id], "month", "locality", ["East"], "none")
        assert _dates(ev, "locality", "East") == [("first_go_live", date(2023, 10, 1)), ("rollout", when)]
        frame = spc_frame(series.sort_values("period_start", ignore_index=True), ind, area_events=ev)
        segments[when] = dict(zip(frame["period"], frame["segment"], strict=True))
    assert list(segments[date(2024, 4, 1)].values()) == [0, 0, 0]  # April is the series' first month
    assert segments[date(2024, 5, 15)] == {"2024-04": 0, "2024-05": 1, "2024-06": 1}


def test_trend_chart_draws_the_go_live() -> None:
    """Figure JSON: a labelled vertical line in the period containing the go-live, rebased there."""
    ind = INDICATORS_BY_ID["m02_caseload_emergency_admissions"]
    months = pd.period_range("2024-07", periods=12, freq="M")
    values = [1.0 + (i % 4) / 10 for i in range(12)]
    series = pd.DataFrame({
        "indicator_id": ind.id, "measure": 2, "period_type": "month", "period": months.astype(str),
        "period_start": months.start_time.date, "period_end": months.end_time.date,
        "geography_level": "bsol", "geography": "BSol", "breakdown": "none", "group": "All",
        "numerator": 50.0, "denominator": 40.0, "value": values, "lower_ci": 0.5, "upper_ci": 2.0,
        "suppressed": False})
    ev = events.derive_events(TEAMS, PRACTICES)
    frame = spc_frame(series, ind, area_events=ev[ev.geography_level == "bsol"])
    fig = spc_figure(frame, list(frame["period"]), ind, "t").to_plotly_json()
    lines = [s for s in fig["layout"]["shapes"] if str(s.get("name", "")).startswith("event")]
    assert [(s["x0"], s["name"]) for s in lines] == [
        ("2025-01", "event: INT roll-out widens (D INT) (limits rebased)")]
    texts = [a["text"] for a in fig["layout"]["annotations"] if a.get("x") == "2025-01"]
    assert texts == ["INT roll-out widens"]  # the event's label replaces the plain "Rebased"
    assert frame["segment"].tolist() == [0] * 6 + [1] * 6


def test_measure_page_draws_and_lists_the_go_live(kat_db) -> None:
    """The measure page's trend chart (kat, m02 by month at BSol, April-June 2024): East Frailty INT
    went live on 1 April 2024, so April carries the line and the caption says so in words."""
    from layouts import filters as flt
    from layouts import measure
    from metrics.disclosure import DEFAULT_RULE
    from metrics.results import for_display, spc_summary

    ind = INDICATORS_BY_ID["m02_caseload_emergency_admissions"]
    with read_engine(f"duckdb:///{kat_db}").connect() as conn:
        exact = read_results(conn, [ind.id], "month")
        ev = events.read_events(conn, "bsol", "BSol")
    series = exact[(exact.geography_level == "bsol") & (exact.breakdown == "none")].sort_values(
        "period_start", ignore_index=True)
    chart = (spc_frame(series, ind, area_events=ev), spc_summary(series, ind, ev))
    children, _ = measure.content(ind, for_display(exact), flt.parse({"period_type": "month"}), None, None, None,
                                  "30 June 2024", chart, policy=DEFAULT_RULE)
    text = str(children)
    assert "Marked on the chart: INT roll-out widens (East Frailty INT) in " in text
    figs = [c for c in _walk(children) if type(c).__name__ == "Graph"]
    shapes = [s for f in figs for s in (f.figure.to_plotly_json() if hasattr(f.figure, "to_plotly_json")
                                        else f.figure)["layout"].get("shapes", [])
              if str(s.get("name", "")).startswith("event")]
    assert [s["name"] for s in shapes] == ["event: INT roll-out widens (East Frailty INT)"]
    assert shapes[0]["x0"] == "2024-04"  # the first month of the series, where the team went live


def _walk(node):
    """Every Dash component under node (children lists and single children)."""
    if isinstance(node, list | tuple):
        for n in node:
            yield from _walk(n)
        return
    if node is None or isinstance(node, str | int | float):
        return
    yield node
    yield from _walk(getattr(node, "children", None))
