"""XmR statistical process control charts exactly as NHSRplotthedots 0.2 ("Making Data Count").

Why: trend pages show whether a change is signal or noise using the same rules, point colours
and icons as NHS England's Making Data Count (MDC) and the NHSRplotthedots R package (0.2.2,
``ptd_spc_standard.R`` and ``ptd_calculate_point_type.R``), so operational colleagues read the
charts the way they read every other NHS SPC chart.

Rows are points in time order. Missing values (e.g. suppressed cells) stay as rows and are GAPS:
as in NHSRplotthedots (where ``NA`` propagates), a gap has no moving range on either side, and
no run, trend or two-of-three window may span it. Pass exact values with suppressed points set to
NaN, so a limit never encodes a hidden point.

Segments: ``rebase`` starts a new segment (NHSRplotthedots ``rebase_group``) at each given point;
limits and every rule are computed within a segment only. Within a segment:
* ``fix_y`` = the first ``baseline`` rows (all rows when None; NHSRplotthedots
  ``fix_after_n_points`` counts rows, gaps included); mean = mean of the non-missing ``fix_y``;
  ``mr_i = |fix_y_i - fix_y_{i-1}|`` (missing if either is missing); ``amr`` = mean moving range;
  moving ranges >= 3.267 * amr are dropped and amr recomputed (``screen_outliers``).
* process limits ``mean +/- 2.66 amr``; two-sigma lines ``mean +/- 2 (2.66 / 3) amr``.

Special-cause rules (NHSRplotthedots, rule lengths configurable, MDC default 7):
* outside_limits: point strictly above the upper or below the lower process limit;
* shift: ``SpcRules.shift`` consecutive points on the same side of the mean (a point on the
  mean or a gap breaks it); every point of the run is flagged;
* trend: ``SpcRules.trend`` consecutive points each strictly higher (or lower) than the one
  before (ties and gaps break it); every point of the run is flagged;
* two_of_three: a window of 3 consecutive points, ALL on the same side of the mean, of which at
  least 2 are "close to limits" -- strictly beyond the two-sigma line but not outside the process
  limits. Only the close-to-limit points are flagged (a point outside the limits is flagged by
  outside_limits instead, and counts towards neither the two nor the flag).

Point direction and type come from the first rule that fires in NHSRplotthedots' priority order:
outside_limits, trend, two_of_three, shift. Trends use the direction of the step to the right
when the next point is also in a trend, else the step from the left (ptd_special_cause_type).

Deliberate difference: when every moving range is 0 (a flat series) NHSRplotthedots' screening
drops them all and its limits become NaN; here the limits collapse onto the mean instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

HIGH_IS_GOOD = "HIGH_IS_GOOD"
LOW_IS_GOOD = "LOW_IS_GOOD"
NO_JUDGEMENT = "NO_JUDGEMENT"
_POLARITY_SIGN = {HIGH_IS_GOOD: 1, LOW_IS_GOOD: -1, NO_JUDGEMENT: 0}

LIMIT = 2.66  # 3 / d2 with d2 = 1.128 for moving ranges of 2
OUTLIER_MR = 3.267  # D4 for n = 2: upper range limit used to screen moving ranges
RULE_ORDER = ("outside_limits", "trend", "two_of_three", "shift")
TOO_FEW_POINTS = "Too few points"

COLUMNS = [
    "x",
    "value",
    "segment",
    "mean",
    "mr",
    "upper_limit",
    "lower_limit",
    "upper_one_sigma",
    "lower_one_sigma",
    "upper_two_sigma",
    "lower_two_sigma",
    "outside_limits",
    "shift",
    "trend",
    "two_of_three",
    "special_cause",
    "direction",
    "rule",
    "point_type",
    "target",
    "trial_limits",
]
LINE_COLUMNS = COLUMNS[3:11]
FLAG_COLUMNS = ("outside_limits", "shift", "trend", "two_of_three", "special_cause")


@dataclass(frozen=True)
class SpcRules:
    """Configurable rule lengths (MDC defaults) and chart options.

    shift/trend: run lengths; min_points: a segment with fewer non-missing points than this has
    trial limits (NHSRplotthedots warns below 12); icon_points: fewer points than this in the
    latest segment and no variation or assurance icon is shown ("too few points") -- default the
    longest rule, since a shorter series cannot show a shift or a trend at all (so a 3- or 4-point
    financial-year series gets none); screen_outliers: drop moving ranges >= 3.267 * amr.
    """

    shift: int = 7
    trend: int = 7
    min_points: int = 12
    screen_outliers: bool = True
    icon_points: int | None = None

    def __post_init__(self) -> None:
        if self.shift < 2 or self.trend < 3 or self.min_points < 2:
            raise ValueError("shift must be >= 2, trend >= 3 and min_points >= 2")

    @property
    def min_icon_points(self) -> int:
        return self.icon_points if self.icon_points is not None else max(self.shift, self.trend)


@dataclass(frozen=True)
class SpcSummary:
    """What the tile/icon needs about the latest point of an XmR chart.

    variation: MDC variation icon name or None (too few points); assurance: "pass", "fail",
    "hit_or_miss" or None (no target / NO_JUDGEMENT / too few points); rule: a sentence naming the
    rule(s) that fired for the latest point, or "Too few points ..." when icons are withheld.
    """

    variation: str | None
    assurance: str | None
    rule: str | None
    trial_limits: bool
    n_points: int
    latest_value: float | None


def _check_polarity(polarity: str) -> int:
    if polarity not in _POLARITY_SIGN:
        raise ValueError(f"polarity must be one of {tuple(_POLARITY_SIGN)}, got {polarity!r}")
    return _POLARITY_SIGN[polarity]


# --------------------------------------------------------------------------- rule helpers
# Each takes one segment's row arrays; NaN stands for a gap (NHSRplotthedots' NA) and never
# satisfies a condition, so no window containing a gap can fire.


def _runs_flag(code: np.ndarray, length: int) -> np.ndarray:
    """Flag every element of a maximal run of >= ``length`` equal, non-zero, non-NaN codes."""
    flag = np.zeros(code.size, dtype=bool)
    start = 0
    for i in range(1, code.size + 1):
        if i == code.size or code[i] != code[start]:  # NaN never equals: a gap ends a run
            if code[start] != 0 and not np.isnan(code[start]) and i - start >= length:
                flag[start:i] = True
            start = i
    return flag


def shift_flags(side: np.ndarray, length: int = 7) -> np.ndarray:
    """``ptd_seven_point_one_side_mean`` + ``ptd_part_of_seven_trend``, any run length.

    ``side`` is sign(value - mean) per row (NaN for a gap).
    """
    return _runs_flag(np.asarray(side, dtype=float), length)


def trend_flags(y: np.ndarray, length: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``ptd_seven_point_trend`` + ``ptd_part_of_seven_trend`` and the trend direction per point.

    A point is in a trend when it belongs to ``length`` consecutive points each strictly above
    (below) the previous one. Direction: +1/-1 from the step to the right when the next point is
    also in a trend, else from the left (ptd_special_cause_type's ``sdy``); 0 outside trends.
    """
    y = np.asarray(y, dtype=float)
    flag = np.zeros(y.size, dtype=bool)
    direction = np.zeros(y.size, dtype=int)
    if y.size < length:
        return flag, direction
    steps = np.sign(np.diff(y))  # NaN across a gap
    step_run = _runs_flag(steps, length - 1)  # length points = length - 1 equal steps
    flag[:-1] |= step_run
    flag[1:] |= step_run
    for i in np.flatnonzero(flag):
        right = i + 1 < y.size and flag[i + 1]
        step = steps[i] if right else steps[i - 1]
        direction[i] = int(step)
    return flag, direction


def two_of_three_flags(close: np.ndarray, side: np.ndarray) -> np.ndarray:
    """``ptd_two_in_three`` + ``ptd_part_of_two_in_three``.

    ``close``: 1 where a point is beyond two sigma but within the limits, 0 otherwise, NaN for a
    gap; ``side``: sign(value - mean), NaN for a gap. A window of three fires when >= 2 are close
    and all three are on the same side of the mean; only close points in a firing window are flagged.
    """
    c = np.asarray(close, dtype=float)
    r = np.asarray(side, dtype=float)
    n = c.size
    fires = np.zeros(max(n - 2, 0), dtype=bool)
    with np.errstate(invalid="ignore"):
        for i in range(n - 2):
            fires[i] = bool(np.nansum(c[i : i + 3]) >= 2 and not np.isnan(c[i : i + 3]).any()
                            and abs(np.sum(r[i : i + 3])) == 3)
    in_window = np.zeros(n, dtype=bool)
    for start in np.flatnonzero(fires):
        in_window[start : start + 3] = True
    return in_window & (c == 1)


# --------------------------------------------------------------------------- the chart


def _empty_columns(x: np.ndarray, values: np.ndarray, segment: np.ndarray, target: float | None) -> dict[str, np.ndarray]:
    """Every column of the chart table as a plain array, before any segment fills its rows."""
    n = values.size
    cols: dict[str, np.ndarray] = {"x": x, "value": values, "segment": segment}
    cols.update({col: np.full(n, np.nan) for col in LINE_COLUMNS})
    cols.update({col: np.zeros(n, dtype=bool) for col in FLAG_COLUMNS})
    cols["direction"] = np.zeros(n, dtype=int)
    cols["rule"] = np.full(n, None, dtype=object)
    cols["point_type"] = np.full(n, None, dtype=object)
    cols["target"] = np.full(n, np.nan if target is None else float(target))
    cols["trial_limits"] = np.ones(n, dtype=bool)
    return cols


def _segments(x: pd.Series, rebase: Iterable[object] | None) -> np.ndarray:
    """Segment number per row: each rebase point starts a new one at the first x >= it."""
    seg = np.zeros(len(x), dtype=int)
    if rebase is None or len(x) == 0:
        return seg
    xs = x.to_numpy()
    for point in rebase:
        if isinstance(xs[0], pd.Timestamp | np.datetime64) or pd.api.types.is_datetime64_any_dtype(x):
            point = pd.Timestamp(point)
        at = np.flatnonzero(xs >= point)
        if at.size and at[0] > 0:
            seg[at[0]:] += 1
    # renumber 0, 1, 2 ... (two rebase points falling on the same row make one boundary)
    _, seg = np.unique(seg, return_inverse=True)
    return seg


def _segment(y: np.ndarray, sign: int, rules: SpcRules, baseline: int | None) -> dict[str, np.ndarray]:
    """Limits, rules and point types for one segment's rows (see the module docstring)."""
    n = y.size
    fix = y.copy()
    if baseline is not None:
        fix[baseline:] = np.nan
    out: dict[str, np.ndarray] = {}
    mr = np.full(n, np.nan)
    mr[1:] = np.abs(np.diff(fix))
    out["mr"] = mr
    n_base = int(np.count_nonzero(~np.isnan(fix)))
    out["trial_limits"] = np.full(n, n_base < rules.min_points)
    if n_base == 0 or np.isnan(mr).all():
        if n_base:
            out["mean"] = np.full(n, float(np.nanmean(fix)))
        return out
    centre = float(np.nanmean(fix))
    amr = float(np.nanmean(mr))
    if rules.screen_outliers and amr > 0:
        amr = float(np.nanmean(np.where(mr < OUTLIER_MR * amr, mr, np.nan)))
    lines = {
        "mean": centre,
        "upper_limit": centre + LIMIT * amr,
        "lower_limit": centre - LIMIT * amr,
        "upper_one_sigma": centre + LIMIT / 3 * amr,
        "lower_one_sigma": centre - LIMIT / 3 * amr,
        "upper_two_sigma": centre + 2 * LIMIT / 3 * amr,
        "lower_two_sigma": centre - 2 * LIMIT / 3 * amr,
    }
    for col, val in lines.items():
        out[col] = np.full(n, val)
    gap = np.isnan(y)
    with np.errstate(invalid="ignore"):
        outside = (y > lines["upper_limit"]) | (y < lines["lower_limit"])
        side = np.sign(y - centre)  # NaN at gaps
        close = np.where(gap, np.nan,
                         (~outside & ((y > lines["upper_two_sigma"]) | (y < lines["lower_two_sigma"]))).astype(float))
    flags = {
        "outside_limits": outside,
        "shift": shift_flags(side, rules.shift),
        "two_of_three": two_of_three_flags(close, side),
    }
    flags["trend"], trend_dir = trend_flags(y, rules.trend)
    side_int = np.nan_to_num(side).astype(int)
    direction = np.zeros(n, dtype=int)
    rule = np.full(n, None, dtype=object)
    for name in reversed(RULE_ORDER):  # highest priority written last
        hit = flags[name]
        direction[hit] = trend_dir[hit] if name == "trend" else side_int[hit]
        rule[hit] = name
    special = np.zeros(n, dtype=bool)
    for name in RULE_ORDER:
        special |= flags[name]
    point_type = np.where(gap, np.array(None, dtype=object), "common_cause").astype(object)
    if sign == 0:
        point_type[special] = "special_cause_neither"
    else:
        good = direction * sign > 0
        point_type[special & good] = "special_cause_improvement"
        point_type[special & ~good] = "special_cause_concern"
    out.update(flags)
    out.update(special_cause=special, direction=direction, rule=rule, point_type=point_type)
    return out


def xmr(
    values: Sequence[float] | np.ndarray | pd.Series,
    dates: Sequence[object] | pd.Series | pd.Index | None = None,
    polarity: str = HIGH_IS_GOOD,
    target: float | None = None,
    rule_lengths: SpcRules = SpcRules(),
    baseline: int | None = None,
    rebase: Iterable[object] | None = None,
) -> pd.DataFrame:
    """XmR chart data for one series, one row per input point (see module docstring).

    Why: a pure table the figure helper and the tiles both read, so the chart and the icon can
    never disagree. ``dates`` (optional) become column ``x`` and the rows are sorted by them;
    otherwise x = 1..n in input order. ``baseline`` fixes the mean and limits of each segment on
    its first ``baseline`` rows (NHSRplotthedots ``fix_after_n_points``); ``rebase`` lists x values
    (dates, or 1-based positions without dates) where a new segment with its own limits starts.
    ``trial_limits`` is True where a segment's limits rest on fewer than ``min_points`` points.
    """
    sign = _check_polarity(polarity)
    y_all = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    if dates is not None:
        x = pd.Series(dates).reset_index(drop=True)
        if len(x) != y_all.size:
            raise ValueError("dates and values must have the same length")
        order = np.argsort(x.to_numpy(), kind="stable")
        x = x.iloc[order].reset_index(drop=True)
        y_all = y_all[order]
    else:
        x = pd.Series(np.arange(1, y_all.size + 1))
    if baseline is not None and baseline < 1:
        raise ValueError("baseline must be a positive number of points")
    segment = _segments(x, rebase)
    cols = _empty_columns(x.to_numpy(), y_all, segment, target)
    for seg in np.unique(segment):
        rows = np.flatnonzero(segment == seg)
        for col, arr in _segment(y_all[rows], sign, rule_lengths, baseline).items():
            cols[col][rows] = arr
    for col in ("rule", "point_type"):  # labels with gaps: kept as objects (None), not inferred as strings
        cols[col] = pd.Series(cols[col], dtype=object)
    return pd.DataFrame(cols, columns=COLUMNS)  # built once: column-by-column assignment cost more than the rules


def segment_starts(frame: pd.DataFrame) -> list[int]:
    """Row positions where a rebased segment starts (for drawing the rebase on the chart)."""
    seg = frame["segment"].to_numpy()
    return [int(i) for i in np.flatnonzero(np.diff(seg) != 0) + 1]


def _run_length_at_end(values: np.ndarray) -> int:
    """Length of the run of equal values ending at the last element."""
    last = values[-1]
    n = 0
    for v in values[::-1]:
        if v != last:
            break
        n += 1
    return n


def _describe(frame: pd.DataFrame, pos: int) -> str:
    """Human sentence for the rules that fired at row ``pos`` (the latest valid point)."""
    row = frame.iloc[pos]
    seg = frame[frame["segment"] == row["segment"]]
    y = seg["value"].to_numpy(dtype=float)[: pos - int(seg.index[0]) + 1]
    above = row["value"] > row["mean"]
    parts: list[str] = []
    if row["outside_limits"]:
        where = "above the upper" if above else "below the lower"
        parts.append(f"Latest point {where} process limit (outside limits)")
    if row["trend"]:
        steps = np.sign(np.diff(y)).astype(int)
        n = _run_length_at_end(steps) + 1
        word = "increasing" if steps[-1] > 0 else "decreasing"
        parts.append(f"Latest {n} points {word} (trend)")
    if row["two_of_three"]:
        where = "above" if above else "below"
        parts.append(f"2 of the latest 3 points beyond 2 sigma {where} the mean (two of three)")
    if row["shift"]:
        side = np.sign(y - row["mean"]).astype(int)
        n = _run_length_at_end(side)
        where = "above" if above else "below"
        parts.append(f"Latest {n} points {where} the mean (shift)")
    if not parts:
        return "Latest point shows common cause variation (no rule fired)"
    return "; ".join(parts)


def summarise(
    frame: pd.DataFrame, polarity: str = HIGH_IS_GOOD, target: float | None = None,
    rules: SpcRules = SpcRules(),
) -> SpcSummary:
    """MDC variation and assurance icons for the latest non-missing point of an ``xmr`` frame.

    Why: the indicator tiles show the two MDC icons without drawing the chart. Fewer than
    ``rules.min_icon_points`` non-missing points in the latest segment: no icons, "Too few points".
    variation: "common_cause" or "special_cause_{improvement|concern|neither}_{high|low}" (high/low
    = the direction of the signal). assurance (needs a target and a polarity with a direction),
    using the latest limits as ``ptd_calculate_assurance_type``: HIGH_IS_GOOD -> "pass" if
    target < lower limit, "fail" if target > upper limit, else "hit_or_miss"; LOW_IS_GOOD the mirror.
    """
    sign = _check_polarity(polarity)
    valid_pos = np.flatnonzero(frame["value"].notna().to_numpy())
    trial = bool(frame["trial_limits"].iloc[-1]) if len(frame) else True
    if valid_pos.size == 0:
        return SpcSummary(None, None, None, trial, 0, None)
    pos = int(valid_pos[-1])
    row = frame.iloc[pos]
    latest_value = float(row["value"])
    in_segment = int(frame.loc[frame["segment"] == row["segment"], "value"].notna().sum())
    min_points = rules.min_icon_points
    if in_segment < min_points or pd.isna(row["upper_limit"]):
        since = " since the last rebase" if row["segment"] else ""
        return SpcSummary(None, None, f"{TOO_FEW_POINTS} for SPC icons ({in_segment}{since}; "
                          f"{min_points} needed)", trial, in_segment, latest_value)

    if row["special_cause"]:
        high_low = "high" if row["direction"] > 0 else "low"
        if sign == 0:
            kind = "neither"
        else:
            kind = "improvement" if row["direction"] * sign > 0 else "concern"
        variation = f"special_cause_{kind}_{high_low}"
    else:
        variation = "common_cause"

    assurance: str | None = None
    if target is not None and not pd.isna(target) and sign != 0:
        upper, lower = float(row["upper_limit"]), float(row["lower_limit"])
        if target < lower:
            assurance = "pass" if sign > 0 else "fail"
        elif target > upper:
            assurance = "fail" if sign > 0 else "pass"
        else:
            assurance = "hit_or_miss"

    return SpcSummary(variation, assurance, _describe(frame, pos), trial, in_segment, latest_value)
