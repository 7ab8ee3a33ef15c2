"""Pack scopes and periods: which areas a pack covers, and period labels ('2024-25', '2024-25 Q2',
'2024-06') parsed and described in plain English.

Why this module exists: the place/locality scopes and the period vocabulary are pure data and text
rules, shared by the CLI, the download callback and the sheets, and testable without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from data_loaders.calendar import add_months
from data_loaders.extracts import LOCALITIES
from metrics import results

PLACES = ("bsol", "birmingham", "solihull")
# Birmingham localities each have a pack for their LDP (Solihull's locality is its Place).
LOCALITY_PACKS = tuple(loc.lower() for loc in LOCALITIES if loc != "Solihull")
LONDON = ZoneInfo("Europe/London")


# --------------------------------------------------------------------------- scope and period
@dataclass(frozen=True)
class Scope:
    """Which areas a pack covers: the headline area first, then its places and localities."""

    key: str
    name: str
    audience: str
    areas: tuple[tuple[str, str], ...]  # (geography_level, geography)

    @property
    def headline(self) -> tuple[str, str]:
        return self.areas[0]

    @property
    def localities(self) -> tuple[str, ...]:
        return tuple(g for level, g in self.areas if level == "locality")


_BIRMINGHAM_LOCALITIES = tuple(loc for loc in LOCALITIES if loc != "Solihull")
SCOPES: dict[str, Scope] = {
    "bsol": Scope("bsol", "Birmingham and Solihull (BSol)", "BSol Community Care Collaborative Steering Group",
                  (("bsol", "BSol"), ("place", "Birmingham"), ("place", "Solihull"),
                   *(("locality", loc) for loc in LOCALITIES))),
    "birmingham": Scope("birmingham", "Birmingham", "Birmingham Place Committee",
                        (("place", "Birmingham"), *(("locality", loc) for loc in _BIRMINGHAM_LOCALITIES))),
    "solihull": Scope("solihull", "Solihull", "Solihull Place Committee",
                      (("place", "Solihull"), ("locality", "Solihull"))),
    # One pack per locality, for its Locality Delivery Partnership chair (compared with BSol).
    **{loc.lower(): Scope(loc.lower(), f"{'Central Birmingham' if loc == 'Central' else loc} locality",
                          f"{loc} Locality Delivery Partnership", (("locality", loc),))
       for loc in _BIRMINGHAM_LOCALITIES},
}


def get_scope(place: str) -> Scope:
    key = place.strip().lower()
    if key not in SCOPES:
        raise ValueError(f"place must be one of {', '.join(PLACES + LOCALITY_PACKS)}, got {place!r}")
    return SCOPES[key]


@dataclass(frozen=True)
class PackPeriod:
    """The reporting period of a pack, with the dates the data actually cover."""

    period_type: str
    label: str
    start: date
    end: date  # last day with data in the period
    nominal_end: date  # last day of the whole period

    @property
    def complete(self) -> bool:
        return self.end >= self.nominal_end

    @property
    def type_text(self) -> str:
        return results.PERIOD_TYPE_LABELS[self.period_type].lower()

    def describe(self) -> str:
        """Plain-English dates, e.g. 'April to June 2024' (GSS: no ambiguous date formats)."""
        if self.period_type == "month":
            text = f"{self.start:%B %Y}"
        elif self.start.year == self.nominal_end.year:
            text = f"{self.start:%B} to {self.nominal_end:%B %Y}"
        else:
            text = f"{self.start:%B %Y} to {self.nominal_end:%B %Y}"
        if not self.complete:
            text += f" (incomplete: data to {_long_date(self.end)})"
        return text


_FY_OR_MONTH = re.compile(r"^(\d{4})[-/](\d{2})$")
_QUARTER = re.compile(r"^(\d{4})[-/](\d{2})\s*Q([1-4])$", re.IGNORECASE)


def parse_period(label: str) -> tuple[str, str]:
    """(period_type, canonical label) from '2024-25', '2024-25 Q2' or '2024-06'."""
    text = label.strip()
    if m := _QUARTER.match(text):
        year, nxt, q = int(m[1]), int(m[2]), m[3]
        if nxt != (year + 1) % 100:
            raise ValueError(f"{label!r}: a quarter looks like '2024-25 Q2'")
        return "quarter", f"{year}-{nxt:02d} Q{q}"
    if m := _FY_OR_MONTH.match(text):
        year, second = int(m[1]), int(m[2])
        if second == (year + 1) % 100:
            return "financial_year", f"{year}-{second:02d}"
        if 1 <= second <= 12:
            return "month", f"{year}-{second:02d}"
    raise ValueError(f"{label!r} is not a period: use a financial year (2024-25), a quarter "
                     "('2024-25 Q2') or a month (2024-06)")


def _nominal_end(period_type: str, start: date) -> date:
    months = {"month": 1, "quarter": 3, "financial_year": 12}[period_type]
    return add_months(start, months) - timedelta(days=1)


def pack_filename(place: str, period: PackPeriod | str) -> str:
    """A safe download name, e.g. 'bsol-outcomes-pack-birmingham-2024-25-Q1.xlsx'."""
    label = period.label if isinstance(period, PackPeriod) else period
    return f"bsol-outcomes-pack-{get_scope(place).key}-{re.sub(r'[^0-9A-Za-z]+', '-', label)}.xlsx"


def _when(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "not recorded"
    ts = pd.Timestamp(value)
    return f"{ts:%d %B %Y %H:%M}"


def _long_date(value: object) -> str:
    if value is None or value == "":
        return "unknown"
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{d.day} {d:%B %Y}"
