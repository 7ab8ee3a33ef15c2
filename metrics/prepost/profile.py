"""The caseload profile: who the caseload reaches against the registered population it serves,
with its disclosure rule.

Why this module exists: the profile answers a different question (reach, not activity change) from
a different table (population), so it is computed and protected here, apart from the cohort.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, func, select

from data_loaders.extracts import LOCALITIES, SEXES
from metrics import dimensions, disclosure
from metrics.disclosure import protect as protect_frame
from metrics.prepost.cohorts import AGE_RANGES, Area, T, _age_years, _band, _band_case

# ------------------------------------------------------------------------------ caseload profile
PROFILE_BREAKDOWNS = ("age_band", "sex", "imd_quintile", "ethnicity")
PROFILE_COLUMNS = ("caseload_of", "area", "breakdown", "group", "caseload", "caseload_share", "population",
                   "population_share", "representation", "representation_lower", "representation_upper", "flag",
                   "geography_level", "financial_year")
"""A profile's columns, as computed and as stored (caseload_profile_result)."""


def _population_band(start: pd.Series) -> np.ndarray:
    return _band(start, AGE_RANGES)


def caseload_profile(conn: Connection, team_or_locality: str = "BSol", area: Area = "locality",
                     cohort_from: date | None = None, cohort_to: date | None = None,
                     financial_year: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Who the caseload reaches against the registered population it serves.

    ``team_or_locality``: an INT code or name (that team's caseload vs its locality -- or its
    neighbourhood when ``area="neighbourhood"`` and the team has one), a locality (every team
    serving it), or "BSol". People are counted once, at their first start (filtered by
    ``cohort_from``/``cohort_to``), age at that date. Population: ``population`` for
    ``financial_year`` (default: the latest loaded). Per breakdown (age band, sex, IMD quintile,
    ethnicity) and group: caseload count and share, population and share, representation index =
    caseload share / population share with a Wilson interval on the caseload share; ``flag`` marks
    groups whose interval lies wholly below 1 ("under-represented") or above 1. Not need-adjusted:
    a caseload of frail high users should be older than the population.
    """
    cl, p, pr, ls, team = T["int_caseload"], T["patient"], T["practice"], T["lsoa"], T["int_team"]
    eth, pop = T["ethnicity_code"], T["population"]
    teams = pd.DataFrame(conn.execute(select(team)).mappings().all())
    key = team_or_locality.strip()
    level = "bsol"
    if not teams.empty and key in set(teams["int_team_code"]) | set(teams["int_team_name"]):
        t = teams[(teams["int_team_code"] == key) | (teams["int_team_name"] == key)].iloc[0]
        codes = [t["int_team_code"]]
        if area == "neighbourhood" and isinstance(t["neighbourhood_code"], str) and t["neighbourhood_code"]:
            area_filter = pr.c.neighbourhood_code == t["neighbourhood_code"]
            area_name = f"neighbourhood {t['neighbourhood_code']}"
        else:
            area_filter = pr.c.locality == t["locality"]
            area_name = t["locality"]
        level = "int"
    elif key.lower() == "bsol":
        codes, area_filter, area_name = None, sa.true(), "BSol"
    else:
        match = [loc for loc in LOCALITIES if loc.lower() == key.lower()]
        if not match:
            raise ValueError(f"{team_or_locality!r} is not an INT code or name, a locality or 'BSol'")
        locality = match[0]
        codes = list(teams.loc[teams["locality"] == locality, "int_team_code"]) if not teams.empty else []
        area_filter, area_name, level = pr.c.locality == locality, locality, "locality"
    firsts = select(cl.c.patient_id, func.min(cl.c.start_date).label("first_start"))
    if codes is not None:
        firsts = firsts.where(cl.c.int_team_code.in_(codes))
    first = firsts.group_by(cl.c.patient_id).subquery("first")
    conds = []
    if cohort_from is not None:
        conds.append(first.c.first_start >= cohort_from)
    if cohort_to is not None:
        conds.append(first.c.first_start <= cohort_to)
    attrs = (select(_band_case(_age_years(first.c.first_start, p.c.birth_month), AGE_RANGES).label("age_band"),
                    func.coalesce(p.c.sex, "U").label("sex"),
                    func.coalesce(ls.c.imd_quintile, 0).label("imd_quintile"),
                    func.coalesce(eth.c.ethnic_group, "Not stated").label("ethnicity"))
             .select_from(first.outerjoin(p, p.c.patient_id == first.c.patient_id)
                          .outerjoin(ls, ls.c.lsoa_code == p.c.lsoa_code)
                          .outerjoin(eth, eth.c.code == p.c.ethnic_category))
             .where(*conds)
             .subquery("attrs"))
    case_stmt = select(*attrs.c, func.count().label("n")).group_by(*attrs.c)
    cases = pd.DataFrame(conn.execute(case_stmt).mappings().all(),
                         columns=["age_band", "sex", "imd_quintile", "ethnicity", "n"])
    if financial_year is None:
        financial_year = conn.execute(select(func.max(pop.c.financial_year))).scalar()
    pop_stmt = (select(pop.c.age_band_start, pop.c.sex, pop.c.imd_quintile,
                       pop.c.ethnic_group.label("ethnicity"), func.sum(pop.c.persons).label("n"))
                .select_from(pop.join(pr, pr.c.practice_code == pop.c.practice_code))
                .where(pop.c.financial_year == financial_year, area_filter)
                .group_by(pop.c.age_band_start, pop.c.sex, pop.c.imd_quintile, pop.c.ethnic_group))
    popf = pd.DataFrame(conn.execute(pop_stmt).mappings().all(),
                        columns=["age_band_start", "sex", "imd_quintile", "ethnicity", "n"])
    popf["age_band"] = _population_band(popf["age_band_start"])
    rows = []
    n_cases, n_pop = float(cases["n"].sum()), float(popf["n"].sum())
    for bd in PROFILE_BREAKDOWNS:
        c = cases.groupby(bd)["n"].sum()
        q = popf.groupby(bd)["n"].sum()
        for grp in sorted(set(c.index) | set(q.index), key=_group_order(bd)):
            k, pn = float(c.get(grp, 0)), float(q.get(grp, 0))
            rows.append(_profile_row(bd, grp, k, n_cases, pn, n_pop, confidence))
    out = pd.DataFrame(rows, columns=["breakdown", "group", "caseload", "caseload_share", "population",
                                      "population_share", "representation", "representation_lower",
                                      "representation_upper", "flag"])
    out.insert(0, "area", area_name)
    out.insert(0, "caseload_of", key)
    out["geography_level"] = level
    out["financial_year"] = None if financial_year is None else str(financial_year)
    return out[list(PROFILE_COLUMNS)]


def _group_order(breakdown: str):
    order = {"age_band": [b[0] for b in AGE_RANGES], "sex": list(SEXES),
             "ethnicity": list(dimensions.ETHNIC_GROUPS)}.get(breakdown)

    def key(g: object) -> tuple[int, str]:
        if order and g in order:
            return (order.index(g), "")
        if breakdown == "imd_quintile":
            return (int(g) if int(g) > 0 else 99, "")  # type: ignore[call-overload]
        return (100, str(g))
    return key


def _profile_row(bd: str, grp: object, k: float, n_cases: float, pn: float, n_pop: float,
                 confidence: float) -> dict[str, object]:
    from metrics.stats import wilson_ci

    label = grp
    if bd == "imd_quintile":
        label = "Unknown" if int(grp) == 0 else f"Q{int(grp)}"  # type: ignore[call-overload]
    share = k / n_cases if n_cases else math.nan
    pshare = pn / n_pop if n_pop else math.nan
    rep = lo = hi = math.nan
    flag = ""
    if n_cases and pshare and pshare > 0:
        wl, wu = wilson_ci(k, n_cases, confidence)
        rep, lo, hi = share / pshare, wl / pshare, wu / pshare
        flag = "under-represented" if hi < 1 else ("over-represented" if lo > 1 else "")
    return {"breakdown": bd, "group": str(label), "caseload": k, "caseload_share": share,
            "population": pn, "population_share": pshare, "representation": rep,
            "representation_lower": lo, "representation_upper": hi, "flag": flag}


PROFILE_SPEC: dict[str, disclosure.Col | disclosure.Kind] = {
    "caseload": disclosure.Col(disclosure.Kind.COUNT),
    "population": disclosure.Col(disclosure.Kind.COUNT),
    "caseload_share": disclosure.Kind.SHARE, "population_share": disclosure.Kind.SHARE,
    "representation": disclosure.Kind.VALUE, "representation_lower": disclosure.Kind.CI,
    "representation_upper": disclosure.Kind.CI,
}


def _profile_derive(exact: pd.DataFrame, shown: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Shares and representation indices from the rounded counts and rounded totals (HES method)."""
    from metrics.stats import wilson_ci_array

    def total(col: str) -> pd.Series:  # the scope's total: the groups of any one breakdown add up to it
        return exact.groupby(["caseload_of", "breakdown"])[col].transform("sum")

    rule = shown.attrs.get("policy", disclosure.DEFAULT_RULE)
    n_cases = pd.Series(rule.round(total("caseload")), index=shown.index)
    n_pop = pd.Series(rule.round(total("population")), index=shown.index)
    k, pn = shown["caseload"], shown["population"]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (k / n_cases).where(n_cases > 0)
        pshare = (pn / n_pop).where(n_pop > 0)
        kk = np.clip(np.nan_to_num(k.to_numpy(float)), 0, np.nan_to_num(n_cases.to_numpy(float)))
        wl, wu = wilson_ci_array(kk, np.nan_to_num(n_cases.to_numpy(float)), confidence)
        ok = (pshare > 0).to_numpy()
        shown["caseload_share"], shown["population_share"] = share, pshare
        shown["representation"] = np.where(ok, share / pshare, math.nan)
        shown["representation_lower"] = np.where(ok, wl / pshare, math.nan)
        shown["representation_upper"] = np.where(ok, wu / pshare, math.nan)
    hi, lo = shown["representation_upper"], shown["representation_lower"]
    shown["flag"] = np.where(hi < 1, "under-represented", np.where(lo > 1, "over-represented", ""))
    return shown


def profile_for_display(profile: pd.DataFrame, rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE) -> pd.DataFrame:
    """The caseload profile through the one disclosure function: caseload or population groups of
    1-7 hidden with their shares and indices (and, since the groups of a breakdown add up to the
    shown total, the next smallest group too); counts rounded; shares and indices from rounded counts."""
    if profile.empty:
        return profile.assign(suppressed=pd.Series(dtype=bool))
    frame = profile.copy()

    def derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
        shown.attrs["policy"] = rule
        return _profile_derive(exact, shown)

    out = protect_frame(frame, PROFILE_SPEC, rule, derive=derive, level_col="geography_level",
                        sets=[["caseload_of", "breakdown"]], size="caseload")
    out.loc[out["suppressed"], "flag"] = ""
    return out
