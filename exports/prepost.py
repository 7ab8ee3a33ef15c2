"""Pre/post tables as frames: the plan's layout, rates and ratios, the comparison cohort and the
caseload profile, as the page shows them and the CSV/Excel downloads write them.

Why this module exists: the page and the downloads must show the same figures, so the frames are
built once here (from rows that have already passed metrics.prepost's disclosure control) and the
callbacks hand them to the page layout (layouts/prepost.py) or to the file writers (exports.files).
"""

from __future__ import annotations

import pandas as pd

from exports.pack.figures import _missing as _nan
from exports.pack.sheet import SUPPRESSED
from metrics import disclosure
from metrics import prepost as pp
from metrics.dimensions import IMD_LABELS, SEX_LABELS

BREAKDOWN_NAMES = {"age_band": "Age", "sex": "Sex", "imd_quintile": "IMD", "ethnicity": "Ethnic group"}
SEX_NAMES = SEX_LABELS  # metrics.dimensions


def _count(v: object) -> str:
    return SUPPRESSED if _nan(v) else f"{float(v):,.0f}"  # type: ignore[arg-type]


def page_tables(shown: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frames the page shows for the rows in scope: plan table, rates and ratios, comparison."""
    if shown.empty:
        return {}
    return {"plan": plan_frame(shown), "rates": rates_frame(shown), "did": did_frame(shown)}


def plan_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The plan's layout (rows per INT: pre / post / variance; a column per activity); NaN = [c]."""
    return pp.plan_layout(frame)


def _team_names(frame: pd.DataFrame) -> pd.Series:
    return frame["int_team"].where(frame["int_team_code"] != pp.TOTAL_CODE, "Total (BSol)")


def _rounded(series: pd.Series, digits: int) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").round(digits)


def rates_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates per person-year and rate ratios with the person-clustered 95% interval (numbers)."""
    out = pd.DataFrame({
        "INT": _team_names(frame),
        "Activity": frame["activity"].map(pp.ACTIVITY_NAMES),
        "People": frame["people"], "Pre": frame["pre"], "Post": frame["post"],
        "Pre rate per person-year": _rounded(frame["pre_rate"], 2),
        "Post rate per person-year": _rounded(frame["post_rate"], 2),
        "Rate ratio": _rounded(frame["rate_ratio"], 3),
        "Lower 95% CI (person-clustered)": _rounded(frame["rr_robust_lower"], 3),
        "Upper 95% CI (person-clustered)": _rounded(frame["rr_robust_upper"], 3),
    })
    return out.reset_index(drop=True)


def did_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Comparison cohort (difference-in-differences) per INT and activity (numbers; per person)."""
    sub = frame[frame["activity"].isin(pp.DID_ACTIVITIES)]
    out = pd.DataFrame({
        "INT": _team_names(sub),
        "Activity": sub["activity"].map(pp.ACTIVITY_NAMES),
        "Matched people": sub["did_cases"], "Unmatched people": sub["did_unmatched"],
        "Change per person: caseload": _rounded(sub["case_change_pp"], 3),
        "Change per person: comparison": _rounded(sub["control_change_pp"], 3),
        "Difference per person": _rounded(sub["did_pp"], 3),
        "Lower 95% CI": _rounded(sub["did_lower"], 3),
        "Upper 95% CI": _rounded(sub["did_upper"], 3),
        "Share of the fall beyond the comparison": _rounded(sub["did_share"], 3),
    })
    return out.reset_index(drop=True)


def download_tables(frame: pd.DataFrame, cohort: str, window: int, label: str,
                    rule: disclosure.DisclosurePolicy) -> dict[str, pd.DataFrame]:
    """Sheets for the Excel download (the CSV is the first): plan table, rates, comparison, notes.
    `rule`: the policy the rows were shown under (named in the notes)."""
    plan = plan_frame(frame)
    for col in plan.columns[2:]:
        plan[col] = plan[col].map(lambda v: SUPPRESSED if _nan(v) else int(v))
    rates = rates_frame(frame).astype(object).where(lambda d: d.notna(), "")
    for col in ("People", "Pre", "Post"):
        rates[col] = rates[col].map(lambda v: SUPPRESSED if v == "" else int(v))
    did = did_frame(frame).astype(object).where(lambda d: d.notna(), "")
    cohort_label = pp.COHORT_PRESETS[cohort][0]
    notes = pd.DataFrame({"Note": [
        f"Pre/post INT analysis: {label}; cohort {cohort_label}; {window} months before and after joining.",
        "The Total row is every INT in BSol, each person counted once at their first start.",
        "Disclosure control: " + disclosure.describe(rule),
        "Rate ratio = post rate / pre rate per person-year alive; 95% CI clustered by person (high users are "
        "over-dispersed).",
        "Caution: " + pp.RTM_CAUTION,
        *("Limitation: " + x for x in pp.LIMITATIONS),
    ]})
    return {"Plan table": plan, "Rates and ratios": rates, "Comparison cohort": did, "Notes": notes}


def group_label(breakdown: str, group: str) -> str:
    if breakdown == "sex":
        group = SEX_NAMES.get(group, group)
    if breakdown == "imd_quintile" and group in ("Q1", "Q5"):
        group = IMD_LABELS[group[1]]
    return f"{BREAKDOWN_NAMES.get(breakdown, breakdown)}: {group}"


def profile_frame(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile as a readable table (strings): counts, shares, index with CI and the reading in words."""
    rows = []
    for _, r in profile.iterrows():
        sup = bool(r.get("suppressed", False))
        rep = r["representation"]
        if sup:
            reading = f"{SUPPRESSED} suppressed"
        elif _nan(rep):
            reading = "Not computable"
        else:
            reading = {"under-represented": "Under-represented", "over-represented": "Over-represented"}.get(
                r["flag"], "Not clearly different")
        rows.append({
            "Group": group_label(r["breakdown"], r["group"]),
            "Caseload": _count(r["caseload"]),
            "Caseload %": SUPPRESSED if _nan(r["caseload_share"]) else f"{r['caseload_share'] * 100:.1f}%",
            "Population": _count(r["population"]),
            "Population %": SUPPRESSED if _nan(r["population_share"]) else f"{r['population_share'] * 100:.1f}%",
            "Representation index (95% CI)": SUPPRESSED if _nan(rep) else
            f"{rep:.2f} ({r['representation_lower']:.2f} to {r['representation_upper']:.2f})",
            "Reading": reading,
        })
    return pd.DataFrame(rows)
