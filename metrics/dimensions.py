"""The breakdowns and geography levels every result is cut by: one record each, read everywhere.

Why: the lists of breakdowns and levels (their keys, labels, order) were copied into the catalogue,
compute, results, docs, filters and pages, and the copies drifted. Adding a breakdown starts here
(one Breakdown record, its key in BreakdownKey) plus its SQL expression in metrics/compute.py and
the data behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

BreakdownKey = Literal["imd_quintile", "ethnicity", "sex", "age_band"]
LevelKey = Literal["bsol", "place", "locality", "neighbourhood", "practice"]


@dataclass(frozen=True)
class Level:
    key: LevelKey
    label: str  # headings and tables: "Locality"
    breakdowns: bool  # are patient-characteristic breakdowns computed at this level?


@dataclass(frozen=True)
class Breakdown:
    key: BreakdownKey
    label: str  # headings, filters and tables: "IMD quintile"
    prose: str  # inside a sentence: "by IMD quintile, ethnic group"
    order: int  # position in the breakdown filter (1 = first)


# Broadest first: the order of results, tables and the measure docs.
LEVELS: tuple[Level, ...] = (
    Level("bsol", "BSol", breakdowns=True),
    Level("place", "Place", breakdowns=True),
    Level("locality", "Locality", breakdowns=True),
    Level("neighbourhood", "Neighbourhood", breakdowns=False),
    Level("practice", "Practice", breakdowns=False),
)

# The order results are computed and stored in.
BREAKDOWNS: tuple[Breakdown, ...] = (
    Breakdown("imd_quintile", "IMD quintile", "IMD quintile", order=3),
    Breakdown("ethnicity", "Ethnic group", "ethnic group", order=4),
    Breakdown("sex", "Sex", "sex", order=1),
    Breakdown("age_band", "Age band", "age band", order=2),
)

NO_BREAKDOWN = "none"  # the `breakdown` value of whole-area rows (group "All")
BREAKDOWN_KEYS: tuple[BreakdownKey, ...] = tuple(b.key for b in BREAKDOWNS)
BREAKDOWN_FILTER_ORDER: tuple[BreakdownKey, ...] = tuple(b.key for b in sorted(BREAKDOWNS, key=lambda b: b.order))
BREAKDOWN_LABELS: dict[str, str] = {NO_BREAKDOWN: "None", **{b.key: b.label for b in BREAKDOWNS}}
BREAKDOWN_PROSE: dict[str, str] = {b.key: b.prose for b in BREAKDOWNS}
LEVEL_KEYS: tuple[LevelKey, ...] = tuple(level.key for level in LEVELS)
LEVEL_LABELS: dict[str, str] = {level.key: level.label for level in LEVELS}
BREAKDOWN_LEVELS: tuple[LevelKey, ...] = tuple(level.key for level in LEVELS if level.breakdowns)

if set(get_args(BreakdownKey)) != set(BREAKDOWN_KEYS) or set(get_args(LevelKey)) != set(LEVEL_KEYS):
    raise ValueError("metrics/dimensions.py: the key types and the records disagree")
