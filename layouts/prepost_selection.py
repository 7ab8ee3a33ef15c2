"""The pre/post page's selection: locality, INT team, cohort preset and window, from the URL query
(or the filter values), validated, and the team scope it implies.

Why this module exists: the page, its callbacks and its downloads must read one selection the same
way (a download never shows more than the page), so the parsing and scoping live once here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from layouts import filters as flt
from metrics import prepost as pp

PATH = "/pre-post"
ALL_TEAMS = "all"


@dataclass(frozen=True)
class Selection:
    """The page's filters, validated: locality (BSol or one), team code or "all", cohort, window."""

    locality: str = flt.BSOL
    team: str = ALL_TEAMS
    cohort: str = "pilot"
    window: int = pp.DEFAULT_WINDOW
    errors: tuple[str, ...] = field(default=())

    def query(self) -> dict[str, object]:
        return {"locality": self.locality, "team": self.team, "cohort": self.cohort, "window": self.window}

    def search(self) -> str:
        return flt.to_search(self.query(), ("locality", "team", "cohort", "window"))


def windows(configured: int = pp.DEFAULT_WINDOW) -> tuple[int, ...]:
    """Windows with stored results: 3, 6, 12 and the configured one (BSOL_PREPOST_MONTHS: the app
    passes settings.prepost_window_months)."""
    return pp.stored_windows(configured)


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()[:64]


def parse(query: Mapping[str, object], teams: pd.DataFrame, configured_window: int = pp.DEFAULT_WINDOW) -> Selection:
    """Selection from the URL query (or the filter values); unknown values become errors."""
    f = flt.parse(dict(query))
    errors = list(f.errors)
    team = ALL_TEAMS
    raw = _text(query.get("team"))
    if raw and raw.lower() != ALL_TEAMS:
        hit = teams[(teams["int_team_code"].str.lower() == raw.lower()) | (teams["int_team"].str.lower() == raw.lower())]
        if hit.empty:
            errors.append(f"Unknown INT team “{raw}”. Choose a team from the list.")
        elif f.locality != flt.BSOL and hit.iloc[0]["locality"] != f.locality:
            errors.append(f"{hit.iloc[0]['int_team']} serves {hit.iloc[0]['locality']}, not {f.locality}. "
                          "Choose a team in this locality, or “All INTs”.")
        else:
            team = str(hit.iloc[0]["int_team_code"])
    cohort = _text(query.get("cohort")).lower() or "pilot"
    if cohort not in pp.COHORT_PRESETS:
        errors.append(f"Unknown cohort “{cohort}”. Choose one of: {', '.join(pp.COHORT_PRESETS)}.")
        cohort = "pilot"
    window = pp.DEFAULT_WINDOW
    raw = _text(query.get("window"))
    if raw:
        try:
            window = int(float(raw))
            if float(raw) != window or window not in windows(configured_window):
                raise ValueError
        except ValueError:
            errors.append(f"Unknown window “{raw}”. Choose one of: "
                          f"{', '.join(str(w) for w in windows(configured_window))} months.")
            window = pp.DEFAULT_WINDOW
    return Selection(f.locality, team, cohort, window, tuple(errors))


def team_options(teams: pd.DataFrame, locality: str) -> list[dict[str, str]]:
    here = teams if locality == flt.BSOL else teams[teams["locality"] == locality]
    first = "All INTs" if locality == flt.BSOL else f"All INTs in {flt.GEOGRAPHY_LABELS[locality]}"
    return [{"label": first, "value": ALL_TEAMS},
            *({"label": str(r.int_team), "value": str(r.int_team_code)} for r in here.itertuples())]


def scope_codes(sel: Selection, teams: pd.DataFrame) -> list[str]:
    """INT codes in scope: the chosen team, else the locality's teams, else every team."""
    if sel.team != ALL_TEAMS:
        return [sel.team]
    here = teams if sel.locality == flt.BSOL else teams[teams["locality"] == sel.locality]
    return here["int_team_code"].astype(str).tolist()


def profile_scope(sel: Selection) -> str:
    """What the caseload profile describes: the team (vs its locality), a locality, or BSol."""
    return sel.team if sel.team != ALL_TEAMS else sel.locality


def scope_label(sel: Selection, teams: pd.DataFrame) -> str:
    if sel.team != ALL_TEAMS:
        hit = teams[teams["int_team_code"] == sel.team]
        return str(hit.iloc[0]["int_team"]) if not hit.empty else sel.team
    return "all INTs" if sel.locality == flt.BSOL else f"INTs in {flt.GEOGRAPHY_LABELS[sel.locality]}"


def in_scope(frame: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Rows of the chosen teams plus the BSol Total row."""
    if frame.empty:
        return frame
    return frame[frame["int_team_code"].isin(list(codes)) | (frame["int_team_code"] == pp.TOTAL_CODE)]
