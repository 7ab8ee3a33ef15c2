"""Filters that live in the URL query string: parsing, validation and canonical query strings.

Pure functions (no data access), so every page parses a shared link the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from data_loaders.extracts import LOCALITIES
from metrics.dimensions import BREAKDOWN_FILTER_ORDER, BREAKDOWN_LABELS
from metrics.results import PERIOD_TYPE_LABELS, PERIOD_TYPES

BSOL = "BSol"
GEOGRAPHIES: tuple[str, ...] = (BSOL, *LOCALITIES)
GEOGRAPHY_LABELS = {BSOL: "BSol (all)", "Central": "Central Birmingham", **{x: x for x in LOCALITIES if x != "Central"}}
BREAKDOWNS: tuple[str, ...] = BREAKDOWN_FILTER_ORDER
# `status` and `sort` are the scorecard's (summary-matrix cell, sort order: layouts/home.py).
KEYS = ("locality", "period_type", "period", "breakdown", "team", "cohort", "window", "status", "sort")
# Carried by navigation links between pages; `period` is specific to one measure page and
# `team`, `cohort`, `window` to the pre/post page (validated there: layouts/prepost.parse).
CARRIED = ("locality", "period_type", "breakdown")
DEFAULTS: dict[str, str | None] = {"locality": BSOL, "period_type": None, "period": "latest", "breakdown": "sex",
                                   "team": "all", "cohort": "pilot", "window": "6"}


@dataclass(frozen=True)
class Filters:
    locality: str = BSOL
    period_type: str | None = None
    period: str | None = None
    breakdown: str = "sex"
    errors: tuple[str, ...] = field(default=())

    @property
    def level(self) -> str:
        return "bsol" if self.locality == BSOL else "locality"


def parse(query: dict[str, object]) -> Filters:
    """Filters from page-layout keyword arguments (query string); unknown values become errors."""
    errors: list[str] = []
    locality = BSOL
    raw = _text(query.get("locality"))
    if raw:
        match = next((g for g in GEOGRAPHIES if g.lower() == raw.lower()), None)
        if match is None:
            errors.append(f"Unknown locality “{raw}”. Choose one of: {', '.join(GEOGRAPHIES)}.")
        else:
            locality = match
    period_type = _text(query.get("period_type")) or None
    if period_type and period_type not in PERIOD_TYPES:
        errors.append(f"Unknown period type “{period_type}”. Choose one of: {', '.join(PERIOD_TYPES)}.")
        period_type = None
    breakdown = _text(query.get("breakdown")) or "sex"
    if breakdown not in BREAKDOWNS:
        errors.append(f"Unknown breakdown “{breakdown}”. Choose one of: {', '.join(BREAKDOWNS)}.")
        breakdown = "sex"
    period = _text(query.get("period")) or None
    return Filters(locality, period_type, period, breakdown, tuple(errors))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()[:64]


def parse_search(search: str | None) -> dict[str, str]:
    return {k: v for k, v in parse_qsl((search or "").lstrip("?")) if k in KEYS}


def to_search(values: dict[str, object], keys: tuple[str, ...] = KEYS) -> str:
    """Canonical query string: known keys in a fixed order, defaults left out."""
    pairs = [(k, str(values[k])) for k in keys
             if values.get(k) not in (None, "") and str(values[k]) != DEFAULTS.get(k)]
    return "?" + urlencode(pairs) if pairs else ""


def carried_search(search: str | None) -> str:
    return to_search(parse_search(search), CARRIED)


def locality_options() -> list[dict[str, str]]:
    return [{"label": GEOGRAPHY_LABELS[g], "value": g} for g in GEOGRAPHIES]


def period_type_options(allowed: tuple[str, ...] = PERIOD_TYPES) -> list[dict[str, str]]:
    return [{"label": PERIOD_TYPE_LABELS[p], "value": p} for p in PERIOD_TYPES if p in allowed]


def breakdown_options() -> list[dict[str, str]]:
    return [{"label": BREAKDOWN_LABELS[b], "value": b} for b in BREAKDOWNS]
