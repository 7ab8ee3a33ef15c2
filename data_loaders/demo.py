"""Seeded synthetic BSol dataset: every non-shipped extract, realistic enough to demo every page.

Why it exists: the dashboard must run (and be tested) without any real patient data. The data
are invented but shaped on published figures (see docs/demo-data.md for every assumption and its
source), so the charts look like the real thing: deprivation and ethnicity gradients, seasonal
emergency demand, INT go-live effects that SPC charts pick up, and an East/West pilot cohort that
reproduces the Implementation Plan's pre/post table (F4:376-385) exactly under docs/design.md's
rules.

How: one row of arrays per patient (numpy, no per-patient Python loops), events drawn as
inhomogeneous Poisson processes by thinning (`_thin_events`), snapshots by a short loop over
quarter ends. Independent random streams per component (`np.random.SeedSequence.spawn`) keep the
output a pure function of (size, seed, end). The pilot cohort uses its own size-independent
stream, so its per-person activity is identical in `small` and `full`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_loaders.calendar import DATA_START, add_months
from data_loaders.extracts import (
    EMERGENCY_ADMISSION_METHODS,
    ETHNIC_GROUPS,
    EXTRACTS,
    NHS_ETHNIC_CATEGORIES,
    Extract,
)

Size = Literal["small", "medium", "full"]
Progress = Callable[[str], None]

DEFAULT_SEED = 20240626
GENERATED_BY = "data_loaders.demo 1.0"
PILOT_GO_LIVE = date(2023, 10, 1)
PILOT_INDEX_LAST = date(2023, 12, 31)
PREPOST_MONTHS = 6

# ------------------------------------------------------------------ the plan's pre/post table
ACTIVITIES = ("gp_appointments", "ae_attendances", "inpatient_spells",
              "op_community_contacts", "care_packages")
"""Column order of the plan's table (F4:376): GP, A&E, inpatient spells, OP & community, care packages."""

_PLAN_ROWS = {
    "East INT": {"pre": (2110, 370, 87, 3262, 8), "post": (1372, 56, 31, 2257, 3)},
    "West INT": {"pre": (2951, 783, 145, 4855, 17), "post": (2108, 188, 58, 3597, 5)},
}


def _plan_table() -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for team, rows in _PLAN_ROWS.items():
        for i, act in enumerate(ACTIVITIES):
            out[(team, "pre", act)] = rows["pre"][i]
            out[(team, "post", act)] = rows["post"][i]
            out[(team, "variance", act)] = rows["post"][i] - rows["pre"][i]
    for i, act in enumerate(ACTIVITIES):
        pre = sum(r["pre"][i] for r in _PLAN_ROWS.values())
        post = sum(r["post"][i] for r in _PLAN_ROWS.values())
        out[("Total", "pre", act)] = pre
        out[("Total", "post", act)] = post
        out[("Total", "variance", act)] = post - pre
    return out


PLAN_PREPOST: dict[tuple[str, str, str], int] = _plan_table()
"""The Implementation Plan's pre/post INT table (F4:376-385): 45 cells keyed by
(row: 'East INT' | 'West INT' | 'Total', 'pre' | 'post' | 'variance', activity in ACTIVITIES)."""

PILOT_TEAMS = {"INT01": "East INT", "INT02": "West INT"}
PILOT_COHORT_SIZE = {"INT01": 180, "INT02": 240}
"""People in each pilot caseload with index dates 2023-10-01..2023-12-31 (not stated in the plan)."""

# ------------------------------------------------------------------ geography
# (name, locality, mean IMD decile of its LSOAs). The first three of each locality form `small`.
NEIGHBOURHOODS: tuple[tuple[str, str, float], ...] = (
    ("Erdington", "North", 3.0), ("Kingstanding", "North", 1.4), ("Sutton Coldfield North", "North", 8.8),
    ("Castle Vale & Tyburn", "North", 2.4), ("Stockland Green", "North", 2.6), ("Sutton Coldfield South", "North", 7.8),
    ("Northfield", "South", 3.4), ("Selly Oak", "South", 5.2), ("Bournville", "South", 6.5),
    ("Longbridge", "South", 3.2), ("Kings Norton", "South", 2.6), ("Edgbaston", "South", 5.5),
    ("Hall Green", "South", 4.6),
    ("Washwood Heath", "East", 1.1), ("Bordesley Green", "East", 1.2), ("Yardley", "East", 3.6),
    ("Hodge Hill", "East", 2.0), ("Stechford", "East", 2.6), ("Sheldon", "East", 5.0),
    ("Ladywood", "West", 2.0), ("Handsworth", "West", 1.5), ("Perry Barr", "West", 3.6),
    ("Aston", "West", 1.1), ("Soho & Jewellery Quarter", "West", 2.2), ("Winson Green", "West", 1.8),
    ("Sparkbrook", "Central", 1.1), ("Small Heath", "Central", 1.2), ("Moseley", "Central", 5.5),
    ("Balsall Heath", "Central", 1.4), ("Springfield", "Central", 3.0),
    ("Chelmsley Wood", "Solihull", 1.8), ("Solihull Town", "Solihull", 7.5), ("Knowle & Dorridge", "Solihull", 9.6),
    ("Kingshurst & Smith's Wood", "Solihull", 3.6), ("Shirley", "Solihull", 7.2),
)
LOCALITY_ORDER = ("North", "South", "East", "West", "Central", "Solihull")
LOCALITY_POP = {"North": 270_000, "South": 310_000, "East": 310_000, "West": 280_000,
                "Central": 280_000, "Solihull": 250_000}
"""Registered population at full size (sums to 1.7m; Birmingham 1.45m, Solihull 0.25m)."""

# (code, name, locality, go-live). Locality teams serve the first neighbourhood of their locality.
LOCALITY_TEAMS = (
    ("INT01", "East INT", "East", date(2023, 10, 1)),
    ("INT02", "West INT", "West", date(2023, 10, 1)),
    ("INT03", "North INT", "North", date(2024, 1, 8)),
    ("INT04", "South INT", "South", date(2024, 2, 5)),
    ("INT05", "Central INT", "Central", date(2024, 3, 4)),
    ("INT06", "Solihull INT", "Solihull", date(2024, 7, 1)),
)
ROLLOUT_FIRST, ROLLOUT_MONTHS = date(2025, 1, 1), 15  # remaining teams: Jan 2025 .. Mar 2026

# Relative 65+ emergency-demand multiplier reached 6 months after the locality team goes live.
INT_EFFECT = {"East": 0.89, "West": 0.90, "North": 0.92, "South": 0.96, "Central": 0.95, "Solihull": 0.99}


@dataclass(frozen=True)
class SizeSpec:
    patients: int
    neighbourhoods_per_locality: int | None  # None = all
    patients_per_practice: int  # target list size
    patients_per_lsoa: int
    enrol_per_month: tuple[float, float]  # background caseload enrolments per team per month


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(30_000, 3, 850, 280, (2.0, 4.0)),
    # The default of `python app.py`: the smallest size at which every locality's quarterly value of
    # every measure is shown rather than [c] (bench/coverage.py; docs/performance.md), built in a
    # fraction of the full size's time and memory.
    "medium": SizeSpec(500_000, None, 6_000, 1_500, (5.0, 15.0)),
    "full": SizeSpec(1_700_000, None, 10_000, 2_250, (8.0, 25.0)),
}
DEMO_SIZES: tuple[str, ...] = tuple(SIZES)

# ------------------------------------------------------------------ people
ETH_GROUPS = ETHNIC_GROUPS
ETH_CODES = NHS_ETHNIC_CATEGORIES  # A..S, Z, 99
_CODE_GROUP = {"A": 3, "B": 3, "C": 3, "D": 2, "E": 2, "F": 2, "G": 2, "H": 0, "J": 0, "K": 0,
               "L": 0, "R": 0, "M": 1, "N": 1, "P": 1, "S": 4, "Z": 5, "99": 5}
"""NHS ethnic category -> ONS 2021 group (matches data_loaders/reference/ethnicity_code.csv)."""

# Stated-ethnicity mix by locality (Asian, Black, Mixed, White, Other); Census 2021 shape.
ETH_MIX = {
    "North": (0.10, 0.08, 0.05, 0.75, 0.02), "South": (0.22, 0.07, 0.05, 0.62, 0.04),
    "East": (0.50, 0.08, 0.04, 0.32, 0.06), "West": (0.33, 0.18, 0.06, 0.37, 0.06),
    "Central": (0.40, 0.15, 0.05, 0.35, 0.05), "Solihull": (0.086, 0.019, 0.03, 0.855, 0.01),
}
# Codes within each group: (codes, Birmingham weights, Solihull weights)
_GROUP_CODES = {
    0: (("H", "J", "K", "L", "R"), (0.19, 0.55, 0.13, 0.09, 0.04), (0.45, 0.28, 0.05, 0.14, 0.08)),
    1: (("M", "N", "P"), (0.40, 0.45, 0.15), (0.45, 0.40, 0.15)),
    2: (("D", "E", "F", "G"), (0.42, 0.10, 0.28, 0.20), (0.35, 0.10, 0.35, 0.20)),
    3: (("A", "B", "C"), (0.90, 0.03, 0.07), (0.92, 0.02, 0.06)),
    4: (("S",), (1.0,), (1.0,)),
}
NOT_STATED = 0.05  # Z 2.5%, 99 1%, blank 1.5%

# 5-year age band weights 0-4 ... 85-89, 90+ (relative; normalised)
AGE_YOUNG = np.array([8.0, 8.3, 8.3, 7.6, 8.6, 8.6, 8.6, 8.0, 7.0, 6.0, 5.0, 4.0, 3.2, 2.5, 1.9, 1.3,
                      0.8, 0.4, 0.2])
AGE_OLD = np.array([5.2, 5.6, 5.6, 5.6, 7.2, 7.2, 7.0, 6.5, 6.0, 6.0, 6.4, 6.6, 5.9, 5.0, 4.7, 4.0,
                    2.7, 1.6, 0.9])
AGE_SOLIHULL = np.array([5.5, 6.0, 6.2, 5.8, 5.0, 5.6, 6.0, 6.0, 6.0, 6.3, 6.8, 7.0, 6.3, 5.3, 5.1, 4.3,
                         3.0, 1.7, 1.0])

# ------------------------------------------------------------------ event rates (per person-year)
# by 5-year band 0-4 ... 90+
EMERGENCY = np.array([135, 40, 35, 48, 52, 52, 52, 54, 57, 61, 68, 79, 92, 115, 150, 205, 285, 385,
                      500]) / 1000
ELECTIVE = np.array([45, 35, 35, 45, 60, 70, 85, 95, 120, 145, 180, 215, 265, 325, 385, 420, 395, 335,
                     240]) / 1000
AE_TYPE1 = np.array([400, 180, 170, 260, 300, 270, 250, 230, 220, 210, 210, 210, 220, 240, 270, 330,
                     430, 560, 700]) / 1000
AE_TYPE3 = np.array([250, 170, 160, 160, 160, 150, 140, 130, 120, 110, 100, 95, 90, 90, 85, 85, 85, 80,
                     80]) / 1000
OUTPATIENT = np.array([0.55, 0.35, 0.35, 0.35, 0.4, 0.5, 0.55, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.05,
                       1.25, 1.4, 1.45, 1.4, 1.25])
COMMUNITY = np.array([0.9, 0.15, 0.15, 0.06, 0.05, 0.07, 0.08, 0.08, 0.09, 0.1, 0.12, 0.15, 0.2, 0.3,
                      0.45, 0.8, 1.5, 2.5, 3.3])
PACKAGES = np.array([0, 0, 0, 0.001, 0.003, 0.003, 0.003, 0.004, 0.004, 0.005, 0.006, 0.007, 0.009,
                     0.012, 0.02, 0.035, 0.06, 0.1, 0.15])
UCR = np.array([0, 0, 0, 0.0005, 0.001, 0.001, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.007,
                0.012, 0.02, 0.035, 0.06, 0.1, 0.14])
CARE_HOME_PERM = np.array([0, 0, 0, 0, 0.00005, 0.00005, 0.0001, 0.0001, 0.00012, 0.00015, 0.0002,
                           0.00025, 0.0003, 0.0009, 0.0016, 0.003, 0.0055, 0.011, 0.018])
GP_CASELOAD = np.array([6, 4, 4, 4, 5, 5, 5.5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 10, 11, 12, 12.0])
IMD_EMERG = np.array([1.15, 1.4, 1.2, 1.05, 0.95, 0.8])  # index = quintile (0 = unknown)
IMD_AE = np.array([1.1, 1.3, 1.15, 1.0, 0.9, 0.8])
IMD_ACSC = np.array([1.1, 1.3, 1.15, 1.0, 0.85, 0.75])
IMD_FALL = np.array([1.0, 1.15, 1.08, 1.0, 0.93, 0.87])
SEASON_EMERG = np.array([1.10, 1.04, 1.02, 0.97, 0.98, 0.95, 0.97, 0.93, 0.97, 1.0, 1.03, 1.08])
SEASON_AE = np.array([0.94, 0.93, 1.0, 1.0, 1.05, 1.06, 1.06, 1.0, 1.0, 0.99, 0.98, 0.98])
SEASON_FLAT = np.ones(12)
TREND = 0.025  # demand growth per year (ageing, rising acuity)
CASELOAD_PRE, CASELOAD_POST = 1.25, {  # multipliers for caseload people (not the pilot cohort)
    "gp": 0.75, "ae": 0.6, "spell": 0.65, "community": 0.85, "package": 0.7}

# ------------------------------------------------------------------ code lists used for events
ACSC_ADULT = (("J441", .17), ("J440", .05), ("J449", .04), ("I509", .12), ("I500", .04), ("E119", .02),
              ("E110", .02), ("E101", .03), ("I209", .05), ("I259", .03), ("G409", .07), ("G419", .01),
              ("J459", .06), ("J46X", .01), ("I10X", .03), ("D509", .03), ("D501", .01), ("F03X", .05),
              ("G309", .03), ("I110", .02), ("J47X", .02), ("R568", .02))
ACSC_CHILD = (("J459", .45), ("J46X", .05), ("G409", .28), ("G419", .02), ("E101", .15), ("E109", .05))
FALL_INJURY = (("S720", .24), ("S721", .12), ("S722", .04), ("S422", .07), ("S525", .08), ("S065", .05),
               ("S010", .09), ("S328", .05), ("S300", .05), ("T140", .05), ("S800", .05), ("S700", .05),
               ("S220", .06))
FALL_CAUSE = (("W19X", .5), ("W010", .15), ("W06X", .07), ("W10X", .08), ("W18X", .08), ("W05X", .04),
              ("W08X", .04), ("W13X", .04))
OTHER_INJURY = (("S610", .2), ("S018", .15), ("S934", .15), ("S626", .15), ("T391", .1), ("S069", .1),
                ("T07X", .15))
OTHER_CAUSE = (("V234", .25), ("W22X", .2), ("W26X", .15), ("X599", .2), ("Y040", .1), ("X60X", .1))
MEDICAL_ADULT = (("R074", .09), ("R072", .03), ("R069", .03), ("R104", .08), ("J189", .09), ("J22X", .05),
                 ("N390", .07), ("A419", .05), ("L031", .05), ("K590", .02), ("R55X", .04), ("A099", .04),
                 ("K358", .02), ("I214", .04), ("I639", .04), ("F101", .02), ("U071", .02), ("J069", .02),
                 ("R51X", .02), ("R11X", .02), ("K922", .02), ("I48X", .05), ("N179", .04), ("E871", .03),
                 ("R296", .02), ("K529", .02))
MEDICAL_CHILD = (("J069", .2), ("J219", .15), ("R509", .15), ("A099", .15), ("J189", .08), ("R104", .07),
                 ("K358", .06), ("B349", .08), ("L031", .06))
ELECTIVE_DX = (("H251", .12), ("K802", .06), ("M171", .06), ("M161", .04), ("C509", .04), ("Z511", .12),
               ("K573", .05), ("N40X", .04), ("K219", .05), ("D126", .06), ("Z098", .08), ("M545", .05),
               ("N201", .03), ("K409", .05), ("C61X", .03), ("L989", .05), ("D251", .03), ("C349", .04))
MATERNITY_DX = (("O800", .5), ("O829", .15), ("O342", .1), ("O480", .1), ("O470", .15))
DEATH_CAUSE_OLD = (("I251", .11), ("C349", .06), ("J449", .06), ("F03X", .09), ("G309", .05), ("I64X", .05),
                   ("C189", .03), ("C61X", .03), ("J189", .06), ("I509", .03), ("C259", .02), ("C509", .02),
                   ("N179", .02), ("E149", .02), ("U071", .02), ("I219", .05), ("C159", .02), ("C809", .03),
                   ("I679", .03), ("A419", .03), ("R54X", .05), ("K746", .01), ("W19X", .02), ("C169", .01),
                   ("G20X", .02))
DEATH_CAUSE_YOUNG = (("C349", .08), ("I219", .08), ("K703", .08), ("C509", .08), ("X44X", .06),
                     ("X70X", .05), ("I251", .08), ("C189", .05), ("G35X", .03), ("E149", .04),
                     ("J449", .05), ("C719", .05), ("V892", .04), ("I639", .04), ("C259", .04),
                     ("F102", .05), ("A419", .05), ("Q249", .03), ("P073", .03))
OP_SERVICES = ("Cardiology", "Trauma & Orthopaedics", "Ophthalmology", "General Surgery", "Dermatology",
               "Respiratory Medicine", "Diabetic Medicine", "Gastroenterology", "Urology", "ENT",
               "Geriatric Medicine", "Gynaecology", "Paediatrics", "Obstetrics")
COMMUNITY_SERVICES = ("District Nursing", "Community Matron", "Community Physiotherapy", "Podiatry",
                      "Tissue Viability", "Continence", "Community Heart Failure", "Community Respiratory",
                      "Speech & Language Therapy", "Health Visiting", "School Nursing",
                      "Therapy (Rehabilitation)")
WOUND_PRODUCTS = (  # (BNF-format code, description, share of items, mean cost per item GBP)
    ("2002010A0AAAAAA", "Absorbent dressing, non-adherent (synthetic)", 0.20, 6.5),
    ("2002010F0AAABAB", "Foam dressing, adhesive border (synthetic)", 0.18, 22.0),
    ("2002010H0AAACAC", "Hydrocolloid dressing (synthetic)", 0.10, 14.0),
    ("2002010S0AAADAD", "Silver antimicrobial dressing (synthetic)", 0.07, 38.0),
    ("2002010P0AAAEAE", "Superabsorbent dressing (synthetic)", 0.10, 27.0),
    ("2002010G0AAAFAF", "Hydrogel dressing (synthetic)", 0.06, 11.0),
    ("2003010B0AAAGAG", "Compression bandage, short stretch (synthetic)", 0.12, 9.0),
    ("2003020K0AAAHAH", "Compression hosiery kit (synthetic)", 0.07, 31.0),
    ("2001010C0AAAJAJ", "Absorbent cotton wool pads (synthetic)", 0.05, 3.5),
    ("2002010W0AAAKAK", "Wound contact layer, silicone (synthetic)", 0.05, 9.5),
)
BOOKING = ("same_day", "1_day", "2_to_7_days", "8_to_14_days", "15_to_21_days", "22_to_28_days",
           "more_than_28_days", "unknown")
BOOKING_SHARE = np.array([0.42, 0.08, 0.22, 0.13, 0.05, 0.03, 0.04, 0.03])
BOOKING_DNA = np.array([0.02, 0.035, 0.045, 0.06, 0.07, 0.075, 0.08, 0.04])

NO_DATE = 10**7  # sentinel day number (year ~29,000): "never"
_EPOCH = date(1970, 1, 1)


# ================================================================== small helpers
def _d(day: date) -> int:
    return (day - _EPOCH).days


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=int(day))


def default_end(today: date | None = None) -> date:
    """Last day of the latest complete month before `today`."""
    today = today or date.today()
    return today.replace(day=1) - timedelta(days=1)


def _month_index(days: np.ndarray) -> np.ndarray:
    """Months since April 2023 of day numbers."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months - np.datetime64("2023-04", "M").astype(np.int64)


def _month_of_year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12  # 0 = Jan


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    """n codes drawn from a weighted (code, weight) table (object array)."""
    codes = np.array([c for c, _ in table], dtype=object)
    w = np.array([p for _, p in table], dtype=float)
    return codes[rng.choice(len(codes), size=n, p=w / w.sum())]


def _choice_by_row(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of a (n, k) probability matrix (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1)


def _choice_keyed(rng: np.random.Generator, keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Category per row where row i uses distribution table[keys[i]] (memory O(n), not O(n*k))."""
    t = table / table.sum(axis=1, keepdims=True)
    cum = np.cumsum(t, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(len(t))[:, None]).ravel()
    u = rng.random(len(keys)) + keys
    return np.searchsorted(flat, u, side="right") - keys * t.shape[1]


# ------------------------------------------------------------------ typed columns
def _str(values: np.ndarray | list, mask: np.ndarray | None = None) -> pd.Series:
    arr = pa.array(values, type=pa.string(), mask=mask)
    return pd.Series(arr, dtype=pd.StringDtype())


def _cat(codes: np.ndarray, labels: tuple[str, ...] | list[str], mask: np.ndarray | None = None) -> pd.Series:
    """Strings from integer codes, built in Arrow (fast for tens of millions of rows)."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    arr = pa.DictionaryArray.from_arrays(idx, pa.array(list(labels), type=pa.string())).cast(pa.string())
    return pd.Series(arr, dtype=pd.StringDtype())


def _take(ids: pa.Array, idx: np.ndarray) -> pd.Series:
    return pd.Series(ids.take(pa.array(np.asarray(idx, dtype=np.int64))), dtype=pd.StringDtype())


def _ids(prefix: str, n: int, width: int = 9) -> pd.Series:
    nums = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()), width, padding="0")
    return pd.Series(pc.binary_join_element_wise(prefix, nums, ""), dtype=pd.StringDtype())


def _timestamps(values: np.ndarray, unit: str, mask: np.ndarray | None = None) -> pd.Series:
    """Whole days ("D") or seconds ("s") since the epoch as datetime64[us]; `mask` marks missing."""
    out = np.asarray(values, dtype=np.int64).astype(f"datetime64[{unit}]").astype("datetime64[us]")
    if mask is not None:
        out = out.copy()
        out[mask] = np.datetime64("NaT")
    return pd.Series(out)


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
    return _timestamps(days, "D", mask)


def _datetimes(seconds: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
    return _timestamps(seconds, "s", mask)


def _int(values: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
    m = np.zeros(len(values), bool) if mask is None else mask
    return pd.Series(pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), m.copy()))


def _float(values: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
    m = np.zeros(len(values), bool) if mask is None else mask
    return pd.Series(pd.arrays.FloatingArray(np.asarray(values, dtype=np.float64), m.copy()))


def _bool(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=bool), dtype="boolean")


# ================================================================== generator state
@dataclass
class _People:
    """One array per patient attribute (index = patient number)."""

    ids: pa.Array
    prac: np.ndarray
    loc: np.ndarray  # index into LOCALITY_ORDER
    nb: np.ndarray  # index into the neighbourhood table
    lsoa: np.ndarray  # index into the LSOA table, -1 unknown
    q: np.ndarray  # IMD quintile, 0 unknown
    eth: np.ndarray  # index into ETH_CODES, -1 blank
    grp: np.ndarray  # index into ETH_GROUPS
    sex: np.ndarray  # 0 F, 1 M
    birth: np.ndarray  # day number of the first of the birth month
    band: np.ndarray  # age band at the reference date
    z: np.ndarray  # frailty / multimorbidity multiplier (mean 1)
    care: np.ndarray  # 0 none, 1 residential, 2 nursing (base residents)
    death: np.ndarray  # day number or NO_DATE
    entry: np.ndarray  # first day events can happen
    exit: np.ndarray  # last day events can happen

    @property
    def n(self) -> int:
        return len(self.prac)

    def age_at(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        return (days - self.birth[idx]) / 365.25

    def band_at(self, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        return np.minimum((self.age_at(idx, days) // 5).astype(np.int64), 18).clip(0)


class _Gen:
    """Holds the random streams, dates and tables while one dataset is generated."""

    # Set by the generation steps in order (geography, teams, caseloads, ...); declared here so
    # the type checker knows them. Frames, arrays and lookups of several shapes: Any.
    nbh: Any
    prac: Any
    lsoa: Any
    teams: Any
    pilot: Any
    caseload: Any
    first_start: Any
    pilot_window: Any
    care_since: Any
    care_final: Any
    death_place: Any
    hosp_deaths: Any
    spell_arrays: Any
    htn_p: Any
    dm_p: Any
    months: Any
    old_share: Any
    P: Any

    def __init__(self, size: Size, seed: int, end: date, progress: Progress | None) -> None:
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
        min_end = add_months(PILOT_INDEX_LAST, PREPOST_MONTHS)
        if end < min_end:
            raise ValueError(f"end must be on or after {min_end} (the pilot's post windows must end)")
        self.size, self.seed, self.end = size, seed, end
        self.spec = SIZES[size]
        self.say = progress or (lambda _m: None)
        ss = np.random.SeedSequence([seed, {"small": 0, "full": 1}.get(size, 2)])  # small and full as ever
        names = ("geo", "people", "death", "carehome", "caseload", "spell", "ae", "community",
                 "package", "ucr", "gp", "snap", "agg", "attr", "reab")
        self.rngs = {k: np.random.default_rng(s) for k, s in zip(names, ss.spawn(len(names)), strict=True)}
        self.pilot_rng = np.random.default_rng(np.random.SeedSequence([seed, 424242]))
        self.start_d, self.end_d = _d(DATA_START), _d(end)
        self.n_months = (end.year - 2023) * 12 + end.month - 4 + 1
        self.ref = _d(min(date(2024, 10, 1), end.replace(day=1)))
        self.frames: dict[str, pd.DataFrame | list[pd.DataFrame]] = {}
        self.t0 = time.perf_counter()

    def log(self, msg: str) -> None:
        self.say(f"{msg} ({time.perf_counter() - self.t0:.1f}s)")


# ================================================================== geography
def _geography(g: _Gen) -> None:
    rng = g.rngs["geo"]
    spec = g.spec
    rows = []
    for code_no, (name, loc, dec) in enumerate(NEIGHBOURHOODS, start=1):
        rank = sum(1 for n2, l2, _ in NEIGHBOURHOODS[:code_no - 1] if l2 == loc)
        if spec.neighbourhoods_per_locality is None or rank < spec.neighbourhoods_per_locality:
            rows.append((f"N{code_no:02d}", name, loc, dec, rank))
    nbh = pd.DataFrame(rows, columns=["code", "name", "locality", "mean_decile", "rank"])
    nbh["loc"] = nbh["locality"].map({loc: i for i, loc in enumerate(LOCALITY_ORDER)})
    scale = spec.patients / sum(LOCALITY_POP.values())
    weights = rng.lognormal(0, 0.15, len(nbh))
    nbh["pop"] = 0.0
    for loc in LOCALITY_ORDER:
        m = nbh["locality"] == loc
        nbh.loc[m, "pop"] = LOCALITY_POP[loc] * scale * weights[m.to_numpy()] / weights[m.to_numpy()].sum()
    nbh["pcn"] = [f"U9{i:04d}" for i in range(1, len(nbh) + 1)]

    # practices
    prac_rows = []
    for i, r in nbh.iterrows():
        k = max(2, round(r["pop"] / spec.patients_per_practice))
        w = rng.dirichlet(np.full(k, 4.0))
        for j in range(k):
            prac_rows.append((i, w[j]))
    prac = pd.DataFrame(prac_rows, columns=["nb", "w"])
    prac["code"] = [f"Y9{i:04d}" for i in range(1, len(prac) + 1)]
    prac["locality"] = nbh["locality"].to_numpy()[prac["nb"]]
    prac["name"] = [f"Synthetic Practice {i:03d} ({loc})" for i, loc in
                    zip(range(1, len(prac) + 1), prac["locality"], strict=True)]

    # LSOAs: synthetic codes E0199xxxx; deciles scattered around the neighbourhood mean
    lsoa_rows = []
    for i, r in nbh.iterrows():
        per = spec.patients_per_lsoa * (0.82 if r["locality"] == "Solihull" else 1.0)
        k = max(4, round(r["pop"] / per))
        dec = np.clip(np.rint(r["mean_decile"] + rng.normal(0, 1.3, k)), 1, 10).astype(int)
        for d in dec:
            lsoa_rows.append((i, int(d)))
    lsoa = pd.DataFrame(lsoa_rows, columns=["nb", "decile"])
    lsoa["code"] = [f"E0199{i:04d}" for i in range(1, len(lsoa) + 1)]
    lsoa["quintile"] = (lsoa["decile"] + 1) // 2
    lsoa["locality"] = nbh["locality"].to_numpy()[lsoa["nb"]]
    g.nbh, g.prac, g.lsoa = nbh, prac, lsoa

    g.frames["practice"] = pd.DataFrame({
        "practice_code": _str(prac["code"].to_numpy()),
        "practice_name": _str(prac["name"].to_numpy()),
        "pcn_code": _str(nbh["pcn"].to_numpy()[prac["nb"]]),
        "neighbourhood_code": _str(nbh["code"].to_numpy()[prac["nb"]]),
        "neighbourhood_name": _str(nbh["name"].to_numpy()[prac["nb"]]),
        "locality": _str(prac["locality"].to_numpy()),
        "place": _str(np.where(prac["locality"] == "Solihull", "Solihull", "Birmingham")),
    })
    g.frames["lsoa"] = pd.DataFrame({
        "lsoa_code": _str(lsoa["code"].to_numpy()),
        "local_authority": _str(np.where(lsoa["locality"] == "Solihull", "Solihull", "Birmingham")),
        "locality": _str(lsoa["locality"].to_numpy()),
        "imd_decile": _int(lsoa["decile"].to_numpy()),
        "imd_quintile": _int(lsoa["quintile"].to_numpy()),
    })

    # INT teams: the six locality teams, then one per remaining neighbourhood
    teams = []
    for code, name, loc, live in LOCALITY_TEAMS:
        nb_i = int(nbh.index[(nbh["locality"] == loc) & (nbh["rank"] == 0)][0])
        teams.append((code, name, loc, nb_i, live))
    served = {t[3] for t in teams}
    rest = [i for i in nbh.index if i not in served]
    for k, i in enumerate(rest):
        month = k * ROLLOUT_MONTHS // len(rest)
        slot = sum(1 for kk in range(k) if kk * ROLLOUT_MONTHS // len(rest) == month)
        first = add_months(ROLLOUT_FIRST, month)
        monday = first + timedelta(days=(7 - first.weekday()) % 7)
        teams.append((f"INT{7 + k:02d}", f"{nbh.at[i, 'name']} INT", nbh.at[i, "locality"], i,
                      monday + timedelta(days=14 * slot)))
    teams = [t for t in teams if t[4] <= g.end]
    g.teams = pd.DataFrame(teams, columns=["code", "name", "locality", "nb", "live"])
    g.frames["int_team"] = pd.DataFrame({
        "int_team_code": _str(g.teams["code"].to_numpy()),
        "int_team_name": _str(g.teams["name"].to_numpy()),
        "locality": _str(g.teams["locality"].to_numpy()),
        "neighbourhood_code": _str(nbh["code"].to_numpy()[g.teams["nb"]]),
        "go_live_date": _dates(np.array([_d(x) for x in g.teams["live"]])),
    })


# ================================================================== people
def _people(g: _Gen) -> _People:
    rng = g.rngs["people"]
    n = g.spec.patients
    nbh, prac, lsoa = g.nbh, g.prac, g.lsoa
    nb = rng.choice(len(nbh), size=n, p=(nbh["pop"] / nbh["pop"].sum()).to_numpy())
    # practice within neighbourhood, weighted by list share
    pw = np.zeros((len(nbh), prac.groupby("nb").size().max()))
    pidx = np.full_like(pw, -1, dtype=np.int64)
    for i, grp in prac.groupby("nb"):
        pw[i, :len(grp)] = grp["w"].to_numpy()
        pidx[i, :len(grp)] = grp.index.to_numpy()
    pr = pidx[nb, _choice_keyed(rng, nb, pw)]
    # LSOA within neighbourhood (uniform); 0.5% unknown
    lw = np.zeros((len(nbh), lsoa.groupby("nb").size().max()))
    lidx = np.full_like(lw, -1, dtype=np.int64)
    for i, grp in lsoa.groupby("nb"):
        lw[i, :len(grp)] = 1.0
        lidx[i, :len(grp)] = grp.index.to_numpy()
    ls = lidx[nb, _choice_keyed(rng, nb, lw)]
    ls[rng.random(n) < 0.005] = -1
    q = np.where(ls >= 0, lsoa["quintile"].to_numpy()[np.maximum(ls, 0)], 0)
    loc = nbh["loc"].to_numpy()[nb]
    solihull = loc == LOCALITY_ORDER.index("Solihull")

    # ethnic group: locality mix tilted towards minority groups in deprived areas
    tilt = np.array([1.0, 1.3, 1.1, 0.9, 0.75, 0.6])  # by quintile (0 unknown)
    table = np.zeros((len(LOCALITY_ORDER) * 6, 5))
    for li, name in enumerate(LOCALITY_ORDER):
        mix = np.array(ETH_MIX[name])
        for qi in range(6):
            row = mix.copy()
            row[[0, 1, 2, 4]] *= tilt[qi]
            table[li * 6 + qi] = row
    # renormalise each locality so its overall mix stays on target
    for li, name in enumerate(LOCALITY_ORDER):
        m = loc == li
        if m.any():
            share = np.bincount(q[m], minlength=6) / m.sum()
            avg = (table[li * 6:li * 6 + 6] / table[li * 6:li * 6 + 6].sum(1, keepdims=True) * share[:, None]).sum(0)
            table[li * 6:li * 6 + 6] *= np.array(ETH_MIX[name]) / avg
    grp = _choice_keyed(rng, loc * 6 + q, table)
    eth = np.full(n, -1, dtype=np.int64)
    for gi, (codes, w_b, w_s) in _GROUP_CODES.items():
        for is_sol, w in ((False, w_b), (True, w_s)):
            m = (grp == gi) & (solihull == is_sol)
            pick = rng.choice(len(codes), size=int(m.sum()), p=np.array(w) / sum(w))
            eth[m] = np.array([ETH_CODES.index(c) for c in codes])[pick]
    u = rng.random(n)
    eth[u < NOT_STATED * 0.5] = ETH_CODES.index("Z")
    eth[(u >= NOT_STATED * 0.5) & (u < NOT_STATED * 0.7)] = ETH_CODES.index("99")
    eth[(u >= NOT_STATED * 0.7) & (u < NOT_STATED)] = -1
    grp = np.where(eth >= 0, np.array([_CODE_GROUP[c] for c in ETH_CODES])[np.maximum(eth, 0)], 5)

    # age: White people older; Solihull older still
    white = grp == 3
    key = np.where(solihull, 2, np.where(white, 1, 0))
    band = _choice_keyed(rng, key, np.vstack([AGE_YOUNG, AGE_OLD, AGE_SOLIHULL]))
    years = band * 5 + np.where(band == 18, rng.exponential(4.0, n).clip(0, 14), rng.random(n) * 5)
    birth_m = (np.datetime64(_date(g.ref), "M") - np.floor(years * 12).astype(np.int64)).astype("datetime64[D]")
    birth = birth_m.astype(np.int64)
    p_f = np.select([band >= 17, band >= 15, band >= 12], [0.63, 0.56, 0.51], 0.49)
    sex = (rng.random(n) >= p_f).astype(np.int8)

    # frailty / multimorbidity: heavy-tailed, worse with deprivation
    z = rng.gamma(0.7, 1 / 0.7, n) * np.array([1.05, 1.2, 1.08, 1.0, 0.92, 0.85])[q]
    # care-home residents (about 0.3% of all; most 85+)
    p_care = np.select([band >= 17, band >= 15, band >= 13, band >= 4], [0.05, 0.011, 0.0025, 0.0002], 0)
    care = np.where(rng.random(n) < p_care, np.where(rng.random(n) < 0.45 + 0.05 * (band >= 17), 2, 1), 0)

    # deaths: Gompertz hazard, scaled so ~0.7% of the list die each year
    age_ref = (g.ref - birth) / 365.25
    h = 0.11 * np.exp(0.095 * (np.maximum(age_ref, 0) - 85)) + 0.0003 + 0.003 * (age_ref < 1)
    # (not scaled by z: a closed list whose frailest die first would show falling demand everywhere)
    h = h * np.array([1.1, 1.25, 1.12, 1.0, 0.9, 0.82])[q] * np.where(care > 0, 4.0, 1.0)
    h = np.minimum(h * 0.0087 / h.mean(), 0.9)
    drng = g.rngs["death"]
    t = drng.exponential(1.0, n) / h * 365.25
    entry = np.maximum(g.start_d, birth)
    death = np.where(entry + t <= g.end_d, (entry + t).astype(np.int64), NO_DATE)
    exit_ = np.minimum(death, g.end_d)
    ids = pc.binary_join_element_wise(
        "P", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 7, padding="0"), "")
    return _People(ids=ids, prac=pr, loc=loc, nb=nb, lsoa=ls, q=q, eth=eth, grp=grp, sex=sex, birth=birth,
                   band=band, z=z, care=care, death=death, entry=entry, exit=exit_)


# ================================================================== event machinery
def _thin_events(rng: np.random.Generator, who: np.ndarray, rate: np.ndarray, entry: np.ndarray,
                 exit_: np.ndarray, factor: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Events of a Poisson process with intensity rate[i]*factor(person, day) over [entry, exit].

    Candidate events at the bounding rate `rate*fmax` are drawn per person, then kept with
    probability factor/fmax: exact for any time-varying factor, and fully vectorised.
    """
    span = np.maximum(exit_ - entry + 1, 0)
    n = rng.poisson(rate * fmax * span / 365.25)
    person = np.repeat(who, n)
    day = np.repeat(entry, n) + np.floor(rng.random(len(person)) * np.repeat(span, n)).astype(np.int64)
    keep = rng.random(len(person)) * fmax < factor(person, day)
    return person[keep], day[keep]


def _make_factor(g: _Gen, P: _People, season: np.ndarray, int_effect: bool, caseload: float | None,
                 ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Time factor: seasonality x trend x INT effect for the 65+ x caseload pre/post multipliers."""
    months = np.arange(g.n_months + 1)
    eff = np.ones((len(LOCALITY_ORDER), len(months)))
    if int_effect:
        for _code, _name, loc, live in LOCALITY_TEAMS:
            li = LOCALITY_ORDER.index(loc)
            m0 = (live.year - 2023) * 12 + live.month - 4
            ramp = np.clip((months - m0) / 6, 0, 1)
            eff[li] = 1 - (1 - INT_EFFECT[loc]) * ramp

    def factor(person: np.ndarray, day: np.ndarray) -> np.ndarray:
        mi = np.clip(_month_index(day), 0, g.n_months)
        f = season[_month_of_year(day)] * (1 + TREND * mi / 12)
        if int_effect:
            old = (day - P.birth[person]) >= 65 * 365.25
            f = f * np.where(old, eff[P.loc[person], mi], 1.0)
        if caseload is not None:
            s = g.first_start[person]
            f = f * np.where(day >= s, caseload, np.where(day >= s - 182, CASELOAD_PRE, 1.0))
        return f

    return factor


def _rate(P: _People, by_band: np.ndarray, who: np.ndarray | None = None) -> np.ndarray:
    """Per-person annual rate from an age-band table (age at the reference date)."""
    band = P.band if who is None else P.band[who]
    return by_band[band]


def _event_stream(g: _Gen, P: _People, rng_name: str, rate: np.ndarray, season: np.ndarray,
                  int_effect: bool, caseload_key: str | None, who: np.ndarray | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    who = np.arange(P.n) if who is None else who
    mult = None if caseload_key is None else CASELOAD_POST[caseload_key]
    fmax = float(season.max()) * (1 + TREND * g.n_months / 12) * (CASELOAD_PRE if mult else 1.0)
    fac = _make_factor(g, P, season, int_effect, mult)
    return _thin_events(g.rngs[rng_name], who, rate, P.entry[who], P.exit[who], fac, fmax)


# ================================================================== caseloads
def _caseloads(g: _Gen, P: _People) -> None:
    """Pilot cohort (fixed sizes, index dates in Q3 2023-24) plus continuous enrolment elsewhere."""
    rng = g.rngs["caseload"]
    prng = g.pilot_rng
    nb_of_team = dict(zip(g.teams["code"], g.teams["nb"], strict=True))
    age_ref = (g.ref - P.birth) / 365.25
    weight = (EMERGENCY[P.band] * IMD_EMERG[P.q] * P.z * np.where(P.care > 0, 1.8, 1.0)) ** 1.5
    weight = weight * (age_ref >= 18)
    taken = np.zeros(P.n, bool)
    rows: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []  # (person, team, start, end)

    # ---- pilot: alive well past the post window, adults, weighted to high users
    safe = _d(date(2024, 8, 1))
    pilot_people, pilot_index, pilot_team = [], [], []
    for code in PILOT_TEAMS:
        k = PILOT_COHORT_SIZE[code]
        cand = np.flatnonzero((P.nb == nb_of_team[code]) & (P.death > safe) & (age_ref >= 40) & ~taken)
        w = weight[cand] * (1 + 2 * (age_ref[cand] >= 65))
        chosen = np.sort(rng.choice(cand, size=k, replace=False, p=w / w.sum()))
        taken[chosen] = True
        # index dates: enrolment builds up over the quarter (size-independent stream)
        span = _d(PILOT_INDEX_LAST) - _d(PILOT_GO_LIVE) + 1
        offs = np.floor(prng.beta(1.3, 1.0, k) * span).astype(np.int64)
        idx = _d(PILOT_GO_LIVE) + prng.permutation(offs)
        pilot_people.append(chosen)
        pilot_index.append(idx)
        pilot_team.append(np.full(k, code))
        # most leave after 3-10 months; a few re-join the same team later
        leave = idx + prng.integers(90, 300, k)
        open_ = prng.random(k) < 0.35
        end = np.where(open_ | (leave > g.end_d), NO_DATE, leave)
        end = np.where((P.death[chosen] < NO_DATE) & (end >= P.death[chosen]), P.death[chosen], end)
        rows.append((chosen, code, idx, end))
        rejoin = (~open_) & (end < NO_DATE) & (prng.random(k) < 0.06)
        r_start = end + prng.integers(60, 200, k)
        rejoin &= (r_start <= g.end_d) & (r_start < P.death[chosen])
        rows.append((chosen[rejoin], code, r_start[rejoin], np.full(int(rejoin.sum()), NO_DATE)))
    g.pilot = pd.DataFrame({
        "person": np.concatenate(pilot_people), "index": np.concatenate(pilot_index),
        "team": np.concatenate(pilot_team)})

    # ---- background enrolment: every team after go-live (pilot teams from January 2024)
    lo, hi = g.spec.enrol_per_month
    for _, t in g.teams.iterrows():
        first = _d(t["live"]) if t["code"] not in PILOT_TEAMS else _d(date(2024, 1, 1))
        if first > g.end_d:
            continue
        months = (g.end_d - first + 1) / 30.44
        k = rng.poisson(rng.uniform(lo, hi) * months)
        cand = np.flatnonzero((P.nb == t["nb"]) & ~taken & (P.death > first + 30) & (weight > 0))
        k = min(k, len(cand) // 3)
        if k == 0:
            continue
        chosen = rng.choice(cand, size=k, replace=False, p=weight[cand] / weight[cand].sum())
        taken[chosen] = True
        last = np.minimum(P.death[chosen] - 1, g.end_d)
        start = first + np.floor(rng.random(k) * (last - first + 1)).astype(np.int64)
        leave = start + rng.integers(60, 365, k)
        open_ = rng.random(k) < 0.45
        end = np.where(open_ | (leave > g.end_d), NO_DATE, leave)
        died = (P.death[chosen] < NO_DATE) & (P.death[chosen] <= np.minimum(end, g.end_d))
        end = np.where(died, P.death[chosen], end)
        rows.append((chosen, t["code"], start, end))
        rejoin = (end < NO_DATE) & ~died & (rng.random(k) < 0.08)
        r_start = end + rng.integers(30, 200, k)
        rejoin &= (r_start <= g.end_d) & (r_start < P.death[chosen])
        rows.append((chosen[rejoin], t["code"], r_start[rejoin], np.full(int(rejoin.sum()), NO_DATE)))

    person = np.concatenate([r[0] for r in rows])
    team = np.concatenate([np.full(len(r[0]), r[1]) for r in rows])
    start = np.concatenate([r[2] for r in rows]).astype(np.int64)
    end = np.concatenate([r[3] for r in rows]).astype(np.int64)
    order = np.lexsort((person, start))
    person, team, start, end = person[order], team[order], start[order], end[order]
    g.caseload = pd.DataFrame({"person": person, "team": team, "start": start, "end": end})
    first_start = np.full(P.n, NO_DATE, dtype=np.int64)
    np.minimum.at(first_start, person, start)
    g.first_start = first_start
    g.frames["int_caseload"] = pd.DataFrame({
        "patient_id": _take(P.ids, person),
        "int_team_code": _str(team),
        "start_date": _dates(start),
        "end_date": _dates(np.minimum(end, g.end_d), mask=end >= NO_DATE),
    })


# ================================================================== pilot activity
def _pilot_activity(g: _Gen, P: _People) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Scripted pre/post activity for the pilot cohort: totals equal PLAN_PREPOST exactly.

    Returns activity -> (person, day, flag) where flag is 1 for GP DNAs / elective spells.
    Events keep 3 days clear of the outer window edges, so month arithmetic that differs by a day
    between implementations cannot move an event across a boundary.
    """
    rng = g.pilot_rng
    out: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {a: [] for a in ACTIVITIES}
    windows = []
    for code, row in PILOT_TEAMS.items():
        cohort = g.pilot[g.pilot["team"] == code].reset_index(drop=True)
        k = len(cohort)
        idx = cohort["index"].to_numpy()
        pre_lo = np.array([_d(add_months(_date(d), -PREPOST_MONTHS)) for d in idx]) + 3
        post_hi = np.array([_d(add_months(_date(d), PREPOST_MONTHS)) for d in idx]) - 4
        windows.append((cohort["person"].to_numpy(), pre_lo - 10, post_hi + 11))
        propensity = rng.gamma(2.0, 0.5, k)
        for act in ACTIVITIES:
            for phase, lo, hi in (("pre", pre_lo, idx - 1), ("post", idx, post_hi)):
                total = PLAN_PREPOST[(row, phase, act)]
                w = propensity ** (1.0 if phase == "pre" else 0.8) * rng.gamma(3.0, 1 / 3, k)
                counts = rng.multinomial(total, w / w.sum())
                who = np.repeat(np.arange(k), counts)
                day = lo[who] + np.floor(rng.random(len(who)) * (hi[who] - lo[who] + 1)).astype(np.int64)
                flag = np.zeros(len(who), np.int8)
                if act == "inpatient_spells":
                    flag = (rng.random(len(who)) < 0.15).astype(np.int8)  # elective
                out[act].append((cohort["person"].to_numpy()[who], day, flag))
                if act == "gp_appointments":  # DNAs exist but are not counted
                    dna = rng.poisson(0.07 * counts)
                    who = np.repeat(np.arange(k), dna)
                    day = lo[who] + np.floor(rng.random(len(who)) * (hi[who] - lo[who] + 1)).astype(np.int64)
                    out[act].append((cohort["person"].to_numpy()[who], day, np.ones(len(who), np.int8)))
    person = np.concatenate([w[0] for w in windows])
    g.pilot_window = (person, np.concatenate([w[1] for w in windows]), np.concatenate([w[2] for w in windows]))
    return {a: (np.concatenate([x[0] for x in v]), np.concatenate([x[1] for x in v]), np.concatenate([x[2] for x in v]))
            for a, v in out.items()}


def _drop_pilot_windows(g: _Gen, P: _People, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Mask of background events to keep: none for a pilot person inside their windows."""
    lo = np.full(P.n, NO_DATE, dtype=np.int64)
    hi = np.full(P.n, -NO_DATE, dtype=np.int64)
    pp, plo, phi = g.pilot_window
    lo[pp], hi[pp] = plo, phi
    return ~((day >= lo[person]) & (day <= hi[person]))


# ================================================================== patient-level tables
def _care_home_admissions(g: _Gen, P: _People) -> None:
    rng = g.rngs["carehome"]
    who = np.flatnonzero(P.care == 0)
    rate = CARE_HOME_PERM[P.band[who]] * np.sqrt(P.z[who]) * 2.3
    perm_p, perm_d = _event_stream(g, P, "carehome", rate, SEASON_FLAT, False, None, who)
    # one permanent admission per person at most
    first = np.unique(perm_p, return_index=True)[1]
    perm_p, perm_d = perm_p[first], perm_d[first]
    resp_p, resp_d = _event_stream(g, P, "carehome", rate * 0.9, SEASON_FLAT, False, None, who)
    person = np.concatenate([perm_p, resp_p])
    day = np.concatenate([perm_d, resp_d])
    permanent = np.concatenate([np.ones(len(perm_p), bool), np.zeros(len(resp_p), bool)])
    age = P.age_at(person, day)
    nursing = rng.random(len(person)) < 0.30 + 0.15 * (age >= 85)
    order = np.lexsort((person, day))
    person, day, permanent, nursing = person[order], day[order], permanent[order], nursing[order]
    g.frames["care_home_admission"] = pd.DataFrame({
        "admission_id": _ids("H", len(person)),
        "patient_id": _take(P.ids, person),
        "admission_date": _dates(day),
        "setting": _cat(nursing.astype(int), ("residential", "nursing")),
        "permanent": _bool(permanent),
        "local_authority": _cat(P.loc[person] == 5, ("Birmingham", "Solihull")),
    })
    # care-home residence from now on; the spine shows the latest setting
    since = np.where(P.care > 0, g.start_d - 3650, NO_DATE)
    pm = permanent
    since[person[pm]] = day[pm]
    care = P.care.copy()
    care[person[pm]] = np.where(nursing[pm], 2, 1)
    g.care_since, g.care_final = since, care


def _deaths(g: _Gen, P: _People) -> None:
    rng = g.rngs["death"]
    person = np.flatnonzero(P.death < NO_DATE)
    day = P.death[person]
    age = P.age_at(person, day)
    resident = g.care_since[person] <= day
    old = age >= 65
    cause = np.where(old, _pick(rng, DEATH_CAUSE_OLD, len(person)), _pick(rng, DEATH_CAUSE_YOUNG, len(person)))
    cancer = np.asarray(cause, dtype="U5").astype("U1") == "C"
    dementia = np.isin(cause, ["F03X", "G309"])
    years = (day - g.start_d) / 365.25
    p_pall = np.where(cancer, 0.75, np.where(dementia, 0.5, 0.25)) + 0.02 * years
    pall = rng.random(len(person)) < p_pall
    eol = rng.random(len(person)) < np.where(pall, 0.78, 0.18)
    # place: hospital, home, care_home, hospice, religious_establishment, other
    probs = np.zeros((len(person), 6))
    probs[:] = [0.60, 0.30, 0.05, 0.01, 0.002, 0.038]
    probs[age >= 80] = [0.50, 0.20, 0.25, 0.01, 0.002, 0.038]  # incl. self-funded residents
    probs[pall & ~resident] = [0.40, 0.40, 0.08, 0.09, 0.002, 0.028]
    probs[resident] = [0.24, 0.0, 0.74, 0.01, 0.0, 0.01]
    probs[:, 0] *= np.clip(1 - 0.025 * years, 0.9, 1)  # slowly fewer hospital deaths
    place = _choice_by_row(rng, probs)
    g.death_place = np.full(P.n, -1)
    g.death_place[person] = place
    g.hosp_deaths = (person[place == 0], day[place == 0], cause[place == 0])
    order = np.lexsort((person, day))
    g.frames["death"] = pd.DataFrame({
        "patient_id": _take(P.ids, person[order]),
        "date_of_death": _dates(day[order]),
        "place_of_death": _cat(place[order], ("hospital", "home", "care_home", "hospice",
                                              "religious_establishment", "other")),
        "underlying_cause": _str(cause[order]),
        "on_palliative_register": _bool(pall[order]),
        "eol_care_plan": _bool(eol[order]),
    })


def _spell_diagnoses(rng: np.random.Generator, P: _People, person: np.ndarray, day: np.ndarray,
                     emergency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primary diagnosis and external cause: ACSC, falls and other injuries in realistic shares."""
    n = len(person)
    age = P.age_at(person, day)
    q = P.q[person]
    child, old, very_old = age < 19, age >= 65, age >= 80
    p_acsc = np.select([child, very_old, old], [0.08, 0.095, 0.09], 0.045) * IMD_ACSC[q]
    p_fall = np.select([child, very_old, old], [0.03, 0.12, 0.064], 0.022) * IMD_FALL[q]
    p_inj = np.select([child, old], [0.08, 0.01], 0.045)
    u = rng.random(n)
    kind = np.select([u < p_acsc, u < p_acsc + p_fall, u < p_acsc + p_fall + p_inj], [1, 2, 3], 0)
    kind = np.where(emergency, kind, 4)
    dx = np.empty(n, dtype=object)
    cause = np.full(n, None, dtype=object)
    m = (kind == 1) & child
    dx[m] = _pick(rng, ACSC_CHILD, int(m.sum()))
    m = (kind == 1) & ~child
    dx[m] = _pick(rng, ACSC_ADULT, int(m.sum()))
    m = kind == 2
    dx[m] = _pick(rng, FALL_INJURY, int(m.sum()))
    cause[m] = _pick(rng, FALL_CAUSE, int(m.sum()))
    m = kind == 3
    dx[m] = _pick(rng, OTHER_INJURY, int(m.sum()))
    cause[m] = np.where(rng.random(int(m.sum())) < 0.85, _pick(rng, OTHER_CAUSE, int(m.sum())),
                        np.array(None, dtype=object))
    m = (kind == 0) & child
    dx[m] = _pick(rng, MEDICAL_CHILD, int(m.sum()))
    m = (kind == 0) & ~child
    dx[m] = _pick(rng, MEDICAL_ADULT, int(m.sum()))
    m = kind == 4
    dx[m] = _pick(rng, ELECTIVE_DX, int(m.sum()))
    return dx, cause


def _spells(g: _Gen, P: _People, pilot: dict) -> None:
    rng = g.rngs["spell"]
    ar = g.rngs["attr"]
    base = P.z * IMD_EMERG[P.q] * np.where(P.care > 0, 1.8, 1.0)
    em_p, em_d = _event_stream(g, P, "spell", EMERGENCY[P.band] * base, SEASON_EMERG, True, "spell")
    el_p, el_d = _event_stream(g, P, "spell", ELECTIVE[P.band] * np.sqrt(P.z), SEASON_FLAT, False, "spell")
    fem = np.flatnonzero((P.sex == 0) & (P.band >= 3) & (P.band <= 8))
    mat_rate = np.array([0, 0, 0, 0.015, 0.05, 0.08, 0.09, 0.06, 0.02])[P.band[fem]]
    ma_p, ma_d = _event_stream(g, P, "spell", mat_rate, SEASON_FLAT, False, None, fem)
    hd_p, hd_d, _hd_c = g.hosp_deaths
    los_term = np.minimum(rng.geometric(1 / 8, len(hd_p)) - 1, 45)
    hd_adm = np.maximum(hd_d - los_term, P.entry[hd_p])
    # categories: 0 emergency, 1 elective, 2 maternity, 3 terminal (death in hospital)
    person = np.concatenate([em_p, el_p, ma_p, hd_p])
    day = np.concatenate([em_d, el_d, ma_d, hd_adm])
    cat = np.concatenate([np.zeros(len(em_p)), np.ones(len(el_p)), np.full(len(ma_p), 2),
                          np.full(len(hd_p), 3)]).astype(np.int8)
    keep = _drop_pilot_windows(g, P, person, day)
    pp, pd_, pf = pilot["inpatient_spells"]
    person = np.concatenate([person[keep], pp])
    day = np.concatenate([day[keep], pd_])
    cat = np.concatenate([cat[keep], pf.astype(np.int8)])  # pilot: 0 emergency / 1 elective
    n = len(person)
    age = P.age_at(person, day)

    emergency = (cat == 0) | (cat == 3)
    dx, cause = _spell_diagnoses(ar, P, person, day, emergency)
    m = cat == 2
    dx[m] = _pick(ar, MATERNITY_DX, int(m.sum()))
    m = cat == 3
    dx[m] = np.where(ar.random(int(m.sum())) < 0.5, _pick(ar, MEDICAL_ADULT, int(m.sum())), "J189")
    cause[m] = None

    method = np.empty(n, dtype=object)
    em_codes = (("21", .78), ("22", .06), ("23", .02), ("24", .03), ("25", .005), ("2A", .04),
                ("2B", .02), ("2D", .025), ("28", .02))
    method[emergency] = _pick(ar, em_codes, int(emergency.sum()))
    m = cat == 1
    method[m] = _pick(ar, (("11", .45), ("12", .45), ("13", .08), ("81", .02)), int(m.sum()))
    m = cat == 2
    method[m] = _pick(ar, (("31", .9), ("32", .1)), int(m.sum()))

    # length of stay: day cases for most electives; longer for older emergency patients
    mean_los = np.select([age >= 80, age >= 65, age >= 19], [9.0, 6.5, 3.5], 2.0)
    los = np.where(ar.random(n) < 0.28, 0, np.floor(ar.exponential(mean_los)).astype(np.int64) + 1)
    hip = np.isin(dx, ["S720", "S721", "S722"])
    los = np.where(hip, los + 8, los)
    los = np.where(cat == 1, np.where(ar.random(n) < 0.72, 0, ar.geometric(1 / 3.5, n)), los)
    los = np.where(cat == 2, ar.geometric(1 / 2.0, n) - 1, los)
    old = age >= 65
    probs = np.where(old[:, None], [0.78, 0.14, 0.05, 0.03], [0.965, 0.025, 0.007, 0.003])
    probs = np.where((cat == 1)[:, None], [0.99, 0.008, 0.002, 0.0], probs)
    pathway = _choice_by_row(ar, probs)
    years = (day - g.start_d) / 365.25
    mean_delay = np.array([0.15, 2.6, 5.0, 6.5])[pathway] * np.clip(1 - 0.08 * years, 0.7, 1)
    delay = np.floor(ar.exponential(np.maximum(mean_delay, 0.01))).astype(np.int64)
    los = np.where(pathway > 0, np.maximum(los, 2), los)
    ready = day + los  # clinically ready; discharge waits `delay` days for the pathway
    discharge = ready + delay
    is_term = cat == 3
    term_day = np.zeros(n, np.int64)
    term_day[is_term] = P.death[person[is_term]]
    discharge = np.where(is_term, term_day, discharge)
    # people who die during a stay are discharged on the day they die
    discharge = np.minimum(discharge, P.death[person])
    open_ = discharge > g.end_d
    adult = age >= 18
    died = discharge >= P.death[person]

    drd = np.minimum(ready, discharge)
    no_pathway = open_ | ~adult | died | (cat == 2)
    drd_missing = open_ | died | (ar.random(n) < 0.03)

    from_ch = g.care_since[person] <= day
    order = np.lexsort((person, day))
    def o(a: np.ndarray) -> np.ndarray:  # noqa: E306
        return a[order]
    g.spell_arrays = {"person": o(person), "day": o(day), "discharge": o(discharge), "open": o(open_),
                      "pathway": o(np.where(no_pathway, -1, pathway)), "emergency": o(emergency),
                      "died": o(died)}
    coding = _spell_coding(g, o(age), o(dx), o(method), o(cat), o(los), o(from_ch))
    g.frames["inpatient_spell"] = pd.DataFrame({
        "spell_id": _ids("S", n),
        "patient_id": _take(P.ids, o(person)),
        "admission_date": _dates(o(day)),
        "discharge_date": _dates(o(discharge), mask=o(open_)),
        "admission_method": _str(o(method)),
        "primary_diagnosis": _str(coding.pop("primary_diagnosis")),
        "cause_code": _str(o(cause), mask=o(pd.isna(cause))),
        "discharge_ready_date": _dates(o(drd), mask=o(drd_missing)),
        "discharge_pathway": _int(o(np.where(no_pathway, 0, pathway)), mask=o(no_pathway)),
        "admitted_from_care_home": _bool(o(from_ch)),
        **coding,
    })


# Secondary diagnoses (comorbidities) and procedures, as (codes, weight); "" = none recorded.
SECONDARY_POOL = (("", .42), ("I10X", .12), ("E119", .06), ("E119 I10X", .06), ("J449", .05),
                  ("J449 I10X", .03), ("I48X I10X", .04), ("N183 I10X E119", .04), ("F03X", .03),
                  ("Z867 I10X", .04), ("J450", .04), ("I252 Z955", .03), ("J441 Z720", .02), ("D570", .01),
                  ("E669 I10X J449", .01))
EMERGENCY_PROCEDURES = (("", .62), ("U051", .08), ("U071", .05), ("X292", .04), ("K634", .04),
                        ("K491 K634", .02), ("K571", .01), ("E856", .03), ("G451", .04), ("H229", .03),
                        ("X403", .01), ("Y534 U212", .03))
ELECTIVE_PROCEDURES = (("H229", .15), ("G451", .12), ("W371 Z756", .06), ("W401", .05), ("T202", .06),
                       ("C751", .1), ("M459", .08), ("K634", .05), ("X292", .08), ("S062", .1), ("", .15))


def _spell_coding(g: _Gen, age: np.ndarray, dx: np.ndarray, method: np.ndarray, cat: np.ndarray,
                  los: np.ndarray, from_ch: np.ndarray) -> dict[str, pd.Series]:
    """APC coding for spells in sorted order: patient classification, admission source,
    secondary diagnoses and procedures (and a primary of J20 acute bronchitis for some chest
    infections), drawn from their own stream so the other tables stay as they were."""
    rng = np.random.default_rng(np.random.SeedSequence([g.seed, 9004, 0 if g.size == "small" else 1]))
    n = len(dx)
    emergency = np.isin(method, EMERGENCY_ADMISSION_METHODS)
    # classification: elective same-day stays are day cases (a few regular day attenders);
    # maternity delivery-only stays are 5; emergencies are ordinary admissions
    cls = np.ones(n, np.int64)
    day_case = (cat == 1) & (los == 0)
    cls[day_case] = np.where(rng.random(int(day_case.sum())) < 0.96, 2, 3)
    m = (cat == 2) & (los == 0)
    cls[m] = np.where(rng.random(int(m.sum())) < 0.5, 5, 1)
    # source: 19 usual residence; 51 transfer from another provider's ward (and method 2B);
    # 52/53 maternity/psychiatric transfers; 85 care home
    source = np.full(n, "19", dtype=object)
    u = rng.random(n)
    source[u < 0.035] = "51"
    source[(u >= 0.035) & (u < 0.040)] = "53"
    source[(cat == 2) & (u < 0.02)] = "52"
    source[method == "2B"] = "51"
    source[from_ch] = "85"
    missing = rng.random(n) < 0.005  # not recorded
    # chest infections in adults 40+ coded as J20 acute bronchitis, some with COPD
    bronchitis = (dx == "J22X") & (age >= 40) & (rng.random(n) < 0.5)
    primary = np.where(bronchitis, "J209", dx)
    sec = _pick(rng, SECONDARY_POOL, n)
    sec = np.where(bronchitis & (rng.random(n) < 0.4), "J449 I10X", sec)
    sec = np.where(age < 18, np.where(rng.random(n) < 0.2, "J450", ""), sec)
    proc = np.where(emergency, _pick(rng, EMERGENCY_PROCEDURES, n), _pick(rng, ELECTIVE_PROCEDURES, n))
    proc = np.where(cat >= 2, "", proc)
    return {
        "primary_diagnosis": primary,
        "patient_classification": _int(cls, mask=missing),
        "admission_source": _str(source, mask=missing),
        "secondary_diagnoses": _str(sec, mask=sec == ""),
        "procedure_codes": _str(proc, mask=proc == ""),
    }


def _ae(g: _Gen, P: _People, pilot: dict) -> None:
    ar = g.rngs["attr"]
    base = P.z ** 0.8 * IMD_AE[P.q] * np.where(P.care > 0, 1.5, 1.0)
    streams = []
    for dept_code, table, eff in (("01", AE_TYPE1, True), ("03", AE_TYPE3, False)):
        p, d = _event_stream(g, P, "ae", table[P.band] * base, SEASON_AE, eff, "ae")
        streams.append((p, d, np.full(len(p), dept_code)))
    p, d = _event_stream(g, P, "ae", np.full(P.n, 0.025), SEASON_AE, False, "ae")
    streams.append((p, d, np.where(ar.random(len(p)) < 0.6, "02", "04")))
    person = np.concatenate([s[0] for s in streams])
    day = np.concatenate([s[1] for s in streams])
    dept = np.concatenate([s[2] for s in streams])
    keep = _drop_pilot_windows(g, P, person, day)
    pp, pd_, _ = pilot["ae_attendances"]
    person = np.concatenate([person[keep], pp])
    day = np.concatenate([day[keep], pd_])
    dept = np.concatenate([dept[keep], np.where(ar.random(len(pp)) < 0.9, "01", "03")])
    n = len(person)
    hours = np.array([1.5, 1.2, 1, 0.8, 0.7, 0.7, 0.9, 1.6, 3, 4.2, 4.6, 4.8, 4.8, 4.7, 4.6, 4.6, 4.7, 4.9,
                      5, 4.8, 4.3, 3.6, 2.9, 2.2])
    utc_hours = np.where((np.arange(24) >= 8) & (np.arange(24) < 22), hours, 0.05)
    h = np.where(dept == "03", ar.choice(24, n, p=utc_hours / utc_hours.sum()),
                 ar.choice(24, n, p=hours / hours.sum()))
    secs = day * 86400 + h * 3600 + ar.integers(0, 3600, n)
    age = P.age_at(person, day)
    p_wound = np.select([dept == "03", dept == "04", dept == "01"], [0.09, 0.10, 0.03], 0.0)
    p_wound = p_wound * np.where(age >= 65, 1.4, 1.0)
    wound = ar.random(n) < p_wound
    order = np.lexsort((person, secs))
    g.frames["ae_attendance"] = pd.DataFrame({
        "attendance_id": _ids("A", n),
        "patient_id": _take(P.ids, person[order]),
        "arrival_datetime": _datetimes(secs[order]),
        "department_type": _str(dept[order]),
        "wound_care": _bool(wound[order]),
    })


def _community(g: _Gen, P: _People, pilot: dict) -> None:
    ar = g.rngs["attr"]
    op_p, op_d = _event_stream(g, P, "community", OUTPATIENT[P.band] * np.sqrt(P.z), SEASON_FLAT, False,
                               "community")
    cc_p, cc_d = _event_stream(g, P, "community", COMMUNITY[P.band] * P.z * np.where(P.care > 0, 2.0, 1.0),
                               SEASON_FLAT, False, "community")
    person = np.concatenate([op_p, cc_p])
    day = np.concatenate([op_d, cc_d])
    setting = np.concatenate([np.zeros(len(op_p), np.int8), np.ones(len(cc_p), np.int8)])
    keep = _drop_pilot_windows(g, P, person, day)
    pp, pd_, _ = pilot["op_community_contacts"]
    person = np.concatenate([person[keep], pp])
    day = np.concatenate([day[keep], pd_])
    setting = np.concatenate([setting[keep], (ar.random(len(pp)) < 0.6).astype(np.int8)])
    n = len(person)
    age = P.age_at(person, day)
    agegrp = np.select([age < 5, age < 16, age >= 65], [0, 1, 3], 2)
    op_tab = np.array([  # rows: under 5, 5-15, adult, 65+ ; columns: OP_SERVICES
        [0, 0, 0.02, 0.03, 0.03, 0, 0, 0, 0, 0.1, 0, 0, 0.82, 0],
        [0, 0.08, 0.05, 0.03, 0.06, 0.02, 0.03, 0.02, 0.01, 0.1, 0, 0, 0.6, 0],
        [0.1, 0.14, 0.08, 0.1, 0.08, 0.05, 0.05, 0.09, 0.05, 0.06, 0, 0.1, 0, 0.1],
        [0.2, 0.14, 0.2, 0.08, 0.07, 0.08, 0.05, 0.06, 0.06, 0.03, 0.03, 0.0, 0, 0]])
    cc_tab = np.array([  # columns: COMMUNITY_SERVICES
        [0, 0, 0.05, 0, 0, 0, 0, 0, 0.1, 0.85, 0, 0],
        [0, 0, 0.1, 0.02, 0, 0.05, 0, 0, 0.25, 0, 0.55, 0.03],
        [0.2, 0.05, 0.3, 0.1, 0.05, 0.05, 0.02, 0.05, 0.05, 0, 0, 0.13],
        [0.45, 0.08, 0.1, 0.09, 0.06, 0.05, 0.04, 0.04, 0.02, 0, 0, 0.07]])
    svc = np.where(setting == 0, _choice_keyed(ar, agegrp, op_tab),
                   _choice_keyed(ar, agegrp, cc_tab) + len(OP_SERVICES))
    order = np.lexsort((person, day))
    g.frames["community_contact"] = pd.DataFrame({
        "contact_id": _ids("C", n),
        "patient_id": _take(P.ids, person[order]),
        "contact_date": _dates(day[order]),
        "setting": _cat(setting[order], ("outpatient", "community")),
        "service": _cat(svc[order], OP_SERVICES + COMMUNITY_SERVICES),
    })


def _packages(g: _Gen, P: _People, pilot: dict) -> None:
    ar = g.rngs["attr"]
    rate = PACKAGES[P.band] * P.z * IMD_EMERG[P.q] * (P.care == 0)
    person, day = _event_stream(g, P, "package", rate, SEASON_FLAT, False, "package")
    keep = _drop_pilot_windows(g, P, person, day)
    pp, pd_, _ = pilot["care_packages"]
    person = np.concatenate([person[keep], pp])
    day = np.concatenate([day[keep], pd_])
    n = len(person)
    old = P.age_at(person, day) >= 65
    ptype = np.where(old, _choice_keyed(ar, np.zeros(n, np.int64), np.array([[0.5, 0.07, 0.1, 0.25, 0.08]])),
                     _choice_keyed(ar, np.zeros(n, np.int64), np.array([[0.3, 0.15, 0.35, 0.08, 0.12]])))
    mean_dur = np.array([300, 400, 700, 28, 120])[ptype]
    dur = np.where(ptype == 3, ar.integers(14, 43, n), np.floor(ar.exponential(mean_dur)).astype(np.int64) + 7)
    end = np.minimum(day + dur, P.death[person])
    open_ = end > g.end_d
    order = np.lexsort((person, day))
    g.frames["social_care_package"] = pd.DataFrame({
        "package_id": _ids("K", n),
        "patient_id": _take(P.ids, person[order]),
        "start_date": _dates(day[order]),
        "end_date": _dates(end[order], mask=open_[order]),
        "package_type": _cat(ptype[order], ("home_care", "day_care", "direct_payment", "reablement", "other")),
        "local_authority": _cat((P.loc[person] == 5)[order], ("Birmingham", "Solihull")),
    })


def _ucr(g: _Gen, P: _People) -> None:
    ar = g.rngs["attr"]
    rate = UCR[P.band] * P.z * np.where(P.care > 0, 2.0, 1.0)
    person, day = _event_stream(g, P, "ucr", rate, SEASON_EMERG, False, None)
    n = len(person)
    inhours = ar.random(n) < 0.86
    hour = np.where(inhours, ar.integers(8, 20, n), ar.choice([0, 1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23], n))
    ref = day * 86400 + hour * 3600 + ar.integers(0, 3600, n)
    eligible = inhours & (ar.random(n) < 0.82)
    months = _month_index(day)
    loc = P.loc[person]
    live = np.array([(d.year - 2023) * 12 + d.month - 4 for *_x, d in LOCALITY_TEAMS])
    uplift = np.array([0.10 if name in ("East", "West") else 0.06 for _c, _n, name, _l in LOCALITY_TEAMS])
    team_of_loc = np.array([[i for i, t in enumerate(LOCALITY_TEAMS) if t[2] == loc_][0] for loc_ in LOCALITY_ORDER])
    ramp = np.clip((months - live[team_of_loc[loc]]) / 6, 0, 1)
    p_2h = np.clip(0.80 + 0.02 * months / 12, 0, 0.95)
    within = ar.random(n) < p_2h
    mins = np.where(eligible, np.where(within, ar.integers(15, 120, n), ar.integers(121, 420, n)),
                    ar.integers(120, 2880, n))
    no_contact = ar.random(n) < 0.03
    first = ref + mins * 60
    p_home = 0.72 + uplift[team_of_loc[loc]] * ramp
    u = ar.random(n)
    rest = (1 - p_home)
    outcome = np.select([u < p_home, u < p_home + rest * 0.4, u < p_home + rest * 0.8, u < p_home + rest * 0.93],
                        [0, 1, 2, 3], 4)
    outcome = np.where(no_contact, np.where(ar.random(n) < 0.5, 3, 4), outcome)
    first = np.where(first > (g.end_d + 1) * 86400 - 1, (g.end_d + 1) * 86400 - 60, first)
    first = np.maximum(first, ref)
    order = np.lexsort((person, ref))
    g.frames["ucr_referral"] = pd.DataFrame({
        "referral_id": _ids("U", n),
        "patient_id": _take(P.ids, person[order]),
        "referral_datetime": _datetimes(ref[order]),
        "first_contact_datetime": _datetimes(first[order], mask=no_contact[order]),
        "two_hour_eligible": _bool(eligible[order]),
        "outcome": _cat(outcome[order], ("managed_at_home", "conveyed", "admitted", "other", "unknown")),
    })


def _gp_patient(g: _Gen, P: _People, pilot: dict) -> None:
    ar = g.rngs["attr"]
    who = np.unique(g.caseload["person"].to_numpy())
    rate = GP_CASELOAD[P.band[who]] * P.z[who] ** 0.6
    person, day = _event_stream(g, P, "gp", rate, SEASON_FLAT, False, "gp", who)
    keep = _drop_pilot_windows(g, P, person, day)
    person, day = person[keep], day[keep]
    status = np.select([ar.random(len(person)) < 0.06, ar.random(len(person)) < 0.01], [1, 2], 0)
    pp, pd_, pf = pilot["gp_appointments"]
    person = np.concatenate([person, pp])
    day = np.concatenate([day, pd_])
    status = np.concatenate([status, pf.astype(np.int64)])
    order = np.lexsort((person, day))
    g.frames["gp_appointment"] = pd.DataFrame({
        "appointment_id": _ids("G", len(person)),
        "patient_id": _take(P.ids, person[order]),
        "appointment_date": _dates(day[order]),
        "status": _cat(status[order], ("attended", "dna", "unknown")),
    })


def _reablement(g: _Gen, P: _People) -> None:
    rng = g.rngs["reab"]
    s = g.spell_arrays
    person, day = s["person"], s["discharge"]
    age = P.age_at(person, day)
    ok = s["emergency"] & ~s["open"] & ~s["died"] & (age >= 65)
    p = np.select([s["pathway"] == 1, s["pathway"] == 2], [0.4, 0.3], 0.0)
    pick = ok & (rng.random(len(person)) < p)
    person, day, pw = person[pick], day[pick], s["pathway"][pick]
    key = person * 100_000 + (day - g.start_d)
    _, first = np.unique(key, return_index=True)
    person, day, pw = person[first], day[first], pw[first]
    n = len(person)
    service = np.where(pw == 1, (rng.random(n) < 0.2).astype(int), (rng.random(n) < 0.75).astype(int))
    status = _choice_keyed(rng, np.zeros(n, np.int64), np.array([[0.82, 0.075, 0.065, 0.0, 0.04]]))
    status = np.where(P.death[person] <= day + 91, 3, status)
    status = np.where((day + 91 > g.end_d) & (status != 3), 4, status)
    order = np.lexsort((person, day))
    g.frames["reablement_discharge"] = pd.DataFrame({
        "patient_id": _take(P.ids, person[order]),
        "hospital_discharge_date": _dates(day[order]),
        "service": _cat(service[order], ("reablement", "rehabilitation")),
        "status_91_days": _cat(status[order], ("at_home", "hospital", "care_home", "died", "unknown")),
    })


def _patient_table(g: _Gen, P: _People) -> None:
    care = g.care_final
    g.frames["patient"] = pd.DataFrame({
        "patient_id": pd.Series(P.ids, dtype=pd.StringDtype()),
        "practice_code": _take(pa.array(g.prac["code"].to_numpy(), type=pa.string()), P.prac),
        "lsoa_code": _cat(np.maximum(P.lsoa, 0), list(g.lsoa["code"]), mask=P.lsoa < 0),
        "sex": _cat(P.sex, ("F", "M")),
        "birth_month": _dates(P.birth),
        "ethnic_category": _cat(np.maximum(P.eth, 0), list(ETH_CODES), mask=P.eth < 0),
        "care_home": _cat(np.maximum(care - 1, 0), ("residential", "nursing"), mask=care == 0),
        "date_of_death": _dates(np.minimum(P.death, g.end_d), mask=P.death >= NO_DATE),
    })


# ================================================================== snapshots
def _snapshot_days(g: _Gen) -> list[int]:
    out, d = [], date(2023, 6, 30)
    while d <= g.end:
        out.append(_d(d))
        d = add_months(date(d.year, d.month, 1), 4) - timedelta(days=1)
    return out


def _true_prevalence(g: _Gen, P: _People) -> tuple[np.ndarray, np.ndarray]:
    """Per-person probability of (true) hypertension and diabetes at the reference date."""
    age = (g.ref - P.birth) / 365.25
    htn = np.interp(age, [17, 25, 35, 45, 55, 65, 75, 85], [0.0, 0.02, 0.05, 0.12, 0.25, 0.40, 0.55, 0.65])
    htn = htn * np.array([1.1, 1.35, 1.0, 1.0, 1.0, 1.0])[P.grp] * np.array([1.05, 1.15, 1.08, 1.0, 0.95, 0.9])[P.q]
    htn = htn * np.where(P.sex == 1, 1.1, 0.92)
    htn = np.clip(htn * 0.156 / htn.mean(), 0, 0.85)
    dm = np.interp(age, [16.9, 17, 30, 40, 50, 60, 70, 80], [0, 0.01, 0.03, 0.07, 0.13, 0.19, 0.23, 0.21])
    dm = dm * np.array([2.0, 1.5, 1.1, 1.0, 1.2, 1.0])[P.grp] * np.array([1.1, 1.3, 1.15, 1.0, 0.9, 0.8])[P.q]
    dm = np.clip(dm * 0.095 / dm.mean(), 0, 0.8)
    return htn, dm


def _snapshots(g: _Gen, P: _People) -> None:
    rng = g.rngs["snap"]
    snaps = _snapshot_days(g)
    n = P.n
    age_ref = (g.ref - P.birth) / 365.25
    male = P.sex == 1
    q = P.q

    # ---------------- smoking
    af = np.select([age_ref < 18, age_ref < 25, age_ref < 35, age_ref < 50, age_ref < 65, age_ref < 75],
                   [0.3, 0.9, 1.3, 1.2, 1.0, 0.65], 0.35)
    ef = np.array([0.55, 0.8, 1.4, 1.1, 1.0, 1.0])[P.grp]
    ef = np.where((P.grp == 0) & ~male, 0.25, ef)
    p_cur = af * ef * np.where(male, 1.25, 0.8) * np.array([1.1, 1.5, 1.2, 1.0, 0.75, 0.6])[q]
    adult = age_ref >= 15
    p_cur = np.clip(p_cur * 0.155 / p_cur[adult].mean(), 0, 0.7)
    p_ex = np.clip(0.22 * np.select([age_ref < 25, age_ref < 35, age_ref < 50, age_ref < 65], [0.2, 0.6, 0.9, 1.3], 1.6),
                   0, 0.6)
    p_nr = 0.07 * np.where(male & (age_ref < 35), 2.0, 1.0) * np.array([1.2, 1.3, 1.1, 1.0, 0.9, 0.8])[q] \
        * np.where(P.grp == 5, 2.0, 1.0)
    u = rng.random(n)
    status = np.select([u < p_nr, u < p_nr + p_cur * (1 - p_nr), u < p_nr + (p_cur + p_ex) * (1 - p_nr)],
                       [3, 0, 1], 2).astype(np.int8)
    sdate = snaps[0] - np.floor(rng.exponential(420, n)).astype(np.int64)
    sdate = np.maximum(np.maximum(sdate, P.birth + int(15 * 365.25)), _d(date(2015, 1, 1)))
    ref_date = np.full(n, NO_DATE, dtype=np.int64)
    was_ref = (status == 0) & (rng.random(n) < 0.08)
    ref_date[was_ref] = snaps[0] - rng.integers(0, 700, int(was_ref.sum()))
    # QOF SMOK002 population: on a long-term condition register (own stream: other draws unchanged)
    lrng = np.random.default_rng(np.random.SeedSequence([g.seed, 9002]))
    on_ltc = lrng.random(n) < np.clip(0.12 + 0.010 * np.maximum(age_ref - 30, 0), 0, 0.85)
    parts = []  # one frame per snapshot: the build validates and loads them in turn (18.7 m rows at full size)
    prev = snaps[0] - 91
    for si, s in enumerate(snaps):
        if si > 0:
            qdays = s - prev
            rerec = rng.random(n) < np.where(status == 0, 0.2, 0.08)
            rerec &= status != 3
            newrec = (status == 3) & (rng.random(n) < 0.035)
            when = prev + 1 + np.floor(rng.random(n) * qdays).astype(np.int64)
            u = rng.random(n)
            quit_ = rerec & (status == 0) & (u < 0.04)
            relapse = rerec & (status == 1) & (u < 0.05)
            start = rerec & (status == 2) & (u < 0.004) & (age_ref < 40)
            status[quit_] = 1
            status[relapse | start] = 0
            u2 = rng.random(n)
            status[newrec] = np.select([u2 < p_cur, u2 < p_cur + p_ex], [0, 1], 2)[newrec].astype(np.int8)
            sdate = np.where(rerec | newrec, when, sdate)
            p_ref = 0.03 + 0.02 * (s > _d(date(2024, 4, 1))) * np.where(q <= 2, 1.5, 1.0)
            referred = (status == 0) & (rng.random(n) < p_ref)
            ref_date = np.where(referred, prev + 1 + np.floor(rng.random(n) * qdays).astype(np.int64), ref_date)
        prev = s
        elig = (P.birth + int(15 * 365.25) <= s) & (P.death > s) & (P.entry <= s)
        idx = np.flatnonzero(elig)
        sd = np.minimum(np.maximum(sdate[idx], P.birth[idx]), s)
        rd = np.minimum(ref_date[idx], NO_DATE)
        st = status[idx]
        rd_missing = (rd >= NO_DATE) | (rd > s)
        parts.append(pd.DataFrame({
            "snapshot_date": _dates(np.full(len(idx), s)),
            "patient_id": _take(P.ids, idx),
            "status": _cat(st, ("current", "ex", "never", "not_recorded")),
            "status_date": _dates(sd, mask=st == 3),
            "referral_date": _dates(np.where(rd_missing, 0, rd), mask=rd_missing),
            "ltc_register": _bool(on_ltc[idx]),
        }))
    g.frames["smoking_status"] = parts
    g.log("smoking_status")

    # ---------------- hypertension and diabetes registers
    htn_p, dm_p = _true_prevalence(g, P)
    g.htn_p, g.dm_p = htn_p, dm_p
    has_htn = rng.random(n) < htn_p
    detect = 0.86 * np.where(age_ref < 50, 0.85, 1.0) * np.array([0.95, 0.93, 0.96, 1.0, 1.02, 1.03])[q] \
        * np.where(male, 0.95, 1.03) * np.where(P.grp == 5, 0.85, 1.0)
    detect = np.clip(detect * 0.85 / detect[has_htn].mean(), 0, 0.99)
    on_htn = has_htn & (rng.random(n) < detect)
    span = g.end_d - g.start_d
    diag = np.where(rng.random(n) < 0.9, g.start_d - 1 - rng.integers(0, 7000, n),
                    g.start_d + np.floor(rng.random(n) * span).astype(np.int64))
    diag = np.maximum(diag, P.birth + int(18 * 365.25))
    mu_sbp = (rng.normal(135.5, 13, n) + np.array([1.5, 3.0, 1.5, 0, -1.5, -3.0])[q]
              + 3.0 * (P.grp == 1) - 3.0 * (age_ref >= 80))
    mu_ldl = np.clip(rng.normal(2.75, 0.85, n), 0.6, 7)
    has_dm = rng.random(n) < dm_p
    on_dm = has_dm & (rng.random(n) < np.clip(0.88 * np.array([0.95, 0.94, 0.97, 1.0, 1.02, 1.03])[q], 0, 0.99))
    dm_diag = np.where(rng.random(n) < 0.9, g.start_d - 1 - rng.integers(0, 7000, n),
                       g.start_d + np.floor(rng.random(n) * span).astype(np.int64))
    dm_diag = np.maximum(dm_diag, P.birth + 365)
    p_t1 = np.select([age_ref < 25, age_ref < 40], [0.6, 0.2], 0.045)
    u = rng.random(n)
    dm_type = np.where(u < p_t1, 0, np.where(u < 0.98, 1, 2))
    mu_a1c = np.where(dm_type == 0, rng.normal(68, 14, n), rng.normal(54, 13, n)) \
        + np.array([1, 3, 1.5, 0, -1.5, -3])[q]
    mu_sbp_dm = rng.normal(131, 12, n)
    htn_parts, dm_parts = [], []
    for s in snaps:
        alive = (P.death > s) & (P.entry <= s)
        months = (s - g.start_d) / 30.44
        idx = np.flatnonzero(on_htn & alive & (diag <= s) & (P.birth + int(18 * 365.25) <= s))
        k = len(idx)
        sbp = np.rint(mu_sbp[idx] + rng.normal(0, 9, k) - 0.08 * months).clip(80, 240)
        dbp = np.rint(0.42 * sbp + rng.normal(22, 7, k)).clip(40, 140)
        bp_missing = rng.random(k) < np.where(q[idx] <= 2, 0.10, 0.07)
        ldl = np.round(np.clip(mu_ldl[idx] + rng.normal(0, 0.3, k), 0.3, 9), 1)
        nhdl = np.round(np.clip(ldl + rng.normal(0.85, 0.25, k), 0.5, 12), 1)
        ldl_missing = rng.random(k) < 0.42
        nhdl_missing = rng.random(k) < 0.32
        htn_parts.append((np.full(k, s), idx, sbp, dbp, bp_missing, ldl, ldl_missing, nhdl, nhdl_missing))
        idx = np.flatnonzero(on_dm & alive & (dm_diag <= s) & (P.birth + int(17 * 365.25) <= s))
        k = len(idx)
        a1c = np.round(np.clip(mu_a1c[idx] + rng.normal(0, 5, k) - 0.04 * months, 25, 180), 0)
        a1c_missing = rng.random(k) < 0.10
        sbp = np.rint(mu_sbp_dm[idx] + rng.normal(0, 9, k)).clip(80, 240)
        dbp = np.rint(0.38 * sbp + rng.normal(25, 7, k)).clip(40, 140)
        bp_missing = rng.random(k) < 0.08
        dm_parts.append((np.full(k, s), idx, dm_type[idx], a1c, a1c_missing, sbp, dbp, bp_missing))

    def cat_(parts: list, i: int) -> np.ndarray:
        return np.concatenate([p[i] for p in parts])

    # CVD (CHD, stroke/TIA, PAD) among people with hypertension, rising with age (own stream)
    crng = np.random.default_rng(np.random.SeedSequence([g.seed, 9003]))
    has_cvd = crng.random(n) < np.clip(0.05 + 0.006 * np.maximum(age_ref - 40, 0), 0, 0.45)

    g.frames["hypertension"] = pd.DataFrame({
        "snapshot_date": _dates(cat_(htn_parts, 0)),
        "patient_id": _take(P.ids, cat_(htn_parts, 1)),
        "last_systolic": _int(cat_(htn_parts, 2), cat_(htn_parts, 4)),
        "last_diastolic": _int(cat_(htn_parts, 3), cat_(htn_parts, 4)),
        "ldl": _float(cat_(htn_parts, 5), cat_(htn_parts, 6)),
        "non_hdl": _float(cat_(htn_parts, 7), cat_(htn_parts, 8)),
        "cvd": _bool(has_cvd[cat_(htn_parts, 1)]),
    })
    g.frames["diabetes"] = pd.DataFrame({
        "snapshot_date": _dates(cat_(dm_parts, 0)),
        "patient_id": _take(P.ids, cat_(dm_parts, 1)),
        "diabetes_type": _cat(cat_(dm_parts, 2), ("type1", "type2", "other")),
        "last_hba1c": _float(cat_(dm_parts, 3), cat_(dm_parts, 4)),
        "last_systolic": _int(cat_(dm_parts, 5), cat_(dm_parts, 7)),
        "last_diastolic": _int(cat_(dm_parts, 6), cat_(dm_parts, 7)),
    })


# ================================================================== aggregates
def _financial_years(g: _Gen) -> list[tuple[str, int]]:
    """(label, reference day) for each FY from 2023-24 to the one containing `end`."""
    out = []
    y = 2023
    while date(y, 4, 1) <= g.end:
        out.append((f"{y}-{(y + 1) % 100:02d}", _d(min(date(y, 10, 1), g.end))))
        y += 1
    return out


def _population(g: _Gen, P: _People) -> None:
    rows_pop, rows_prev = [], []
    n_prac = len(g.prac)
    for fy, ref in _financial_years(g):
        alive = (P.birth <= ref) & (P.death > ref)
        idx = np.flatnonzero(alive)
        band = np.minimum(((ref - P.birth[idx]) / 365.25 // 5).astype(np.int64), 18)
        key = (((P.prac[idx] * 2 + P.sex[idx]) * 19 + band) * 6 + P.q[idx]) * 6 + P.grp[idx]
        uniq, counts = np.unique(key, return_counts=True)
        grp = uniq % 6
        rest = uniq // 6
        qq = rest % 6
        rest //= 6
        bb = rest % 19
        rest //= 19
        ss = rest % 2
        pr = rest // 2
        rows_pop.append(pd.DataFrame({
            "financial_year": _str(np.full(len(uniq), fy)),
            "practice_code": _str(g.prac["code"].to_numpy()[pr]),
            "sex": _cat(ss, ("F", "M")),
            "age_band_start": _int(bb * 5),
            "imd_quintile": _int(qq),
            "ethnic_group": _cat(grp, ETH_GROUPS),
            "persons": _int(counts),
        }))
        rng = g.rngs["agg"]
        for cond, p in (("hypertension", g.htn_p), ("diabetes", g.dm_p)):
            exp = np.bincount(P.prac[idx], weights=p[idx], minlength=n_prac)
            exp = np.round(exp * rng.normal(1.0, 0.02, n_prac), 1).clip(0)
            rows_prev.append(pd.DataFrame({
                "financial_year": _str(np.full(n_prac, fy)),
                "practice_code": _str(g.prac["code"].to_numpy()),
                "condition": _str(np.full(n_prac, cond)),
                "expected_patients": _float(exp),
            }))
    g.frames["population"] = pd.concat(rows_pop, ignore_index=True)
    g.frames["modelled_prevalence"] = pd.concat(rows_prev, ignore_index=True)


def _list_sizes(g: _Gen, P: _People, days: list[int]) -> np.ndarray:
    """Registered (alive, born) patients per practice at each of `days`: (n_days, n_practices)."""
    out = np.zeros((len(days), len(g.prac)))
    for i, d in enumerate(days):
        out[i] = np.bincount(P.prac, weights=((P.birth <= d) & (P.death > d)).astype(float), minlength=len(g.prac))
    return out


def _gp_appointments(g: _Gen, P: _People) -> None:
    rng = g.rngs["agg"]
    months = [_d(add_months(DATA_START, k)) for k in range(g.n_months)
              if add_months(add_months(DATA_START, k), 1) - timedelta(days=1) <= g.end]
    n_p = len(g.prac)
    lists = _list_sizes(g, P, [m + 14 for m in months])
    old_share = np.bincount(P.prac, weights=(P.band >= 13).astype(float), minlength=n_p) / \
        np.maximum(np.bincount(P.prac, minlength=n_p), 1)
    prac_f = rng.lognormal(0, 0.12, n_p) * (1 + 0.8 * (old_share - old_share.mean()))
    prac_same = rng.normal(0, 0.04, n_p)
    solihull = (g.prac["locality"] == "Solihull").to_numpy()
    moy = np.array([(_date(m).month - 1) for m in months])
    season = np.array([1.05, 1.02, 1.08, 0.93, 0.97, 0.98, 1.0, 0.88, 1.0, 1.1, 1.06, 0.85])[moy]
    rows = []
    for i, m in enumerate(months):
        mi = i
        total = rng.poisson(lists[i] * 0.44 * season[i] * prac_f * (1 + 0.015 * mi / 12))
        same = 0.42 + prac_same - np.where(solihull, 0.0025 * max(mi - 12, 0), 0.0) + 0.0005 * mi
        shares = np.tile(BOOKING_SHARE, (n_p, 1))
        shares[:, 0] = np.clip(same, 0.2, 0.7)
        shares[:, 1:] = BOOKING_SHARE[1:] / BOOKING_SHARE[1:].sum() * (1 - shares[:, :1])
        by_int = rng.multinomial(total, shares)
        for bi in range(len(BOOKING)):
            pst = np.array([1 - BOOKING_DNA[bi] - 0.03, BOOKING_DNA[bi], 0.03])
            split = rng.multinomial(by_int[:, bi], pst)
            for si in range(3):
                rows.append((np.full(n_p, m), np.arange(n_p), np.full(n_p, bi), np.full(n_p, si), split[:, si]))
    month = np.concatenate([r[0] for r in rows])
    pr = np.concatenate([r[1] for r in rows])
    b = np.concatenate([r[2] for r in rows])
    s = np.concatenate([r[3] for r in rows])
    c = np.concatenate([r[4] for r in rows])
    keep = c > 0
    order = np.lexsort((s[keep], b[keep], pr[keep], month[keep]))
    g.frames["gp_appointments"] = pd.DataFrame({
        "month": _dates(month[keep][order]),
        "practice_code": _str(g.prac["code"].to_numpy()[pr[keep][order]]),
        "booking_interval": _cat(b[keep][order], BOOKING),
        "status": _cat(s[keep][order], ("attended", "dna", "unknown")),
        "appointments": _int(c[keep][order]),
    })
    g.months = months
    g.old_share = old_share


def _wound_prescribing(g: _Gen) -> None:
    rng = g.rngs["agg"]
    months = g.months
    n_p = len(g.prac)
    lists = _list_sizes(g, g.P, [m + 14 for m in months])
    prac_f = rng.lognormal(0, 0.25, n_p) * (1 + 3.0 * (g.old_share - g.old_share.mean()))
    prac_f = np.clip(prac_f, 0.2, None)
    share = np.array([w[2] for w in WOUND_PRODUCTS])
    cost = np.array([w[3] for w in WOUND_PRODUCTS])
    birmingham = (g.prac["locality"] != "Solihull").to_numpy()
    rows = []
    for i, m in enumerate(months):
        pathway = np.where(birmingham & (m >= _d(date(2024, 10, 1))), 0.92, 1.0)
        lam = lists[i][:, None] * 0.012 * prac_f[:, None] * pathway[:, None] * share[None, :]
        items = rng.poisson(lam)
        c = np.round(items * cost[None, :] * rng.lognormal(0, 0.08, items.shape), 2)
        rows.append((np.full(items.size, m), np.repeat(np.arange(n_p), len(share)),
                     np.tile(np.arange(len(share)), n_p), items.ravel(), c.ravel()))
    month = np.concatenate([r[0] for r in rows])
    pr = np.concatenate([r[1] for r in rows])
    prod = np.concatenate([r[2] for r in rows])
    items = np.concatenate([r[3] for r in rows])
    c = np.concatenate([r[4] for r in rows])
    keep = items > 0
    g.frames["wound_prescribing"] = pd.DataFrame({
        "month": _dates(month[keep]),
        "practice_code": _str(g.prac["code"].to_numpy()[pr[keep]]),
        "bnf_code": _cat(prod[keep], [w[0] for w in WOUND_PRODUCTS]),
        "items": _int(items[keep]),
        "actual_cost": _float(c[keep]),
    })


def _gp_workforce(g: _Gen) -> None:
    rng = g.rngs["agg"]
    qmonths = [m for m in g.months if _date(m).month in (3, 6, 9, 12)]
    n_p = len(g.prac)
    lists = _list_sizes(g, g.P, [qmonths[0]])[0]
    groups = ("gp", "nurse", "dpc", "admin")
    per10k = np.array([5.6, 3.0, 3.2, 11.0])
    fte_per_head = np.array([0.74, 0.68, 0.82, 0.72])
    growth = np.array([0.0, 0.0, 0.02, 0.0])  # ARRS-funded direct patient care roles grow
    level = rng.lognormal(0, 0.18, (n_p, 4)) * per10k * lists[:, None] / 10_000
    head = np.maximum(np.rint(level / fte_per_head), 1).astype(np.int64)
    rows = []
    for qi, m in enumerate(qmonths):
        if qi > 0:  # FTE drifts (DPC roles grow); headcount follows, with churn on top
            level = level * (1 + growth) * np.exp(rng.normal(0, 0.02, level.shape))
        new_head = np.maximum(np.rint(level / fte_per_head), 1).astype(np.int64)
        net = new_head - head if qi > 0 else np.zeros_like(head)
        churn = rng.poisson(head * 0.035)
        join, leave = churn + np.maximum(net, 0), churn + np.maximum(-net, 0)
        head = new_head
        fte = np.round(np.clip(level * rng.normal(1, 0.01, level.shape), 0.1, 500), 2)
        rows.append((np.full(head.size, m), np.repeat(np.arange(n_p), 4), np.tile(np.arange(4), n_p),
                     fte.ravel(), head.ravel(), join.ravel(), leave.ravel()))
    col = [np.concatenate([r[i] for r in rows]) for i in range(7)]
    g.frames["gp_workforce"] = pd.DataFrame({
        "month": _dates(col[0]),
        "practice_code": _str(g.prac["code"].to_numpy()[col[1]]),
        "staff_group": _cat(col[2], groups),
        "fte": _float(col[3]),
        "headcount": _int(col[4]),
        "joiners": _int(col[5]),
        "leavers": _int(col[6]),
    })


# ================================================================== public API
def _extract(name: str) -> Extract:
    return next(e for e in EXTRACTS if e.name == name)


GENERATED_EXTRACTS: tuple[str, ...] = tuple(e.name for e in EXTRACTS if not e.shipped)


def generate(size: Size = "small", seed: int = DEFAULT_SEED, end: date | None = None,
             progress: Progress | None = None) -> dict[str, pd.DataFrame]:
    """Generate one DataFrame per non-shipped extract (catalogue columns, order and dtypes).

    Same (size, seed, end) -> identical frames. `end` defaults to the last day of the latest
    complete month; it must be on or after 2024-06-30 so the pilot's post windows are complete.
    `progress` receives short status messages. Holds every table at once: loads should use
    `generate_stream`, which yields the same frames one at a time.
    """
    frames = {name: frame if isinstance(frame, pd.DataFrame) else pd.concat(frame, ignore_index=True)
              for name, frame in generate_stream(size, seed, end, progress)}
    return {name: frames[name] for name in GENERATED_EXTRACTS}


_PILOT_TABLES = ("int_caseload", "gp_appointment", "ae_attendance", "inpatient_spell", "community_contact",
                 "social_care_package")


def generate_stream(size: Size = "small", seed: int = DEFAULT_SEED, end: date | None = None,
                    progress: Progress | None = None) -> Iterator[tuple[str, pd.DataFrame | list[pd.DataFrame]]]:
    """Yield (extract name, frame) as each table is finished, so a caller can load and drop it.

    The largest table (smoking status: 18.7 m rows at full size) comes as a list of one frame per
    snapshot, which a caller may empty as it loads them (`validate.validate_parts`).

    The random streams are consumed in the same order as ever: the frames equal `generate`'s.
    Only the caseload people's rows of the pilot's activity tables are kept for the final
    self-check against the plan's table (raised after the last frame).
    """
    end = end or default_end()
    g = _Gen(size, seed, end, progress)
    kept: dict[str, pd.DataFrame] = {}

    def finished() -> Iterator[tuple[str, pd.DataFrame | list[pd.DataFrame]]]:
        for name in list(g.frames):
            frame = g.frames.pop(name)
            cols = list(_extract(name).column_names)
            if isinstance(frame, list):
                assert all(list(part.columns) == cols for part in frame), name
                yield name, frame
                continue
            frame = frame if list(frame.columns) == cols else frame[cols]
            if name == "int_caseload":
                kept[name] = frame
            elif name in _PILOT_TABLES:
                kept[name] = frame[frame["patient_id"].isin(kept["int_caseload"]["patient_id"])]
            yield name, frame

    _geography(g)
    g.log("geography")
    yield from finished()
    P = _people(g)
    g.P = P
    g.log(f"{P.n:,} patients")
    _care_home_admissions(g, P)
    _deaths(g, P)
    _caseloads(g, P)
    pilot = _pilot_activity(g, P)
    g.log("caseloads")
    yield from finished()
    _spells(g, P, pilot)
    g.log("inpatient_spell")
    yield from finished()
    _ae(g, P, pilot)
    g.log("ae_attendance")
    yield from finished()
    _community(g, P, pilot)
    g.log("community_contact")
    yield from finished()
    _packages(g, P, pilot)
    _ucr(g, P)
    _gp_patient(g, P, pilot)
    _reablement(g, P)
    _patient_table(g, P)
    g.log("other patient-level tables")
    yield from finished()
    _snapshots(g, P)
    g.log("registers")
    yield from finished()
    _population(g, P)
    _gp_appointments(g, P)
    _wound_prescribing(g)
    _gp_workforce(g)
    g.log("aggregates")
    yield from finished()
    _check_pilot(kept, g)
    g.log("done")


def _check_pilot(frames: dict[str, pd.DataFrame], g: _Gen) -> None:
    """Self-check: the pilot's pre/post counts must equal the plan's table (cheap; fails loudly)."""
    got = pilot_prepost_counts(frames)
    bad = {k: (v, got.get(k)) for k, v in PLAN_PREPOST.items() if got.get(k) != v}
    if bad:
        raise AssertionError(f"pilot cohort does not reproduce the plan's table: {bad}")


def pilot_prepost_counts(frames: dict[str, pd.DataFrame]) -> dict[tuple[str, str, str], int]:
    """Pre/post counts for the Implementation Plan pilot preset (docs/design.md rules)."""
    cl = frames["int_caseload"]
    first = cl.groupby(["patient_id", "int_team_code"], as_index=False)["start_date"].min()
    first = first[(first["start_date"] >= pd.Timestamp(PILOT_GO_LIVE))
                  & (first["start_date"] <= pd.Timestamp(PILOT_INDEX_LAST))]
    sources = {
        "gp_appointments": ("gp_appointment", "appointment_date", lambda f: f["status"] == "attended"),
        "ae_attendances": ("ae_attendance", "arrival_datetime", None),
        "inpatient_spells": ("inpatient_spell", "admission_date", None),
        "op_community_contacts": ("community_contact", "contact_date", None),
        "care_packages": ("social_care_package", "start_date", None),
    }
    out: dict[tuple[str, str, str], int] = {}
    for team_code, row in PILOT_TEAMS.items():
        c = first[first["int_team_code"] == team_code][["patient_id", "start_date"]]
        c = c.rename(columns={"start_date": "index_date"})
        c["pre_start"] = c["index_date"] - pd.DateOffset(months=PREPOST_MONTHS)
        c["post_end"] = c["index_date"] + pd.DateOffset(months=PREPOST_MONTHS)
        for act, (table, col, filt) in sources.items():
            f = frames[table]
            f = f[f["patient_id"].isin(c["patient_id"])]
            if filt is not None:
                f = f[filt(f)]
            j = f[["patient_id", col]].merge(c, on="patient_id")
            t = j[col].dt.normalize()
            out[(row, "pre", act)] = int(((t >= j["pre_start"]) & (t < j["index_date"])).sum())
            out[(row, "post", act)] = int(((t >= j["index_date"]) & (t < j["post_end"])).sum())
            out[(row, "variance", act)] = out[(row, "post", act)] - out[(row, "pre", act)]
    for act in ACTIVITIES:
        for ph in ("pre", "post", "variance"):
            out[("Total", ph, act)] = sum(out[(r, ph, act)] for r in PILOT_TEAMS.values())
    return out


def dataset_facts(size: Size = "small", seed: int = DEFAULT_SEED, end: date | None = None) -> dict[str, str]:
    """Facts for the dataset_info table, so every page can say 'synthetic demo data'."""
    end = end or default_end()
    return {
        "is_demo": "true",
        "size": size,
        "seed": str(seed),
        "data_start": DATA_START.isoformat(),
        "data_end": end.isoformat(),
        "generated_by": GENERATED_BY,
    }


def write_extracts(frames: dict[str, pd.DataFrame], directory: str | Path,
                   fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
    """Write one `<extract>.csv` (or `.parquet`) per frame, in the documented file format.

    CSV: dates as YYYY-MM-DD, date-times as YYYY-MM-DD HH:MM:SS, booleans true/false, missing
    values as empty cells. Written through Arrow, which is far faster than DataFrame.to_csv.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        ex = _extract(name)
        table = pa.Table.from_pandas(frame[list(ex.column_names)], preserve_index=False)
        cols = []
        for col in ex.columns:
            arr = table.column(col.name)
            if col.kind == "date":
                arr = pc.cast(arr, pa.timestamp("s")).cast(pa.date32())
            elif col.kind == "datetime":
                arr = pc.cast(arr, pa.timestamp("s"))
            cols.append(arr)
        table = pa.table(cols, names=list(ex.column_names))
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed", quoting_header="none"))
        elif fmt == "parquet":
            pq.write_table(table, path)
        else:
            raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
        written.append(path)
    return written


__all__ = ["ACTIVITIES", "DATA_START", "DEFAULT_SEED", "DEMO_SIZES", "GENERATED_EXTRACTS", "PILOT_COHORT_SIZE",
           "PLAN_PREPOST", "dataset_facts", "default_end", "generate", "generate_stream", "pilot_prepost_counts",
           "write_extracts"]
