"""The breakdowns and geography levels every result is cut by: one record each, read everywhere.

Why: the lists of breakdowns and levels (their keys, labels, order) were copied into the catalogue,
compute, results, docs, filters and pages, and the copies drifted. Adding a breakdown starts here
(one Breakdown record, its key in BreakdownKey) plus its SQL expression in metrics/compute.py and
the data behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from data_loaders.extracts import (
    ETHNIC_GROUPS,  # ONS 2021 high-level groups: the source's vocabulary
)

BreakdownKey = Literal["imd_quintile", "ethnicity", "sex", "age_band"]
LevelKey = Literal["bsol", "place", "locality", "neighbourhood", "practice"]
PeriodTypeKey = Literal["month", "rolling_12m", "quarter", "financial_year"]


@dataclass(frozen=True)
class PeriodTypeInfo:
    """A kind of reporting period. Adding one starts here, plus its rows in
    metrics.compute.reporting_periods."""

    key: PeriodTypeKey
    label: str  # filters and table headings: "Rolling 12 months"
    prose: str  # the measure docs: "monthly"


# Finest first: the order of the period-type filter.
PERIOD_TYPE_INFO: tuple[PeriodTypeInfo, ...] = (
    PeriodTypeInfo("month", "Month", "monthly"),
    # Fingertips-style rolling year for small areas: each month with the 11 before it (issue 13).
    PeriodTypeInfo("rolling_12m", "Rolling 12 months", "rolling 12 months"),
    PeriodTypeInfo("quarter", "Quarter", "quarterly"),
    PeriodTypeInfo("financial_year", "Financial year", "financial year"),
)
PERIOD_TYPES: tuple[PeriodTypeKey, ...] = tuple(p.key for p in PERIOD_TYPE_INFO)
PERIOD_TYPE_LABELS: dict[str, str] = {p.key: p.label for p in PERIOD_TYPE_INFO}
PERIOD_TYPE_PROSE: dict[str, str] = {p.key: p.prose for p in PERIOD_TYPE_INFO}
ROLLING_MONTHS = 12


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

# --------------------------------------------------------------------------- groups of each breakdown
# The group labels results carry, in display order (filters, grids, profiles and packs read these).
UNKNOWN = "Unknown"
IMD_LABELS: dict[str, str] = {"1": "Q1 (most deprived)", "2": "Q2", "3": "Q3", "4": "Q4", "5": "Q5 (least deprived)",
                              "0": UNKNOWN, UNKNOWN: UNKNOWN}
"""IMD 2019 quintile (1 = most deprived) -> group label."""
IMD_GROUPS: tuple[str, ...] = tuple(IMD_LABELS[q] for q in "12345")
SEX_LABELS: dict[str, str] = {"F": "Female", "M": "Male", "U": UNKNOWN}
"""Sex code (data_loaders.extracts.SEXES) -> group label."""
AGE_BANDS: tuple[tuple[int, str], ...] = ((0, "0-14"), (15, "15-44"), (45, "45-64"), (65, "65-74"), (75, "75-84"),
                                          (85, "85+"))
"""(lowest age, label) of each age band, youngest first."""
AGE_GROUPS: tuple[str, ...] = tuple(label for _, label in AGE_BANDS)
GROUP_ORDER: dict[str, tuple[str, ...]] = {"imd_quintile": IMD_GROUPS, "ethnicity": ETHNIC_GROUPS,
                                           "sex": tuple(SEX_LABELS.values()), "age_band": AGE_GROUPS}

if (set(get_args(BreakdownKey)) != set(BREAKDOWN_KEYS) or set(get_args(LevelKey)) != set(LEVEL_KEYS)
        or set(get_args(PeriodTypeKey)) != set(PERIOD_TYPES)):
    raise ValueError("metrics/dimensions.py: the key types and the records disagree")
