"""Pre/post INT activity: the Implementation Plan's table, its statistics, a comparison cohort and
the caseload profile (docs/prepost.md explains every rule and method). This package re-exports
the public names of its parts, so ``from metrics import prepost`` keeps working:
cohorts (rules, windows, per-person counts, cohort flow), stats (rate ratios, difference in
differences), table (the plan's table), matching (comparison cohort), profile (caseload profile),
display (disclosure of stored rows and flow), store (refresh and read of prepost_result).

Why this module exists: the plan's headline table (activity in the months before and after people
joined an INT caseload) is the pilot's main evidence, so it is recomputed here from the extracts
under the rules of docs/design.md "Pre/post INT rules" -- and put beside what a fair reading needs:
exposure-adjusted rates, rate ratios with confidence intervals, a regression-to-the-mean caution,
a matched comparison cohort with a difference-in-differences estimate, and who the caseload
reaches compared with the population it serves.

How: SQLAlchemy Core on DuckDB or PostgreSQL. Events are counted per person in SQL (one query for
the five activity types); pandas then sums per-person aggregates. Patient-level frames never leave
this module: every public function returns aggregates (team x activity, stratum, group).

Rules (docs/design.md; repeated so a reader of the code need not switch files):
* index date = a person's FIRST caseload start with that team (re-joins ignored); the Total row
  counts each person once, at their first start with any team (so team rows need not add to it
  when someone was on two teams);
* pre window ``[index - W months, index)``, post window ``[index, index + W months)``; activity on
  the index day is post; month arithmetic clips to month end (31 Aug - 6 months = 29 Feb);
* included only when ``index - W >= data start`` and ``index + W <= data end + 1 day``; people
  recorded as dead before their index date are excluded (a data error);
* intention to treat: leaving the caseload does not stop follow-up; deaths in the post window keep
  their raw counts and their person-time ends at the end of the day of death.
"""
from metrics.prepost.cohorts import (
    ACTIVITIES,
    ACTIVITY_LABELS,
    ACTIVITY_NAMES,
    AGE_RANGES,
    COHORT_PRESETS,
    DATA_START,
    DEFAULT_WINDOW,
    DID_ACTIVITIES,
    DID_COLUMNS,
    DID_SEED,
    PHASE_LABELS,
    PRIOR_BANDS,
    RTM_CAUTION,
    STORED_WINDOWS,
    STRATUM,
    TABLE_COLUMNS,
    TOTAL_CODE,
    TOTAL_NAME,
    Area,
    T,
    Window,
    cohort_flow,
    int_teams,
)
from metrics.prepost.display import (
    FLOW_PARTS,
    PER_PERSON_DECIMALS,
    PREPOST_SPEC,
    flow_for_display,
    for_display,
)
from metrics.prepost.matching import LIMITATIONS, comparison_cohort, control_fraction
from metrics.prepost.profile import (
    PROFILE_BREAKDOWNS,
    PROFILE_COLUMNS,
    PROFILE_SPEC,
    caseload_profile,
    profile_for_display,
)
from metrics.prepost.stats import difference_in_differences, rate_ratio_exact, rate_ratio_robust
from metrics.prepost.store import (
    compute_preset,
    profile_scopes,
    read_flow,
    read_prepost,
    read_profile,
    refresh_flow,
    refresh_prepost,
    refresh_profile,
    stored_did_windows,
    stored_windows,
)
from metrics.prepost.table import plan_layout, prepost_table

__all__ = [
    "ACTIVITIES", "ACTIVITY_LABELS", "ACTIVITY_NAMES", "LIMITATIONS", "AGE_RANGES", "COHORT_PRESETS", "DATA_START", "DEFAULT_WINDOW",
    "DID_ACTIVITIES", "DID_COLUMNS", "DID_SEED", "FLOW_PARTS", "PER_PERSON_DECIMALS", "PHASE_LABELS",
    "PREPOST_SPEC", "PRIOR_BANDS", "PROFILE_BREAKDOWNS", "PROFILE_COLUMNS", "PROFILE_SPEC", "RTM_CAUTION", "STORED_WINDOWS",
    "STRATUM", "TABLE_COLUMNS", "TOTAL_CODE", "TOTAL_NAME", "Area", "T", "Window", "caseload_profile",
    "cohort_flow", "comparison_cohort", "compute_preset", "control_fraction", "difference_in_differences",
    "flow_for_display", "for_display", "int_teams", "plan_layout", "prepost_table", "profile_for_display",
    "profile_scopes", "rate_ratio_exact", "rate_ratio_robust", "read_flow", "read_prepost", "read_profile",
    "refresh_flow", "refresh_prepost", "refresh_profile",
    "stored_did_windows",
    "stored_windows",
]
