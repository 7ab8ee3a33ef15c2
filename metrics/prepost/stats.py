"""Pre/post statistics: rate ratios with exact and person-clustered intervals, and the
difference-in-differences estimator.

Why this module exists: these are pure functions on counts and aggregates (no database), so they
can be checked against hand-worked answers and reused by the display rule that recomputes figures
from rounded counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from metrics import stats
from metrics.prepost.cohorts import DID_ACTIVITIES, DID_COLUMNS, STRATUM


# ------------------------------------------------------------------------------ statistics
def rate_ratio_exact(pre: float, post: float, pre_py: float, post_py: float,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """Post/pre rate ratio with the exact conditional (binomial, Clopper-Pearson) interval.

    Why: conditional on the total n = pre + post, post ~ Binomial(n, pi) with
    pi = RR*T1 / (T0 + RR*T1), so exact limits for pi map to exact limits for RR. Treats events as
    Poisson (no clustering within people: see ``rate_ratio_robust``). Returns NaN where undefined:
    no events at all, or an infinite ratio/limit (pre = 0).
    """
    nan = math.nan
    if not (pre_py > 0 and post_py > 0) or pre + post == 0:
        return nan, nan, nan
    n, x = pre + post, post
    alpha = 1.0 - confidence
    lo_pi = 0.0 if x == 0 else float(st.beta.ppf(alpha / 2, x, n - x + 1))
    hi_pi = 1.0 if x == n else float(st.beta.ppf(1 - alpha / 2, x + 1, n - x))
    scale = pre_py / post_py
    rr = nan if pre == 0 else (post / post_py) / (pre / pre_py)
    lower = lo_pi / (1 - lo_pi) * scale
    upper = nan if hi_pi >= 1 else hi_pi / (1 - hi_pi) * scale
    return rr, lower, upper


def rate_ratio_robust(y0: np.ndarray, y1: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                      confidence: float = 0.95) -> tuple[float, float]:
    """Person-clustered (sandwich) log-normal interval for the same rate ratio: the one
    implementation in metrics/stats.py (also behind the caseload rates' stored intervals)."""
    return stats.clustered_rate_ratio_ci(y0, y1, t0, t1, confidence)


def difference_in_differences(cases: pd.DataFrame, strata: pd.DataFrame,
                              confidence: float = 0.95) -> pd.DataFrame:
    """DiD per (group, activity) from per-case changes and per-stratum control sums.

    Estimator (exact stratification, every eligible control in the case's stratum):
    DiD = mean over matched cases of [change_i - mean control change in i's stratum]. Variance =
    var(case changes)/N + sum_s (N_s/N)^2 S_s^2 / n_s, with S_s^2 the control variance in stratum s
    (pooled control variance where n_s < 2), strata weights fixed; normal-theory interval.
    ``did_share`` = DiD / case change: the part of the before/after change the INT may explain.
    """
    z = float(st.norm.ppf(0.5 + confidence / 2))
    keys = [*STRATUM, "prior_band"]
    rows = []
    for act in DID_ACTIVITIES:
        s = strata[[*keys, "n", f"pre_{act}", f"post_{act}", f"ss_{act}"]].copy()
        s["sum_d"] = s[f"post_{act}"] - s[f"pre_{act}"]
        s["mean_d"] = s["sum_d"] / s["n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            s["var_d"] = (s[f"ss_{act}"] - s["sum_d"] ** 2 / s["n"]) / (s["n"] - 1)
        tot_n = s["n"].sum()
        pooled = ((s[f"ss_{act}"].sum() - s["sum_d"].sum() ** 2 / tot_n) / (tot_n - 1)) if tot_n > 1 else 0.0
        s["var_d"] = s["var_d"].where(s["n"] >= 2, pooled).clip(lower=0)
        c = cases[["grp", *keys]].assign(d=cases[f"post_{act}"] - cases[f"pre_{act}"])
        c = c.merge(s[[*keys, "n", "mean_d", "var_d"]], on=keys, how="left")
        for grp, g in c.groupby("grp", sort=False):
            matched = g[g["n"].notna()]
            n_cases = len(matched)
            row = {"grp": grp, "activity": act, "did_cases": n_cases, "did_unmatched": len(g) - n_cases}
            if n_cases == 0:
                rows.append(row)
                continue
            case_change = float(matched["d"].mean())
            control_change = float(matched["mean_d"].mean())
            did = case_change - control_change
            per_stratum = matched.groupby(keys).agg(k=("d", "size"), n=("n", "first"), v=("var_d", "first"))
            var_cases = float(matched["d"].var(ddof=1)) / n_cases if n_cases > 1 else 0.0
            var_controls = float(((per_stratum["k"] / n_cases) ** 2 * per_stratum["v"] / per_stratum["n"]).sum())
            se = math.sqrt(var_cases + var_controls)
            row.update({
                "did_controls": float(per_stratum["n"].sum()), "case_change_pp": case_change,
                "control_change_pp": control_change, "did_pp": did, "did_lower": did - z * se,
                "did_upper": did + z * se, "did_share": did / case_change if case_change < 0 else math.nan,
            })
            rows.append(row)
    return pd.DataFrame(rows, columns=["grp", "activity", *[c for c in DID_COLUMNS if c != "did_control_fraction"]])
