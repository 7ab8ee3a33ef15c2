"""Funnel plots of practices (or neighbourhoods) around the BSol value, from displayed results.

Why: a league table of practices invites ranking noise; a funnel plot shows each practice against
limits that narrow as its population grows (Spiegelhalter 2005). Limits at 95% and 99.8% around
BSol, as PHEindicatormethods' ``calculate_funnel_limits``; with the catalogue's ``dispersion``
they are widened for over-dispersion (multiplicative phi or additive random-effects tau^2 from
winsorised z-scores), because registers and practice totals of many thousands make exact limits
flag almost every practice. Caseload rates (``person_clustered``): the same people recur, so the
limits are widened by BSol's own person-level over-dispersion, phi = sandwich variance / Poisson
variance, read from BSol's stored person-clustered interval (``stats.clustered_phi``; made from
per-person counts at refresh, metrics/clustered.py); without it, the random-effects adjustment.

Input rows are already disclosure-controlled (suppressed rows are left out of the plot); the
limits depend only on the BSol value and the denominators, so they reveal nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics import stats
from metrics.catalogue import Indicator

GRID_POINTS = 100  # as calculate_funnel_limits


@dataclass(frozen=True)
class Funnel:
    """What the figure needs: points, limit curves and a sentence on the method."""

    points: pd.DataFrame  # geography, x (denominator), value, position
    curves: pd.DataFrame  # level (0.95 / 0.998), side (lower/upper), x, limit
    benchmark: float
    method: str
    x_label: str


def kind_of(indicator: Indicator) -> str | None:
    """'proportion' (Wilson), 'rate' (Byar's, Dobson) or None: no funnel for counts or means."""
    if indicator.ci == "wilson":
        return "proportion"
    if indicator.ci in ("byar", "dobson"):
        return "rate"
    return None


def _exposure(rows: pd.DataFrame, indicator: Indicator) -> np.ndarray:
    """Denominator on the scale of the value: person-years when the rate is annualised."""
    d = rows["denominator"].astype(float).to_numpy()
    if indicator.annualised:
        days = (pd.to_datetime(rows["period_end"]) - pd.to_datetime(rows["period_start"])).dt.days + 1
        d = d * days.to_numpy() / 365.25
    return d


def _clustered_dispersion(bsol: pd.Series | None, indicator: Indicator, n_areas: int) -> stats.Dispersion | None:
    """Multiplicative phi from BSol's stored person-clustered interval (None when it has none)."""
    if bsol is None or bsol.get("interval_method") != stats.CLUSTERED_METHOD or bool(bsol.get("suppressed")):
        return None
    den = float(_exposure(bsol.to_frame().T, indicator)[0])
    phi = stats.clustered_phi(float(bsol["value"]), float(bsol["upper_ci"]), den, indicator.multiplier)
    if not np.isfinite(phi):
        return None
    return stats.Dispersion(phi=max(phi, 1.0), tau2=0.0, overdispersed=phi > 1.0, n_areas=n_areas)


def funnel(rows: pd.DataFrame, benchmark: float | None, indicator: Indicator,
           bsol: pd.Series | None = None) -> Funnel | None:
    """Funnel of ``rows`` (one period, one geography level, displayed values) around ``benchmark``.

    ``bsol``: BSol's displayed row, whose stored person-clustered interval sets the caseload
    rates' limits. None when the indicator has no funnel, there is no benchmark, or fewer than 3
    areas can be shown.
    """
    kind = kind_of(indicator)
    if kind is None or benchmark is None or not np.isfinite(benchmark) or benchmark <= 0:
        return None
    shown = rows[~rows["suppressed"].astype(bool) & rows["value"].notna() & (rows["denominator"] > 0)]
    if len(shown) < 3:
        return None
    mult = indicator.multiplier
    x = _exposure(shown, indicator)
    y = shown["value"].astype(float).to_numpy() / mult
    avg = benchmark / mult
    method = indicator.dispersion if indicator.dispersion != "person_clustered" else "random_effects"
    clustered = _clustered_dispersion(bsol, indicator, len(shown)) if indicator.dispersion == "person_clustered" else None
    if clustered is not None:
        method = "multiplicative"
    lo_x, hi_x = float(np.nanmin(x)), float(np.nanmax(x))
    grid = np.unique(np.geomspace(max(1.0, lo_x * 0.5), hi_x * 1.05, GRID_POINTS))
    curves = []
    if method == "none":
        for level in stats.FUNNEL_LEVELS:
            if kind == "proportion":
                lower, upper = stats.funnel_proportion_limits(grid, avg, level)
                parts = ((grid, lower, "lower"), (grid, upper, "upper"))
            else:
                events = np.unique(np.geomspace(1, max(2.0, avg * hi_x * 1.05), GRID_POINTS).round())
                d_lo, r_lo, d_hi, r_hi = stats.funnel_rate_limits(events, avg, level)
                parts = ((d_lo, r_lo, "lower"), (d_hi, r_hi, "upper"))
            for cx, limit, side in parts:
                keep = (cx >= grid[0]) & (cx <= grid[-1])
                curves.append(pd.DataFrame({"level": level, "side": side, "x": cx[keep], "limit": limit[keep] * mult}))
        # each point against BSol with its own interval, as assign_funnel_significance: an area is
        # high when its interval lies above BSol, i.e. BSol lies below the area's lower limit
        position = stats.funnel_position(
            -np.full(len(shown), avg * mult), -shown["upper_ci"].to_numpy(float), -shown["lower_ci"].to_numpy(float),
            -shown["upper_ci_998"].to_numpy(float), -shown["lower_ci_998"].to_numpy(float))
        text = ("Limits are the exact 95% and 99.8% intervals around the BSol value "
                f"({'Wilson' if kind == 'proportion' else 'Poisson'}), as PHE's funnel plots.")
    else:
        disp = clustered or stats.overdispersion(kind, y, x, avg)
        at_point = {}
        for level in stats.FUNNEL_LEVELS:
            lower, upper = stats.funnel_normal_limits(kind, grid, avg, level, method, disp)
            curves += [pd.DataFrame({"level": level, "side": s, "x": grid, "limit": v * mult})
                       for s, v in (("lower", lower), ("upper", upper))]
            at_point[level] = stats.funnel_normal_limits(kind, x, avg, level, method, disp)
        position = stats.funnel_position(y, at_point[0.95][0], at_point[0.95][1],
                                         at_point[0.998][0], at_point[0.998][1])
        if clustered is not None:
            text = (f"The same people recur in caseload rates, so the limits are widened by BSol's person-level "
                    f"over-dispersion: variance multiplied by phi = {disp.phi:.2f} (person-clustered sandwich "
                    "variance over Poisson).")
        elif not disp.overdispersed:
            text = (f"The practices are not over-dispersed (phi {disp.phi:.2f}), so the limits are the "
                    "usual 95% and 99.8% limits around the BSol value.")
        elif method == "multiplicative":
            text = (f"Limits are widened for over-dispersion: variance multiplied by phi = {disp.phi:.2f} "
                    "(Spiegelhalter 2005, winsorised z-scores).")
        else:
            text = (f"Limits are widened for over-dispersion between areas (additive random effects, "
                    f"Spiegelhalter 2005; phi = {disp.phi:.2f}).")
        if indicator.dispersion == "person_clustered" and clustered is None:
            text += " The same people recur in caseload rates, but BSol has no person-clustered interval for this period."
    points = pd.DataFrame({"geography": shown["geography"].to_numpy(), "x": x,
                           "value": shown["value"].astype(float).to_numpy(), "position": position})
    x_label = "Denominator" if not indicator.annualised else "Person-years"
    return Funnel(points, pd.concat(curves, ignore_index=True), float(benchmark), text, x_label)


def summary(f: Funnel) -> str:
    """How many areas are outside each limit, in words."""
    counts = f.points["position"].value_counts()
    above = int(counts.get("High (0.001)", 0)), int(counts.get("High (0.025)", 0))
    below = int(counts.get("Low (0.001)", 0)), int(counts.get("Low (0.025)", 0))
    return (f"{len(f.points)} areas: {above[0] + above[1]} above the 95% limit ({above[0]} above 99.8%), "
            f"{below[0] + below[1]} below the 95% limit ({below[0]} below 99.8%). {f.method}")
