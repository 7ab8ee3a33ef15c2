"""XmR statistical process control charts in the NHS England "Making Data Count" style.

Why: trend pages show whether a change is signal or noise using the same rules, point colours
and icons as NHS England's Making Data Count (MDC) and the NHSRplotthedots R package, so
operational colleagues read the charts the way they read every other NHS SPC chart.

Method (XmR / individuals chart):
* mean of the (baseline) values; moving range ``mr_i = |x_i - x_{i-1}|`` between consecutive
  non-missing points; average moving range ``amr`` over the baseline, after screening out moving
  ranges >= 3.267 * amr (NHSRplotthedots ``screen_outliers``; skipped when amr is 0).
* process limits ``mean +/- 2.66 * amr`` (3 sigma, sigma = amr / 1.128); one/two sigma lines at
  ``mean +/- (2.66 / 3) * amr`` and ``mean +/- 2 * (2.66 / 3) * amr``.

Special-cause rules (each flags every point that belongs to the pattern):
* outside_limits: point strictly above the upper or below the lower process limit;
* shift: a run of >= ``SpcRules.shift`` (default 7) consecutive points on the same side of the
  mean (a point exactly on the mean breaks the run);
* trend: >= ``SpcRules.trend`` (default 7) consecutive points each strictly higher (or each
  strictly lower) than the one before (a tie breaks the trend);
* two_of_three: at least 2 of 3 consecutive points beyond the same two-sigma line (strictly
  above the upper or below the lower); the points beyond it are flagged. As in the Western
  Electric rule, points beyond the process limits count as beyond two sigma (NHSRplotthedots
  counts only points between the 2-sigma line and the limit, and needs the third point on the
  same side of the mean).

Point direction, used for improvement/concern, is taken from the first rule that fires in
NHSRplotthedots' priority order: outside_limits, trend, two_of_three, shift. The trend rule
uses the direction of the trend; the others the side of the mean.

Missing values are kept as rows (so the frame lines up with the input) but skipped in every
calculation; their flags are False and their point_type is None.
"""

from __future__ import annotations

from collections.abc import Sequence
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

COLUMNS = [
    "x",
    "value",
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


@dataclass(frozen=True)
class SpcRules:
    """Configurable rule lengths (MDC defaults) and chart options.

    shift/trend: run lengths; min_points: fewer baseline points than this -> trial limits;
    screen_outliers: drop moving ranges >= 3.267 * amr before the final amr (NHSRplotthedots).
    """

    shift: int = 7
    trend: int = 7
    min_points: int = 12
    screen_outliers: bool = True

    def __post_init__(self) -> None:
        if self.shift < 2 or self.trend < 3 or self.min_points < 2:
            raise ValueError("shift must be >= 2, trend >= 3 and min_points >= 2")


@dataclass(frozen=True)
class SpcSummary:
    """What the tile/icon needs about the latest point of an XmR chart.

    variation: MDC variation icon name or None (too few points); assurance: "pass", "fail",
    "hit_or_miss" or None (no target / NO_JUDGEMENT / too few points); rule: a sentence naming the
    rule(s) that fired for the latest point.
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


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, label) for each maximal run of equal labels (stop exclusive)."""
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            out.append((start, i, int(labels[start])))
            start = i
    return out


def _shift(side: np.ndarray, length: int) -> np.ndarray:
    flag = np.zeros(side.size, dtype=bool)
    for start, stop, label in _runs(side):
        if label != 0 and stop - start >= length:
            flag[start:stop] = True
    return flag


def _trend(y: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Flags and direction (+1/-1) for points in a run of ``length`` strictly monotone points."""
    flag = np.zeros(y.size, dtype=bool)
    direction = np.zeros(y.size, dtype=int)
    if y.size < length:
        return flag, direction
    steps = np.sign(np.diff(y)).astype(int)
    for start, stop, label in _runs(steps):
        # steps[start:stop] join points start .. stop (inclusive): stop - start + 1 points
        if label != 0 and stop - start + 1 >= length:
            flag[start : stop + 1] = True
            direction[start : stop + 1] = label  # later run wins at a turning point
    return flag, direction


def _two_of_three(y: np.ndarray, upper2: float, lower2: float) -> np.ndarray:
    flag = np.zeros(y.size, dtype=bool)
    for beyond in (y > upper2, y < lower2):
        for i in range(y.size - 2):
            window = beyond[i : i + 3]
            if window.sum() >= 2:
                flag[i : i + 3] |= window
    return flag


def _empty_frame(
    x: pd.Index | np.ndarray, values: np.ndarray, target: float | None
) -> pd.DataFrame:
    n = values.size
    frame = pd.DataFrame({"x": x, "value": values})
    for col in COLUMNS[2:10]:
        frame[col] = np.nan
    for col in ("outside_limits", "shift", "trend", "two_of_three", "special_cause"):
        frame[col] = np.zeros(n, dtype=bool)
    frame["direction"] = np.zeros(n, dtype=int)
    frame["rule"] = pd.Series([None] * n, dtype=object)
    frame["point_type"] = pd.Series([None] * n, dtype=object)
    frame["target"] = np.nan if target is None else float(target)
    frame["trial_limits"] = True
    return frame[COLUMNS]


def xmr(
    values: Sequence[float] | np.ndarray | pd.Series,
    dates: Sequence[object] | pd.Series | pd.Index | None = None,
    polarity: str = HIGH_IS_GOOD,
    target: float | None = None,
    rule_lengths: SpcRules = SpcRules(),
    baseline: int | None = None,
) -> pd.DataFrame:
    """XmR chart data for one series, one row per input point (see module docstring).

    Why: a pure table the figure helper and the tiles both read, so the chart and the icon can
    never disagree. ``dates`` (optional) become column ``x`` and the rows are sorted by them;
    otherwise x = 1..n in input order. ``baseline`` fixes the mean and limits on the first
    ``baseline`` non-missing points (MDC "fix after n points"); the rules are applied to every point.
    ``trial_limits`` is True when the limits rest on fewer than ``rule_lengths.min_points`` points.
    With fewer than 2 non-missing (baseline) points the limits are NaN and point_type is None.
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

    frame = _empty_frame(x.to_numpy(), y_all, target)
    valid = ~np.isnan(y_all)
    idx = np.flatnonzero(valid)
    y = y_all[valid]
    mr = np.abs(np.diff(y))
    frame.loc[idx[1:], "mr"] = mr

    n_base = y.size if baseline is None else min(baseline, y.size)
    frame["trial_limits"] = n_base < rule_lengths.min_points
    if n_base < 2:
        if n_base == 1:
            frame.loc[idx, "mean"] = float(y[0])
        return frame

    base = y[:n_base]
    centre = float(base.mean())
    base_mr = mr[: n_base - 1]
    amr = float(base_mr.mean())
    if rule_lengths.screen_outliers and amr > 0:
        kept = base_mr[base_mr < OUTLIER_MR * amr]
        amr = float(kept.mean()) if kept.size else amr

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
        frame[col] = val

    side = np.sign(y - centre).astype(int)
    flags = {
        "outside_limits": (y > lines["upper_limit"]) | (y < lines["lower_limit"]),
        "shift": _shift(side, rule_lengths.shift),
        "two_of_three": _two_of_three(y, lines["upper_two_sigma"], lines["lower_two_sigma"]),
    }
    flags["trend"], trend_dir = _trend(y, rule_lengths.trend)

    direction = np.zeros(y.size, dtype=int)
    rule = np.full(y.size, None, dtype=object)
    for name in reversed(RULE_ORDER):  # highest priority written last
        hit = flags[name]
        direction[hit] = trend_dir[hit] if name == "trend" else side[hit]
        rule[hit] = name
    special = np.zeros(y.size, dtype=bool)
    for name in RULE_ORDER:
        special |= flags[name]

    point_type = np.full(y.size, "common_cause", dtype=object)
    if sign == 0:
        point_type[special] = "special_cause_neither"
    else:
        good = direction * sign > 0
        point_type[special & good] = "special_cause_improvement"
        point_type[special & ~good] = "special_cause_concern"

    for name, hit in flags.items():
        frame.loc[idx, name] = hit
    frame.loc[idx, "special_cause"] = special
    frame.loc[idx, "direction"] = direction
    frame.loc[idx, "rule"] = rule
    frame.loc[idx, "point_type"] = point_type
    return frame


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
    y = frame["value"].to_numpy(dtype=float)[: pos + 1]
    y = y[~np.isnan(y)]
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
    frame: pd.DataFrame, polarity: str = HIGH_IS_GOOD, target: float | None = None
) -> SpcSummary:
    """MDC variation and assurance icons for the latest non-missing point of an ``xmr`` frame.

    Why: the indicator tiles show the two MDC icons without drawing the chart.
    variation: "common_cause" or "special_cause_{improvement|concern|neither}_{high|low}" (high/low
    = the direction of the signal). assurance (needs a target and a polarity with a direction),
    using the latest limits: HIGH_IS_GOOD -> "pass" if target < lower limit, "fail" if
    target > upper limit, else "hit_or_miss"; LOW_IS_GOOD the mirror image (as NHSRplotthedots;
    a target exactly on a limit is "hit_or_miss").
    """
    sign = _check_polarity(polarity)
    valid_pos = np.flatnonzero(frame["value"].notna().to_numpy())
    trial = bool(frame["trial_limits"].iloc[0]) if len(frame) else True
    if valid_pos.size == 0:
        return SpcSummary(None, None, None, trial, 0, None)
    pos = int(valid_pos[-1])
    row = frame.iloc[pos]
    latest_value = float(row["value"])
    if pd.isna(row["upper_limit"]):
        return SpcSummary(
            None, None, "Not enough data points for SPC", trial, int(valid_pos.size), latest_value
        )

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

    return SpcSummary(
        variation, assurance, _describe(frame, pos), trial, int(valid_pos.size), latest_value
    )
