"""Database tables, generated from the extract catalogue plus the app's own tables.

Keys are enforced by the loader (validation + replace-by-key), not by database constraints:
primary-key indexes on tens of millions of rows cost DuckDB memory and load time for no gain.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from data_loaders.extracts import EXTRACTS, ColumnKind, Extract

metadata = MetaData()

_TYPES: dict[ColumnKind, type[TypeEngine]] = {
    "str": String,
    "int": Integer,
    "float": Float,
    "date": Date,
    "datetime": DateTime,
    "bool": Boolean,
}


def _sql_type(kind: ColumnKind, max_length: int) -> TypeEngine:
    if kind == "str":
        return String(max_length)
    if kind == "float":
        return Float(53)
    return _TYPES[kind]()


def _table_for(extract: Extract) -> Table:
    return Table(
        extract.name,
        metadata,
        *(
            Column(c.name, _sql_type(c.kind, c.max_length), nullable=not c.required, comment=c.description)
            for c in extract.columns
        ),
        comment=extract.title,
    )


EXTRACT_TABLES: dict[str, Table] = {e.name: _table_for(e) for e in EXTRACTS}

load_log = Table(
    "load_log",
    metadata,
    Column("load_id", String(36), nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    Column("extract", String(64), nullable=True),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("rows", Integer, nullable=True),
    Column("outcome", String(16), nullable=False),  # loaded | rejected | failed
    Column("message", Text, nullable=True),
    comment="Every load attempt: what, when, content hash, rows and outcome.",
)

dataset_info = Table(
    "dataset_info",
    metadata,
    Column("key", String(64), nullable=False),
    Column("value", Text, nullable=True),
    comment="Facts about the loaded data: demo or real, generator seed and size, data end date.",
)

def _estimate(name: str) -> list[Column]:
    """An estimate and its interval, ``name``, ``name_lower``, ``name_upper`` (nullable floats)."""
    return [Column(c, Float(53), nullable=True) for c in (name, f"{name}_lower", f"{name}_upper")]


def _period_and_area() -> list[Column]:
    """The reporting period and area every stored result is keyed on (fresh Columns per table)."""
    return [
        Column("period_type", String(16), nullable=False),
        Column("period", String(16), nullable=False),
        Column("period_start", Date, nullable=False),
        Column("period_end", Date, nullable=False),
        Column("geography_level", String(16), nullable=False),
        Column("geography", String(80), nullable=False),
    ]


measure_result = Table(
    "measure_result",
    metadata,
    Column("indicator_id", String(64), nullable=False),
    Column("measure", Integer, nullable=False),
    *_period_and_area(),
    Column("breakdown", String(16), nullable=False),
    Column("group", String(40), nullable=False),
    Column("numerator", Float(53), nullable=True),
    Column("denominator", Float(53), nullable=True),
    Column("value", Float(53), nullable=True),
    Column("lower_ci", Float(53), nullable=True),
    Column("upper_ci", Float(53), nullable=True),
    Column("lower_ci_998", Float(53), nullable=True),  # 99.8% limits (Fingertips' second level)
    Column("upper_ci_998", Float(53), nullable=True),
    Column("interval_method", String(60), nullable=True),  # how lower_ci/upper_ci were made
    Column("interval_level", Float(53), nullable=True),  # their confidence level (0.95)
    Column("to_date", Boolean, nullable=False, default=False),  # financial year not complete at the data end
    Column("suppressed", Boolean, nullable=False),
    # The period holds the latest month of a usually-revised source (UCR, GPAD): figures may change.
    Column("provisional", Boolean, nullable=False, default=False),
    comment="Tidy results of every indicator; exact values, suppression flag applied at the edge.",
)

prepost_result = Table(
    "prepost_result",
    metadata,
    # what: one row per cohort preset x window x INT team (or TOTAL) x activity; exact values
    Column("cohort", String(40), nullable=False),
    Column("window_months", Integer, nullable=False),
    Column("cohort_from", Date, nullable=True),
    Column("cohort_to", Date, nullable=True),
    Column("data_start", Date, nullable=False),
    Column("data_end", Date, nullable=False),
    Column("int_team_code", String(16), nullable=False),  # TOTAL for the Total row
    Column("int_team", String(80), nullable=False),
    Column("locality", String(16), nullable=True),
    Column("geography_level", String(16), nullable=False),  # int | bsol (Total): disclosure level
    Column("activity", String(40), nullable=False),
    # the plan's table
    Column("people", Integer, nullable=False),
    Column("died_in_post", Integer, nullable=False),
    Column("pre", Integer, nullable=False),
    Column("post", Integer, nullable=False),
    Column("variance", Integer, nullable=False),
    Column("pct_change", Float(53), nullable=True),
    # exposure-adjusted statistics (person-years alive in each window)
    Column("pre_person_years", Float(53), nullable=True),
    Column("post_person_years", Float(53), nullable=True),
    Column("pre_per_person", Float(53), nullable=True),
    Column("post_per_person", Float(53), nullable=True),
    Column("pre_rate", Float(53), nullable=True),
    Column("post_rate", Float(53), nullable=True),
    *_estimate("rate_ratio"),
    Column("rr_robust_lower", Float(53), nullable=True),
    Column("rr_robust_upper", Float(53), nullable=True),
    # comparison cohort (difference in differences, per person); NULL for GP appointments
    Column("did_cases", Integer, nullable=True),
    Column("did_unmatched", Integer, nullable=True),
    Column("did_controls", Float(53), nullable=True),
    Column("did_control_fraction", Float(53), nullable=True),
    Column("case_change_pp", Float(53), nullable=True),
    Column("control_change_pp", Float(53), nullable=True),
    Column("did_pp", Float(53), nullable=True),
    Column("did_lower", Float(53), nullable=True),
    Column("did_upper", Float(53), nullable=True),
    Column("did_share", Float(53), nullable=True),
    Column("computed_at", DateTime, nullable=False),
    comment="Pre/post INT activity per cohort preset, window, team and activity (aggregates only; "
            "exact values, disclosure applied at the edge by metrics.prepost.for_display).",
)

prepost_flow = Table(
    "prepost_flow",
    metadata,
    # what: who each pre/post rule leaves out, per cohort preset x window x INT team (or TOTAL),
    # computed at refresh (metrics.prepost.store.refresh_flow) so the page reads it, never patient rows
    Column("cohort", String(40), nullable=False),
    Column("window_months", Integer, nullable=False),
    Column("int_team_code", String(16), nullable=False),  # TOTAL for every team together
    Column("on_caseload", Integer, nullable=False),
    Column("in_cohort_dates", Integer, nullable=False),
    Column("pre_before_data", Integer, nullable=False),
    Column("post_incomplete", Integer, nullable=False),
    Column("died_before_index", Integer, nullable=False),
    Column("included", Integer, nullable=False),
    comment="Pre/post cohort flow (people counts; exact, disclosure at the edge by flow_for_display).",
)

caseload_profile_result = Table(
    "caseload_profile_result",
    metadata,
    # what: who each caseload reaches against the population it serves, per cohort preset x scope
    # (BSol, each locality, each INT team) x breakdown group, computed at refresh
    # (metrics.prepost.store.refresh_profile) so the pre/post page reads it, never patient rows
    Column("cohort", String(40), nullable=False),
    Column("caseload_of", String(80), nullable=False),  # the scope: "BSol", a locality or an INT code
    Column("area", String(120), nullable=False),
    Column("geography_level", String(16), nullable=False),
    Column("financial_year", String(16), nullable=True),
    Column("breakdown", String(32), nullable=False),
    Column("group", String(80), nullable=False),
    Column("position", Integer, nullable=False),  # the groups' order on the page
    Column("caseload", Float(53), nullable=False),
    Column("caseload_share", Float(53), nullable=True),
    Column("population", Float(53), nullable=False),
    Column("population_share", Float(53), nullable=True),
    *_estimate("representation"),
    Column("flag", String(40), nullable=False),
    comment="Caseload profile (people counts; exact, disclosure at the edge by profile_for_display).",
)

inequality_result = Table(
    "inequality_result",
    metadata,
    # what: slope and relative index of inequality across IMD quintiles, one row per indicator x
    # period x area, computed once at refresh by metrics.inequality (PHE phe_sii method)
    Column("indicator_id", String(64), nullable=False),
    *_period_and_area(),
    *_estimate("sii"),  # in the indicator's own unit (percentage points, per 100,000)
    *_estimate("rii"),
    Column("interval_method", String(120), nullable=False),
    Column("interval_level", Float(53), nullable=False),
    comment="SII/RII across IMD quintiles (exact; only where no quintile is suppressed).",
)

chart_event = Table(
    "chart_event",
    metadata,
    # what: dated events per area drawn on trend charts, derived at refresh from the loaded int_team
    # register by metrics.events (real data brings real go-live dates); rebase: SPC limits of the
    # indicators that rebase at INT go-live restart in the period containing event_date
    Column("geography_level", String(16), nullable=False),
    Column("geography", String(80), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("label", String(200), nullable=False),
    Column("rebase", Boolean, nullable=False),
    comment="Chart events per area (INT go-lives from int_team); reference facts, no patients.",
)

completeness_result = Table(
    "completeness_result",
    metadata,
    # what: the Data page's and the pack's data-quality table (fields the breakdowns rely on, rows
    # kept but counted by the cross-file checks), computed at refresh by metrics.quality so neither
    # reads patient rows; exact counts, disclosure at the edge by completeness_for_display
    Column("position", Integer, nullable=False),
    Column("measure", String(200), nullable=False),
    Column("affected", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("of", String(80), nullable=False),
    comment="Data-quality counts (exact; disclosure at the edge by completeness_for_display).",
)

coverage_result = Table(
    "coverage_result",
    metadata,
    # what: rows held and the first/last date each loaded extract covers, computed at refresh by
    # metrics.quality.source_coverage (row counts: disclosure at the edge by rows_display)
    Column("position", Integer, nullable=False),
    Column("source", String(200), nullable=False),
    Column("extract", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("period_column", String(64), nullable=False),
    Column("first", String(32), nullable=False),
    Column("last", String(32), nullable=False),
    comment="Source coverage per extract (row counts and date span).",
)

APP_TABLES = (load_log, dataset_info, measure_result, prepost_result, prepost_flow, caseload_profile_result,
              inequality_result, chart_event, completeness_result, coverage_result)

# The audit log lives in its own MetaData: on PostgreSQL it sits beside the other tables, but with
# an embedded DuckDB file (one writer, replaced whole by every load) it goes to a sibling SQLite
# file, so a sign-in never waits for a load and a load's file swap never loses a record.
audit_metadata = MetaData()

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", Integer, Sequence("audit_log_id_seq"), primary_key=True),
    Column("at", DateTime, nullable=False),  # UTC, naive
    Column("user", String(320), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=True),  # JSON: what was asked for, and the outcome
    comment="Who did what and when: sign-ins (and failures), loads, exports, packs, exact exports.",
)

app_user = Table(
    "app_user",
    audit_metadata,
    Column("username", String(320), primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id (argon2-cffi)
    Column("role", String(32), nullable=False),
    Column("locality", String(40), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    comment="Local accounts for AUTH_MODE=password (small deployments); beside the audit log.",
)
