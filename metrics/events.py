"""Dated events per area for trend charts and SPC rebases, derived from the loaded INT register.

Why: the SPC limits of the caseload measures must restart when INTs go live, and every trend chart
should show when they did; the dates must come from the loaded ``int_team`` register, so real data
brings real dates (the catalogue only declares which indicators rebase: ``rebase_at_go_live``).

Rule, for each area (BSol, place, locality, neighbourhood, practice), over the teams serving it
(teams of its neighbourhoods, plus locality-wide teams, i.e. with no neighbourhood, of its
localities):

* ``first_go_live``: the earliest go-live of those teams ("First INT live");
* ``rollout``: the earliest later go-live of a team that is not the first team of its own locality
  (the roll-out beyond the first team in each locality: "INT roll-out widens").

Both are SPC rebase points. Reference data only: no patient row is read.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Connection, delete, insert, inspect, select

from data_loaders.db import ensure_derived_table
from data_loaders.tables import EXTRACT_TABLES, chart_event

EVENT_COLUMNS = ["geography_level", "geography", "event_date", "kind", "label", "rebase"]
KIND_LABELS = {"first_go_live": "First INT live", "rollout": "INT roll-out widens"}


def _names(teams: pd.DataFrame) -> str:
    return ", ".join(sorted(teams["int_team_name"].astype(str)))


def _area_events(level: str, area: str, serving: pd.DataFrame, first_of_locality: pd.Series) -> list[dict]:
    """The (at most two) events of one area from the teams serving it."""
    if serving.empty:
        return []
    first_date = serving["go_live_date"].min()
    out = [{"geography_level": level, "geography": area, "event_date": first_date, "kind": "first_go_live",
            "label": f"{KIND_LABELS['first_go_live']} ({_names(serving[serving.go_live_date == first_date])})",
            "rebase": True}]
    later = serving[(serving["go_live_date"] > first_date)
                    & (serving["go_live_date"] > serving["locality"].map(first_of_locality))]
    if not later.empty:
        when = later["go_live_date"].min()
        out.append({"geography_level": level, "geography": area, "event_date": when, "kind": "rollout",
                    "label": f"{KIND_LABELS['rollout']} ({_names(later[later.go_live_date == when])})",
                    "rebase": True})
    return out


def derive_events(teams: pd.DataFrame, practices: pd.DataFrame) -> pd.DataFrame:
    """Events per area from int_team rows and the practice lookup (columns: EVENT_COLUMNS).

    ``teams``: int_team_code, int_team_name, locality, neighbourhood_code, go_live_date.
    ``practices``: practice_code, neighbourhood_code, neighbourhood_name, locality, place.
    """
    if teams.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    teams = teams.assign(go_live_date=pd.to_datetime(teams["go_live_date"]).dt.date)
    first_of_locality = teams.groupby("locality")["go_live_date"].min()
    wide = teams["neighbourhood_code"].isna() | (teams["neighbourhood_code"].astype(str).str.strip() == "")
    rows: list[dict] = _area_events("bsol", "BSol", teams, first_of_locality)
    for place, g in practices.groupby("place"):
        rows += _area_events("place", str(place), teams[teams.locality.isin(set(g["locality"]))], first_of_locality)
    for loc in sorted(set(practices["locality"])):
        rows += _area_events("locality", str(loc), teams[teams.locality == loc], first_of_locality)
    hoods = practices.drop_duplicates("neighbourhood_code")
    serving = {h.neighbourhood_code: teams[(teams.neighbourhood_code == h.neighbourhood_code)
                                           | (wide & (teams.locality == h.locality))]
               for h in hoods.itertuples()}
    for h in hoods.itertuples():
        rows += _area_events("neighbourhood", str(h.neighbourhood_name), serving[h.neighbourhood_code],
                             first_of_locality)
    for p in practices.itertuples():
        rows += _area_events("practice", str(p.practice_code), serving[p.neighbourhood_code], first_of_locality)
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def refresh_events(conn: Connection) -> int:
    """Replace chart_event from the loaded int_team and practice tables (at every refresh)."""
    ensure_derived_table(conn, chart_event)  # a database from before this table gains it here
    conn.execute(delete(chart_event))
    if not all(inspect(conn).has_table(t) for t in ("int_team", "practice")):
        return 0
    it, pr = EXTRACT_TABLES["int_team"], EXTRACT_TABLES["practice"]
    teams = pd.DataFrame(conn.execute(select(it.c.int_team_code, it.c.int_team_name, it.c.locality,
                                             it.c.neighbourhood_code, it.c.go_live_date)).mappings().all(),
                         columns=["int_team_code", "int_team_name", "locality", "neighbourhood_code", "go_live_date"])
    practices = pd.DataFrame(conn.execute(select(pr.c.practice_code, pr.c.neighbourhood_code, pr.c.neighbourhood_name,
                                                 pr.c.locality, pr.c.place)).mappings().all(),
                             columns=["practice_code", "neighbourhood_code", "neighbourhood_name", "locality", "place"])
    events = derive_events(teams, practices)
    if not events.empty:
        conn.execute(insert(chart_event), events.to_dict("records"))
    return len(events)


def read_events(conn: Connection, level: str | None = None, geography: str | None = None) -> pd.DataFrame:
    """Stored events (all, or one area's), oldest first."""
    if not inspect(conn).has_table("chart_event"):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    t = chart_event
    stmt = select(*(t.c[c] for c in EVENT_COLUMNS))
    if level:
        stmt = stmt.where(t.c.geography_level == level)
    if geography:
        stmt = stmt.where(t.c.geography == geography)
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=EVENT_COLUMNS)
    return frame.sort_values(["geography_level", "geography", "event_date"], ignore_index=True)


def in_periods(events: pd.DataFrame, series: pd.DataFrame) -> pd.Series:
    """Each series row's events as one label ("; "-joined), None where none falls in its period.

    An event belongs to the period whose [period_start, period_end] contains its date.
    """
    starts = pd.to_datetime(series["period_start"]).dt.date.to_numpy()
    ends = pd.to_datetime(series["period_end"]).dt.date.to_numpy()
    labels: list[str | None] = []
    for s, e in zip(starts, ends, strict=True):
        hit = [str(r.label) for r in events.itertuples() if s <= _as_date(r.event_date) <= e]
        labels.append("; ".join(hit) if hit else None)
    return pd.Series(labels, index=series.index, dtype=object)


def rebase_points(events: pd.DataFrame, series: pd.DataFrame) -> list[date]:
    """Period starts at which SPC limits restart: the period containing each rebase event."""
    rebases = events[events["rebase"].astype(bool)] if not events.empty else events
    starts = pd.to_datetime(series["period_start"]).dt.date.to_numpy()
    ends = pd.to_datetime(series["period_end"]).dt.date.to_numpy()
    points = {s for r in rebases.itertuples() for s, e in zip(starts, ends, strict=True)
              if s <= _as_date(r.event_date) <= e}
    return sorted(points)


def _as_date(x: object) -> date:
    return pd.Timestamp(x).date()


__all__ = ["derive_events", "refresh_events", "read_events", "in_periods", "rebase_points", "KIND_LABELS"]
