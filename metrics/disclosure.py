"""The one disclosure policy, applied by one function (``protect``) to every frame that leaves the app.

Why one module: pages, chart JSON, downloads, the command line, Excel packs, pre/post tables, the
caseload profile and the Data page must hide exactly the same cells, and a new output must not have
to remember the rule. Each output *declares* what its columns are (``Kind``: a count of people or
events, a rate, a percentage, a per-person value, person-time, a confidence limit, ...) and
``protect`` decides. Nothing outside this module suppresses or rounds a figure.

The rule (NHS Digital HES/ECDS analysis guide, as used locally; ``DisclosurePolicy``):

* Counts of people or events from ``min_count`` to ``max_suppressed`` (1-7) are suppressed at every
  level below England -- BSol, its places, localities, neighbourhoods, practices and every breakdown
  group. Zero is shown: it identifies no one.
* Every other shown count is rounded to the nearest ``rounding`` (5), halves up.
* Derived figures (rates, percentages, per-person values, shares, confidence limits, differences)
  are computed *from the rounded counts* (the HES method: percentages from rounded figures), so
  ``value x denominator`` or inverting a Wilson/Byar/Dobson limit gives back only the rounded count;
  and they are hidden wherever a count they are built on is hidden.
* Directly standardised rates on fewer than ``min_dsr_count`` (10) events are not shown (OHID rule).
* Means and medians of 1-7 people are hidden (their count of people is their basis). A total of
  person values (e.g. the sum of delay days behind a mean) is never shown: total / mean = people.
* SPC centre lines and limits (``metrics.results.spc_frame``) and SII/RII (``metrics.inequality``)
  are computed from the controlled values, never the exact ones: mean x n of exact monthly values is
  the exact total, and a short segment's mean and limits give its points back.
* Secondary (complementary) suppression (``complementary``): in every set of cells that adds up to a
  shown total (the breakdown groups of one area; the areas of one parent; the months of a quarter
  and the quarters of a year, for event counts) no set is left with exactly one hidden cell; the
  smallest other cell is hidden too, deterministically (ties by key), until no set changes; with
  the policy, also no set whose two or more hidden cells interval arithmetic on the rounded total
  and parts pins to one value (``pinned_sets``), and no pair of consecutive rolling 12-month totals
  whose difference, R(t) - R(t-1) = M(t) - M(t-12), pins a hidden month (``pinned_relations``).

Stored results keep exact values; the ``suppressed`` flag stored with them includes the secondary
suppression, worked out at refresh over all cells (a page only ever sees some of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

SECONDARY_METHOD = "sets and rolling differences (2)"
"""Names the secondary-suppression method in the policy's fingerprint: results refreshed under an
older method (e.g. before rolling differences were protected) are stale and are not served."""
COUNT_UNITS = frozenset({"count", "number", "n"})
MEASURE_COLUMNS = ("numerator", "denominator", "value", "lower_ci", "upper_ci", "lower_ci_998", "upper_ci_998")


@dataclass(frozen=True)
class DisclosurePolicy:
    """The policy's parameters (module docstring). Build it once at the edge (``from_settings``).

    ``exempt_levels``: geography levels where small counts may be shown. Only England (national
    figures) is exempt; this app has no England rows, so nothing it shows is exempt.
    """

    min_count: int = 1
    max_suppressed: int = 7
    rounding: int = 5
    min_dsr_count: int = 10
    mean_decimals: int = 1
    exempt_levels: tuple[str, ...] = ("england",)

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count must be >= 1 (zero is never suppressed)")
        if self.max_suppressed < self.min_count:
            raise ValueError("max_suppressed must be >= min_count")
        if self.rounding < 0 or self.min_dsr_count < 0:
            raise ValueError("rounding and min_dsr_count must be >= 0")

    @classmethod
    def from_settings(cls, settings: object) -> DisclosurePolicy:
        """The policy from a ``Settings`` (BSOL_SUPPRESS_MAX, BSOL_ROUND_TO, BSOL_MIN_DSR_COUNT)."""
        return cls(max_suppressed=settings.suppress_max, rounding=settings.round_to,  # type: ignore[attr-defined]
                   min_dsr_count=settings.min_dsr_count)  # type: ignore[attr-defined]

    @property
    def fingerprint(self) -> str:
        """The parameters, as stored with the results at refresh (dataset_info ``disclosure_policy``)."""
        return (f"suppress {self.min_count}-{self.max_suppressed}; round to {self.rounding}; DSR on "
                f"{self.min_dsr_count}+ events; means to {self.mean_decimals} dp; exempt: {','.join(self.exempt_levels)}; "
                f"secondary: {SECONDARY_METHOD}")

    def small(self, x: pd.Series | np.ndarray | float) -> np.ndarray:
        """True where a count is in the suppressed band; NaN and 0 are never small."""
        arr = np.asarray(pd.to_numeric(pd.Series(np.atleast_1d(x)), errors="coerce"), dtype=float)
        with np.errstate(invalid="ignore"):
            return (arr >= self.min_count) & (arr <= self.max_suppressed)

    def round(self, x: pd.Series | np.ndarray) -> np.ndarray:
        """Counts to the nearest ``rounding`` (halves up); NaN stays NaN."""
        arr = np.asarray(pd.to_numeric(pd.Series(np.asarray(x).ravel()), errors="coerce"), dtype=float)
        if self.rounding <= 1:
            return np.round(arr)
        return np.floor(arr / self.rounding + 0.5) * self.rounding


# Kept for callers written before the policy object: same class.
DisclosureRule = DisclosurePolicy
DEFAULT_RULE = DisclosurePolicy()


POLICY_INFO_KEY = "disclosure_policy"
"""dataset_info key of the policy the stored suppression flags were worked out under (refresh)."""


def stale_policy(info: Mapping[str, str], policy: DisclosurePolicy) -> str | None:
    """Why the stored results may not be served under ``policy`` (None: they may).

    Why: the secondary-suppression flag is stored at refresh, so after BSOL_SUPPRESS_MAX (or another
    parameter) changes, the stored flags are stale; showing them would hide the wrong cells.
    """
    stored = info.get(POLICY_INFO_KEY)
    if stored == policy.fingerprint:
        return None
    was = f"refreshed under '{stored}'" if stored else "refreshed before the disclosure policy was recorded"
    return (f"The stored results were {was}, but the configured disclosure policy is '{policy.fingerprint}' "
            "(BSOL_SUPPRESS_MAX, BSOL_ROUND_TO, BSOL_MIN_DSR_COUNT): their suppression flags are stale, so "
            "nothing is shown until they are recomputed. Run `flask --app app refresh` with the same settings.")


def describe(rule: DisclosurePolicy) -> str:
    """The rule in one sentence, for page footers, legends, README and pack covers."""
    return (f"Counts of {rule.min_count} to {rule.max_suppressed} people or events are suppressed at every level "
            f"below England (BSol included), with every figure built on them and, where a hidden cell could be "
            f"worked out from a total (or from two consecutive rolling 12-month totals), the next smallest "
            f"cell too; other counts are rounded to the nearest "
            f"{rule.rounding}, and rates, percentages and intervals are calculated from the rounded counts; "
            f"directly standardised rates on fewer than {rule.min_dsr_count} events and means of fewer than "
            f"{rule.max_suppressed + 1} people are not shown. SPC centre lines and process limits and the slope "
            f"and relative indices of inequality are calculated from the figures as shown (hidden points left "
            f"out), so they cannot give an exact count back.")


class Kind(Enum):
    """What a column holds: the policy decides from this how it may be shown."""

    COUNT = "count of people or events"  # suppressed 1-7, rounded; hides the figures built on it
    DETAIL = "context count"  # as COUNT, but hiding it hides nothing else
    PERSON_TIME = "person-time"  # not disclosive (also FTE, published or modelled totals): as is
    VALUE = "rate, percentage or per-person value"  # from rounded counts (``derive``); hidden with its basis
    CI = "confidence limit"  # as VALUE
    SHARE = "share of a total"  # as VALUE
    MEAN = "mean or median of person values"  # hidden with its count of people
    TOTAL = "total of person values"  # never shown: total / mean gives back the count of people
    LABEL = "label"  # text and keys: passed through


_DERIVED = {Kind.VALUE, Kind.CI, Kind.SHARE, Kind.MEAN}
_COUNTS = {Kind.COUNT, Kind.DETAIL}


@dataclass(frozen=True)
class Col:
    """One column's kind. ``basis``: the count columns it is built on (default: the row counts).

    ``row``: a COUNT whose suppression hides the whole row (default). ``when``: name of a boolean
    column; where it is False the column is PERSON_TIME (not disclosive) instead of ``kind``.
    """

    kind: Kind
    basis: tuple[str, ...] | None = None
    row: bool = True
    when: str | None = None


Spec = Mapping[str, Col | Kind]
Derive = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]


def _col(c: Col | Kind) -> Col:
    return c if isinstance(c, Col) else Col(c)


def protect(frame: pd.DataFrame, spec: Spec, policy: DisclosurePolicy, *, derive: Derive | None = None,
            level_col: str | None = None, hidden_rows: np.ndarray | pd.Series | None = None,
            sets: Sequence[Sequence[str]] = (), size: str | None = None) -> pd.DataFrame:
    """THE function every outgoing frame passes: a copy with the policy applied and ``suppressed`` set.

    ``spec`` declares the kind of every numeric column (columns it does not name pass through as
    labels; naming a column with an unknown kind is an error). ``derive(exact, shown)`` recomputes
    the derived columns of ``shown`` from its rounded counts. ``level_col`` lets exempt levels show
    small counts. ``hidden_rows`` are rows already hidden (the stored flag: secondary suppression,
    DSR rule). ``sets``: column lists whose groups are sets of cells adding up to a shown total;
    ``complementary`` keeps each set from having exactly one hidden row (smallest ``size`` first).
    """
    cols = {name: _col(c) for name, c in spec.items() if name in frame.columns}
    out = frame.copy()
    n = len(out)
    if n == 0:
        return out.assign(suppressed=pd.Series(dtype=bool))
    exempt = np.zeros(n, dtype=bool)
    if level_col and level_col in out:
        levels = [lvl.lower() for lvl in policy.exempt_levels]
        exempt = out[level_col].astype("string").str.lower().isin(levels).fillna(False).to_numpy(dtype=bool)
    applies = {name: (out[c.when].fillna(True).astype(bool).to_numpy() if c.when and c.when in out
                      else np.ones(n, dtype=bool)) for name, c in cols.items()}
    counts = [name for name, c in cols.items() if c.kind in _COUNTS]
    for name in [*counts, *(k for k, c in cols.items() if c.kind not in (Kind.LABEL,))]:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    hidden = {name: policy.small(out[name]) & applies[name] & ~exempt for name in counts}
    row = np.zeros(n, dtype=bool) if hidden_rows is None else np.asarray(hidden_rows, dtype=bool).copy()
    for name in counts:
        if cols[name].kind is Kind.COUNT and cols[name].row:
            row |= hidden[name]
    if sets:
        row = complementary(out, row, sets, size or (counts[0] if counts else None))
        for name in counts:  # a count hidden on its own (pre, post) needs its complementary cell too
            if cols[name].kind is Kind.COUNT and not cols[name].row:
                hidden[name] = complementary(out, hidden[name] | row, sets, name)
    row_counts = [k for k in counts if cols[k].kind is Kind.COUNT and cols[k].row]
    exact = out.copy()
    for name in counts:
        rounded = policy.round(out[name])
        out[name] = np.where(applies[name], rounded, out[name])
    if derive is not None:
        out = derive(exact, out)
    shown_hidden: dict[str, np.ndarray] = {}
    for name, c in cols.items():
        if c.kind is Kind.LABEL:
            continue
        h = row.copy()
        if c.kind in _COUNTS:
            h |= hidden[name]
        basis = c.basis if c.basis is not None else tuple(row_counts)
        for b in basis:
            if b in hidden:
                h |= hidden[b]
        if c.kind is Kind.TOTAL:
            h |= applies[name]
        if c.kind is Kind.MEAN:
            out[name] = out[name].round(policy.mean_decimals)
        shown_hidden[name] = h
        out.loc[h, name] = np.nan
    flag = row.copy()
    for name in counts:
        if cols[name].kind is Kind.COUNT:
            flag |= shown_hidden[name]
    out["suppressed"] = flag
    return out


def pinned_sets(code: np.ndarray, hidden: np.ndarray, size: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    """Sets (codes) in which interval arithmetic pins a hidden cell to one value.

    The adversary knows the set's total and its visible cells as rounded (a shown r > 0 is in
    [r - rounding/2, r + rounding/2] and above the suppressed band; 0 is exact) and, at worst,
    which hidden cells are primary (in the band) -- the others are only known to be >= 0. A hidden
    cell j then lies in [max(a_j, T_lo - sum visible hi - sum other b), min(b_j, T_hi - sum visible
    lo - sum other a)]; a set where that is one value for some j needs another cell hidden. The
    total is taken as the sum of the cells (the sets are additive).
    """
    original = np.asarray(code)
    half = policy.rounding // 2
    band_hi = float(policy.max_suppressed)
    x = np.nan_to_num(size.astype(float))
    shown = policy.round(x)
    lo_v = np.where(shown > 0, np.maximum(shown - half, band_hi + 1), 0.0)
    hi_v = np.where(shown > 0, shown + half, 0.0)
    primary = hidden & policy.small(x)
    a = np.where(primary, float(policy.min_count), 0.0)
    b_fin = np.where(primary, band_hi, 0.0)
    b_inf = hidden & ~primary
    _, code = np.unique(code, return_inverse=True)  # 0..sets-1, for the per-set sums below

    def per_set(values: np.ndarray) -> np.ndarray:  # each row's set total (whole numbers: exact)
        return np.bincount(code, weights=values)[code]

    a = np.where(hidden, a, 0.0)
    total = policy.round(per_set(x))
    t_lo = np.where(total > 0, np.maximum(total - half, band_hi + 1), 0.0)
    t_hi = np.where(total > 0, total + half, 0.0)
    h_lo = t_lo - per_set(np.where(hidden, 0.0, hi_v))
    h_hi = t_hi - per_set(np.where(hidden, 0.0, lo_v))
    other_b_inf = per_set(b_inf.astype(float)) - b_inf > 0
    other_b = per_set(b_fin) - b_fin
    other_a = per_set(a) - a
    b_self = np.where(primary, band_hi, np.inf)
    lo = np.maximum(a, np.where(other_b_inf, -np.inf, h_lo - other_b))
    hi = np.minimum(b_self, h_hi - other_a)
    pinned = hidden & (lo == hi) & (x > 0)
    return np.unique(original[pinned])


ROLLING_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
"""R(t) - R(t-1) - M(t) + M(t-12) = 0: consecutive rolling 12-month totals and the months they differ by."""


def pinned_relations(cells: np.ndarray, hidden: np.ndarray, size: np.ndarray, policy: DisclosurePolicy,
                     signs: np.ndarray = ROLLING_SIGNS) -> np.ndarray:
    """Relations (rows of ``cells``) in which interval arithmetic pins a hidden cell to one value.

    ``cells`` holds, per relation sum_i signs_i x_i = 0, the row of each term (-1: no row, so no
    events: an exact 0). The adversary's knowledge is ``pinned_sets``': a shown r > 0 is in
    [r - rounding/2, r + rounding/2] above the band, 0 is exact, a hidden primary is in the band,
    another hidden cell only >= 0. Why: the months of a quarter are a set, but consecutive rolling
    totals give back their difference M(t) - M(t-12), which no set holds (issue 10).
    """
    if not len(cells):
        return np.zeros(0, dtype=bool)
    half = policy.rounding // 2
    band_hi = float(policy.max_suppressed)
    x = np.nan_to_num(size.astype(float))
    shown = policy.round(x)
    primary = hidden & policy.small(x)
    lo = np.where(hidden, np.where(primary, float(policy.min_count), 0.0),
                  np.where(shown > 0, np.maximum(shown - half, band_hi + 1), 0.0))
    hi = np.where(hidden, np.where(primary, band_hi, np.inf), np.where(shown > 0, shown + half, 0.0))
    present = cells >= 0
    at = np.where(present, cells, 0)
    c_lo, c_hi = np.where(present, lo[at], 0.0), np.where(present, hi[at], 0.0)
    c_hidden = present & hidden[at]
    t_lo = np.where(signs > 0, c_lo, -c_hi)  # bounds of each signed term
    t_hi = np.where(signs > 0, c_hi, -c_lo)
    pinned = np.zeros(len(cells), dtype=bool)
    for j in range(cells.shape[1]):
        others = [i for i in range(cells.shape[1]) if i != j]
        rest_lo, rest_hi = t_lo[:, others].sum(axis=1), t_hi[:, others].sum(axis=1)
        # signs_j x_j = -(rest): x_j in [-rest_hi, -rest_lo] (sign +1) or [rest_lo, rest_hi] (sign -1)
        j_lo, j_hi = (-rest_hi, -rest_lo) if signs[j] > 0 else (rest_lo, rest_hi)
        with np.errstate(invalid="ignore"):
            low, high = np.maximum(c_lo[:, j], j_lo), np.minimum(c_hi[:, j], j_hi)
        exact_j = np.where(present[:, j], x[at[:, j]], 0.0)
        pinned |= c_hidden[:, j] & (low == high) & (exact_j > 0)
    return pinned


def rolling_relations(frame: pd.DataFrame, indicators: Iterable[str]) -> np.ndarray:
    """Rows (R(t), R(t-1), M(t), M(t-12)) of each rolling-difference relation (``pinned_relations``),
    for the event-count indicators whose months add up (``additive_over_time``); -1 = no row."""
    empty = np.zeros((0, 4), dtype=int)
    need = {"period_type", "period_end", "indicator_id", "geography_level", "geography", "breakdown", "group"}
    if frame.empty or not need <= set(frame.columns):
        return empty
    timed = frame["indicator_id"].isin(list(indicators)).to_numpy()
    kind = frame["period_type"].to_numpy()
    if not (timed & (kind == "rolling_12m")).any():
        return empty
    series = frame.groupby(["indicator_id", "geography_level", "geography", "breakdown", "group"], sort=False,
                           dropna=False).ngroup().to_numpy()
    end = pd.to_datetime(frame["period_end"]).dt.to_period("M")
    month_no = (end.dt.year * 12 + end.dt.month).to_numpy()
    pos = np.arange(len(frame))

    def lookup(mask: np.ndarray) -> pd.Series:
        return pd.Series(pos[mask], index=pd.MultiIndex.from_arrays([series[mask], month_no[mask]]))

    rolling, months = lookup(timed & (kind == "rolling_12m")), lookup(timed & (kind == "month"))

    def find(table: pd.Series, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        got = table.reindex(pd.MultiIndex.from_arrays([s, m]))
        return got.fillna(-1).to_numpy(int)

    r_s, r_m = series[rolling.to_numpy()], month_no[rolling.to_numpy()]
    previous = find(rolling, r_s, r_m - 1)
    keep = previous >= 0
    cells = np.column_stack([rolling.to_numpy()[keep], previous[keep], find(months, r_s[keep], r_m[keep]),
                             find(months, r_s[keep], r_m[keep] - 12)])
    return cells if len(cells) else empty


def complementary(frame: pd.DataFrame, hidden: np.ndarray, sets: Sequence[Sequence[str]],
                  size: str | None, policy: DisclosurePolicy | None = None,
                  relations: np.ndarray | None = None) -> np.ndarray:
    """Secondary suppression: no set (a group of rows by the columns of one entry of ``sets``) keeps
    exactly one hidden row; the smallest other row (by ``size``, then position) is hidden too.
    With ``policy`` also no set whose hidden cells interval arithmetic pins (``pinned_sets``: two
    or more hidden cells next to rounded ones); there the smallest other row is hidden too (a
    hidden zero that does not unpin it is followed by the next, on the next pass).

    Why: a set whose total is shown gives its one hidden cell back by subtraction (m04: White [c],
    every other group 0). Iterates over all set definitions until nothing changes, so a cell hidden
    for one set is taken into account by the others (areas x groups x periods). Deterministic.
    """
    hidden = np.asarray(hidden, dtype=bool).copy()
    if not len(frame) or not (sets or (relations is not None and len(relations))):
        return hidden
    order = (pd.to_numeric(frame[size], errors="coerce").fillna(np.inf).to_numpy(float)
             if size and size in frame else np.zeros(len(frame)))
    position = np.arange(len(frame))
    codes = [frame.groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy() for keys in sets]
    # each set's rows smallest first (by size, then position): the first visible one is the pick
    ranked = [np.lexsort((position, order, code)) for code in codes]
    rows_in = [np.bincount(code) for code in codes]
    x = pd.to_numeric(frame[size], errors="coerce").to_numpy(float) if size and size in frame else None
    for _ in range(50):
        changed = False
        if relations is not None and len(relations) and policy is not None and x is not None:
            pinned = relations[pinned_relations(relations, hidden, x, policy)]
            for cells in pinned:  # hide the smallest visible term of each pinned relation
                visible = [c for c in cells if c >= 0 and not hidden[c]]
                if visible:
                    hidden[min(visible, key=lambda c: (order[c], c))] = True
                    changed = True
        for code, rank, size_of in zip(codes, ranked, rows_in, strict=True):
            hidden_in = np.bincount(code, weights=hidden, minlength=len(size_of))
            lonely = (hidden_in == 1) & (size_of > 1)
            if policy is not None and x is not None:
                pinned = pinned_sets(code, hidden, x, policy)
                lonely[pinned[hidden_in[pinned] < size_of[pinned]]] = True
            if not lonely.any():
                continue
            cand = rank[lonely[code[rank]] & ~hidden[rank]]
            pick = cand[np.unique(code[cand], return_index=True)[1]]
            hidden[pick] = True
            changed = True
        if not changed:
            break
    return hidden


# --------------------------------------------------------------------------- measure results
LIMITS = ((0.95, "lower_ci", "upper_ci"), (0.998, "lower_ci_998", "upper_ci_998"))
"""Confidence levels stored with every result and their columns (metrics.stats.CONFIDENCE_LEVELS)."""
RESULTS_SPEC: dict[str, Col] = {
    "numerator": Col(Kind.COUNT, when="numerator_disclosive"),
    "denominator": Col(Kind.COUNT, when="denominator_disclosive"),
    "value": Col(Kind.VALUE),
    **{c: Col(Kind.CI) for _level, lo, hi in LIMITS for c in (lo, hi)},
}


def _results_derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """Value and limits of every result row recomputed from its rounded counts.

    value = c x numerator / denominator for every aggregation, so scaling by the rounded-to-exact
    ratios keeps c (multiplier, annualisation, standard weights) without knowing it. Limits (95% and
    99.8%) are recomputed with the row's method on the rounded counts: Wilson (proportions), exact/
    Byar (rates), Dobson (DSRs: its scale factor (value - lower) / (O - Byar_lower(O)) is kept). Means
    keep their value (the sum of days is never shown); medians and counts have no limits here.
    """
    from metrics.stats import CLUSTERED_METHOD, byars_ci_array, wilson_ci_array

    out = shown
    idx = exact.index
    agg = exact.get("aggregation", pd.Series("", index=idx)).astype("string").fillna("")
    ci = exact.get("ci_method", pd.Series("", index=idx)).astype("string").fillna("")
    mult = pd.to_numeric(exact.get("multiplier", pd.Series(1.0, index=idx)), errors="coerce").fillna(1.0).to_numpy()
    n0 = exact["numerator"].to_numpy(float)
    d0 = exact["denominator"].to_numpy(float) if "denominator" in exact else np.full(len(exact), np.nan)
    n1 = out["numerator"].to_numpy(float)
    d1 = out["denominator"].to_numpy(float) if "denominator" in out else np.full(len(out), np.nan)
    v0 = exact["value"].to_numpy(float)
    unit = exact.get("unit", pd.Series("", index=idx)).astype("string").str.lower()
    is_count = agg.eq("count").to_numpy() | unit.isin(COUNT_UNITS).fillna(False).to_numpy()
    ratio_like = agg.isin(["ratio", "rate", "dsr", "isr"]).to_numpy()
    wil, byar, dob = (ci.eq(m).to_numpy() for m in ("wilson", "byar", "dobson"))
    # person-clustered rows (caseload rates, metrics/clustered.py): their log-normal limits keep
    # their relative width around the value recomputed from the rounded counts
    clustered = (exact.get("interval_method", pd.Series("", index=idx)).astype("string")
                 .eq(CLUSTERED_METHOD).fillna(False).to_numpy(dtype=bool))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_num = np.where(n0 > 0, n1 / n0, np.where(n1 == 0, 1.0, np.nan))
        scale_den = np.where(np.isfinite(d1) & (d1 > 0) & np.isfinite(d0), d0 / d1, 1.0)
        value = np.where(ratio_like, v0 * scale_num * scale_den, v0)
        value = np.where(is_count, n1, value)
        num = np.clip(np.nan_to_num(n1), 0, np.where(np.isfinite(d1), np.nan_to_num(d1), np.inf))
        value = np.where(wil & (d1 > 0), num / np.where(d1 > 0, d1, 1) * mult, value)
        per = np.where(n1 > 0, value / np.where(n1 > 0, n1, 1), np.nan)  # rate per event: c / d
        for level, lo_col, hi_col in LIMITS:
            if lo_col not in exact:
                continue
            lo0, hi0 = exact[lo_col].to_numpy(float), exact[hi_col].to_numpy(float)
            lower, upper = lo0.copy(), hi0.copy()
            den_w = np.nan_to_num(d1)
            wl, wu = wilson_ci_array(np.minimum(num, den_w), den_w, level)
            lower, upper = np.where(wil, wl * mult, lower), np.where(wil, wu * mult, upper)
            bl1, bu1 = byars_ci_array(np.nan_to_num(n1), level)
            _bl, bu_zero = byars_ci_array(np.zeros(len(n1)), level)
            per_l = np.where(n1 == 0, hi0 / bu_zero * scale_den, per)  # no events: c / d from the upper limit
            lower, upper = np.where(byar, bl1 * per_l, lower), np.where(byar, bu1 * per_l, upper)
            bl0, _bu0 = byars_ci_array(np.nan_to_num(n0), level)
            k = np.where(n0 - bl0 > 0, (v0 - lo0) / np.where(n0 - bl0 > 0, n0 - bl0, 1), np.nan)
            lower, upper = np.where(dob, value + k * (bl1 - n1), lower), np.where(dob, value + k * (bu1 - n1), upper)
            rel = clustered & (v0 > 0) & (value > 0)
            lower = np.where(rel, value * lo0 / np.where(v0 > 0, v0, 1), lower)
            upper = np.where(rel, value * hi0 / np.where(v0 > 0, v0, 1), upper)
            out[lo_col], out[hi_col] = np.where(is_count, np.nan, lower), np.where(is_count, np.nan, upper)
    out["value"] = value
    return out


def results_hidden(frame: pd.DataFrame, policy: DisclosurePolicy) -> np.ndarray:
    """Rows of a results frame hidden by the row rules (small counts, DSR on < 10 events).

    Needs the catalogue facts columns (``unit``, ``ci_method``, ``*_disclosive``); see
    ``metrics.catalogue.disclosure_columns``.
    """
    n = len(frame)
    mask = np.zeros(n, dtype=bool)
    level = frame.get("geography_level", pd.Series("", index=frame.index)).astype("string").str.lower()
    exempt = level.isin([lvl.lower() for lvl in policy.exempt_levels]).fillna(False).to_numpy(dtype=bool)
    for col in ("numerator", "denominator"):
        if col in frame:
            flag = frame.get(f"{col}_disclosive", pd.Series(True, index=frame.index)).fillna(True).astype(bool)
            mask |= policy.small(frame[col]) & flag.to_numpy()
    if "unit" in frame and "value" in frame:
        is_count = frame["unit"].astype("string").str.lower().isin(COUNT_UNITS).fillna(False).to_numpy(dtype=bool)
        mask |= is_count & policy.small(frame["value"])
    mask &= ~exempt
    if "ci_method" in frame:
        dobson = frame["ci_method"].astype("string").str.lower().eq("dobson").fillna(False).to_numpy(dtype=bool)
        num = pd.to_numeric(frame["numerator"], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            mask |= dobson & (num < policy.min_dsr_count)
    if "aggregation" in frame:
        # A mean or median of 1-7 people: the count of people is the denominator (mean) or numerator.
        agg = frame["aggregation"].astype("string").fillna("")
        den = pd.to_numeric(frame.get("denominator", pd.Series(np.nan, index=frame.index)), errors="coerce")
        people = den.fillna(pd.to_numeric(frame["numerator"], errors="coerce")).to_numpy(float)
        mask |= agg.isin(["mean", "median"]).to_numpy() & policy.small(people) & ~exempt
    return mask


def protect_results(frame: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """A results frame (measure_result rows + catalogue facts) as it may be shown anywhere.

    The stored ``suppressed`` flag (secondary suppression, computed at refresh) is honoured.
    Means: the numerator is a total of person values (sum of days) and is not shown.
    """
    hidden = results_hidden(frame, policy)
    if "suppressed" in frame:
        hidden |= frame["suppressed"].fillna(False).astype(bool).to_numpy()
    spec = dict(RESULTS_SPEC)
    out = protect(frame, spec, policy, derive=_results_derive, level_col="geography_level", hidden_rows=hidden)
    if "aggregation" in frame:
        agg = frame["aggregation"].astype("string").fillna("")
        mean = agg.eq("mean").to_numpy(dtype=bool)
        out.loc[mean, "numerator"] = np.nan
        # value x people = total for a mean at full precision: shown to mean_decimals (not invertible
        # for 8+ people, since every count of 10+ can produce any value at that precision).
        central = agg.isin(["mean", "median"]).to_numpy(dtype=bool)
        for col in ("value", *(c for _level, lo, hi in LIMITS for c in (lo, hi))):
            if col in out:
                out.loc[central, col] = out.loc[central, col].round(policy.mean_decimals)
    return out


def additive_over_time(indicators: Iterable[object]) -> list[str]:
    """Indicators whose numerator is a count of events (rows or a sum), so months add up to quarters."""
    out = []
    for ind in indicators:
        num = getattr(ind, "numerator", None)
        if (type(num).__name__ == "Events" and getattr(num, "count", "") in ("rows", "sum")
                and not getattr(num, "snapshot", False) and getattr(num, "until", None) is None
                and getattr(ind, "aggregation", "") in SUM_AGGREGATIONS):
            out.append(ind.id)  # type: ignore[attr-defined]
    return out


def apply(df: pd.DataFrame, rule: DisclosurePolicy = DEFAULT_RULE, level_col: str = "geography_level") -> pd.DataFrame:
    """Compatibility name for ``protect_results`` (results frames)."""
    if level_col != "geography_level" and level_col in df:
        df = df.assign(geography_level=df[level_col])
    return protect_results(df, rule)


def is_suppressed_mask(df: pd.DataFrame, rule: DisclosurePolicy = DEFAULT_RULE,
                       level_col: str = "geography_level") -> pd.Series:
    """Rows hidden by the row rules (no secondary suppression): see ``results_hidden``."""
    missing = {"numerator", level_col} - set(df.columns)
    if missing:
        raise KeyError(f"results frame lacks column(s): {sorted(missing)}")
    frame = df.assign(geography_level=df[level_col]) if level_col != "geography_level" else df
    return pd.Series(results_hidden(frame, rule), index=df.index, name="suppressed", dtype=bool)


# --------------------------------------------------------------------------- secondary sets of results
@dataclass(frozen=True)
class Hierarchy:
    """Parent of each area (level, name) -> (level, name), for the 'areas of one parent' sets."""

    parent: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


def hierarchy_from_tree(tree: pd.DataFrame) -> Hierarchy:
    """From the practice -> neighbourhood -> locality -> place lookup (metrics.quality.geography_tree)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    for r in tree.itertuples(index=False):
        d = r._asdict()
        if d.get("practice_code") and d.get("neighbourhood"):
            parent[("practice", str(d["practice_code"]))] = ("neighbourhood", str(d["neighbourhood"]))
        if d.get("neighbourhood") and d.get("locality"):
            parent[("neighbourhood", str(d["neighbourhood"]))] = ("locality", str(d["locality"]))
        if d.get("locality") and d.get("place"):
            parent[("locality", str(d["locality"]))] = ("place", str(d["place"]))
        if d.get("place"):
            parent[("place", str(d["place"]))] = ("bsol", "BSol")
    return Hierarchy(parent)


SUM_AGGREGATIONS = frozenset({"ratio", "rate", "dsr", "isr", "count"})


def secondary_suppression(results: pd.DataFrame, primary: np.ndarray, hierarchy: Hierarchy,
                          additive_over_time: Iterable[str] = (), policy: DisclosurePolicy | None = None) -> np.ndarray:
    """Hidden rows of a full results table after complementary suppression (run at refresh).

    Sets, each of which adds up to a shown total: (1) the groups of one breakdown for one area and
    period; (2) the areas with one parent for one group and period (also localities of BSol);
    (3) for indicators in ``additive_over_time`` (event counts), the months of one quarter and
    the quarters of one financial year of an area and group; and, with ``policy``, (4) for the
    same indicators, consecutive rolling 12-month totals and the two months they differ by
    (``rolling_relations``). Means and medians are not additive and are left out.
    """
    hidden = np.asarray(primary, dtype=bool).copy()
    if results.empty:
        return hidden
    additive_over_time = list(additive_over_time)
    frame = results.reset_index(drop=True)
    agg = frame["aggregation"] if "aggregation" in frame else pd.Series("ratio", index=frame.index)
    additive = agg.isin(SUM_AGGREGATIONS).to_numpy()
    wanted = [c for c in ("indicator_id", "period_type", "period", "geography_level", "geography", "breakdown",
                          "group", "period_start", "period_end", "numerator") if c in frame]
    sub = frame.loc[additive, wanted].reset_index(drop=True)  # only the columns the sets read (memory)
    if sub.empty:
        return hidden
    # Each set key as an integer: rows with no such set (no parent, not a month, ...) get a key of
    # their own (negative), so they never group unrelated rows together. Same sets as string keys.
    alone = -1 - np.arange(len(sub))
    level, geography = sub["geography_level"].astype(str), sub["geography"].astype(str)
    area, areas = pd.factorize(pd.MultiIndex.from_arrays([level, geography]))
    parents = ["|".join(hierarchy.parent.get(k, ("", ""))) for k in areas]  # one per distinct area
    parent_code = pd.factorize(pd.Series(parents, dtype=object).replace("", None))[0]
    sub["parent"] = np.where(parent_code[area] >= 0, parent_code[area], alone)
    sub["bsol_parent"] = np.where(level.eq("locality").to_numpy(), 0, alone)
    sub["quarter"] = alone
    sub["year"] = alone
    timed = sub["indicator_id"].isin(list(additive_over_time)).to_numpy()
    if timed.any() and "period_start" in sub:
        start = pd.to_datetime(sub["period_start"])
        fy = np.where(start.dt.month >= 4, start.dt.year, start.dt.year - 1)
        q = ((start.dt.month - 4) % 12) // 3 + 1
        mt = timed & sub["period_type"].eq("month").to_numpy()
        qt = timed & sub["period_type"].eq("quarter").to_numpy()
        sub["quarter"] = np.where(mt, fy * 10 + q.to_numpy(), alone)
        sub["year"] = np.where(qt, fy, alone)
    sub["bd_set"] = np.where(sub["breakdown"].astype(str).ne("none").to_numpy(), 0, alone)
    base = ["indicator_id", "period_type"]
    sets = [
        [*base, "period", "geography_level", "geography", "breakdown", "bd_set"],
        [*base, "period", "breakdown", "group", "geography_level", "parent"],
        [*base, "period", "breakdown", "group", "geography_level", "bsol_parent"],
        ["indicator_id", "geography_level", "geography", "breakdown", "group", "quarter"],
        ["indicator_id", "geography_level", "geography", "breakdown", "group", "year"],
    ]
    idx = np.flatnonzero(additive)
    hidden[idx] = complementary(sub, hidden[idx], sets, "numerator", policy,
                                rolling_relations(sub, additive_over_time) if policy is not None else None)
    return hidden


__all__ = ["Col", "DEFAULT_RULE", "DisclosurePolicy", "DisclosureRule", "Hierarchy", "Kind", "apply",
           "complementary", "describe", "POLICY_INFO_KEY", "stale_policy", "hierarchy_from_tree", "is_suppressed_mask",
           "protect", "protect_results", "results_hidden", "secondary_suppression"]
