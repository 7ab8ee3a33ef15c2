"""Pre/post disclosure: the stored rows and the cohort flow as they may be shown.

Why this module exists: every edge (pages, CSV, Excel, packs) shows pre/post figures through the one
disclosure function; the column spec and the recomputation from rounded counts live once here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from metrics import disclosure
from metrics.disclosure import protect as protect_frame
from metrics.prepost.cohorts import TOTAL_CODE
from metrics.prepost.stats import rate_ratio_exact

_PP_BASIS = ("people", "pre", "post")
_DID_BASIS = ("people", "did_cases")
PREPOST_SPEC: dict[str, disclosure.Col | disclosure.Kind] = {
    "people": disclosure.Col(disclosure.Kind.COUNT),
    "pre": disclosure.Col(disclosure.Kind.COUNT, row=False),
    "post": disclosure.Col(disclosure.Kind.COUNT, row=False),
    "died_in_post": disclosure.Col(disclosure.Kind.DETAIL, basis=("people",)),
    **{c: disclosure.Col(disclosure.Kind.VALUE, basis=_PP_BASIS)
       for c in ("variance", "pct_change", "pre_per_person", "post_per_person", "pre_rate", "post_rate",
                 "rate_ratio")},
    **{c: disclosure.Col(disclosure.Kind.CI, basis=_PP_BASIS)
       for c in ("rate_ratio_lower", "rate_ratio_upper", "rr_robust_lower", "rr_robust_upper")},
    "pre_person_years": disclosure.Col(disclosure.Kind.VALUE, basis=("people",)),
    "post_person_years": disclosure.Col(disclosure.Kind.VALUE, basis=("people",)),
    "did_cases": disclosure.Col(disclosure.Kind.COUNT, row=False, basis=("people",)),
    "did_unmatched": disclosure.Col(disclosure.Kind.DETAIL, basis=_DID_BASIS),
    "did_controls": disclosure.Col(disclosure.Kind.DETAIL, basis=_DID_BASIS),
    **{c: disclosure.Col(disclosure.Kind.VALUE, basis=_DID_BASIS)
       for c in ("did_control_fraction", "case_change_pp", "control_change_pp", "did_pp", "did_share")},
    **{c: disclosure.Col(disclosure.Kind.CI, basis=_DID_BASIS) for c in ("did_lower", "did_upper")},
}
PER_PERSON_DECIMALS = 2
"""DiD per-person figures are means over matched cases: shown to 2 decimals after rescaling to the
rounded case count, so value x cases gives no exact total back."""


def _prepost_derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """Every pre/post figure from the rounded counts: variance, % change, per-person values, person-
    years (scaled to the rounded people: a full pre window is people x months / 12), rates, the exact
    rate ratio and its interval; the robust interval keeps its relative width around the new ratio;
    DiD per-person figures rescaled to the rounded case count and rounded to 2 decimals."""
    out = shown
    people0, people1 = exact["people"].to_numpy(float), out["people"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(people0 > 0, people1 / people0, math.nan)
        for c in ("pre_person_years", "post_person_years"):
            if c in out:
                out[c] = exact[c].to_numpy(float) * k
        pre, post = out["pre"].to_numpy(float), out["post"].to_numpy(float)
        out["variance"] = post - pre
        out["pct_change"] = np.where(pre > 0, (post - pre) / pre * 100, math.nan)
        out["pre_per_person"] = np.where(people1 > 0, pre / people1, math.nan)
        out["post_per_person"] = np.where(people1 > 0, post / people1, math.nan)
        t0, t1 = out["pre_person_years"].to_numpy(float), out["post_person_years"].to_numpy(float)
        out["pre_rate"] = np.where(t0 > 0, pre / t0, math.nan)
        out["post_rate"] = np.where(t1 > 0, post / t1, math.nan)
        rr = [rate_ratio_exact(a, b, c, d) if np.isfinite([a, b, c, d]).all() else (math.nan,) * 3
              for a, b, c, d in zip(pre, post, t0, t1, strict=True)]
        rr_arr = np.array(rr, dtype=float).reshape(-1, 3)
        old = exact["rate_ratio"].to_numpy(float)
        out["rate_ratio"], out["rate_ratio_lower"], out["rate_ratio_upper"] = rr_arr.T
        for c in ("rr_robust_lower", "rr_robust_upper"):
            out[c] = np.where(old > 0, exact[c].to_numpy(float) / old * rr_arr[:, 0], math.nan)
        if "did_cases" in out:
            c0, c1 = exact["did_cases"].to_numpy(float), out["did_cases"].to_numpy(float)
            kc = np.where(c1 > 0, c0 / c1, math.nan)
            for c in ("case_change_pp", "control_change_pp", "did_pp", "did_lower", "did_upper"):
                if c in out:
                    out[c] = np.round(exact[c].to_numpy(float) * kc, PER_PERSON_DECIMALS)
            if "did_share" in out:
                out["did_share"] = np.round(exact["did_share"].to_numpy(float), 3)
    return out


def for_display(frame: pd.DataFrame, rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE) -> pd.DataFrame:
    """Pre/post rows through the one disclosure function (pages, CSV, Excel, packs).

    Every row is below England (the Total row is BSol): a people count of 1-7 hides the row, a pre or
    post count of 1-7 hides that count and every figure built on it, a small DiD case count hides the
    comparison. The INT teams of one activity add up to the Total, so a team count hidden alone gets
    a complementary cell. Counts are rounded to 5 and every derived figure is computed from the
    rounded counts (``_prepost_derive``), so a displayed table adds up and cannot be inverted; e.g.
    East INT's care packages (8 -> 3) show as 10 -> [c]. The exact table needs ``--exact``.
    """
    out = frame.copy()
    if out.empty:
        return out.assign(suppressed=pd.Series(dtype=bool))
    team = (out["int_team_code"] != TOTAL_CODE).to_numpy()
    keys = [c for c in ("cohort", "window_months", "activity") if c in out]
    set_key = out[keys].astype(str).agg("|".join, axis=1) if keys else pd.Series("", index=out.index)
    out["_set"] = np.where(team, set_key, "total#" + pd.Series(np.arange(len(out)), index=out.index).astype(str))
    shown = protect_frame(out, PREPOST_SPEC, rule, derive=_prepost_derive, sets=[["_set"]], size="people")
    return shown.drop(columns="_set")


FLOW_PARTS = ("pre_before_data", "post_incomplete", "died_before_index", "included")
"""The steps of the cohort flow that add up to ``in_cohort_dates``."""


def flow_for_display(flow: Mapping[str, float], rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE) -> dict[str, float]:
    """One team's (or the Total's) cohort flow as it may be shown: counts of 1-7 hidden (NaN), the
    parts that add up to ``in_cohort_dates`` given a complementary cell, the rest rounded."""
    frame = pd.DataFrame({"step": list(flow), "n": [float(v) for v in flow.values()]})
    frame["_set"] = [("parts" if k in FLOW_PARTS else f"#{k}") for k in frame["step"]]
    shown = protect_frame(frame, {"n": disclosure.Kind.COUNT}, rule, sets=[["_set"]], size="n")
    return dict(zip(shown["step"], shown["n"], strict=True))
