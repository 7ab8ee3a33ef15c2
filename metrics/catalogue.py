"""The 21 impact measures of the Implementation Plan (Table 2, F4:318-330), declared as data.

Each `Measure` keeps Table 2's wording verbatim; each `Indicator` says exactly what is counted.
`compute.py` compiles these declarations into SQL; nothing else needs to change to add a measure.
Filters are small lambdas over a `Row` (the source table's columns plus derived `age` and helpers),
so they stay declarative while compiling to bound-parameter SQLAlchemy expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

from data_loaders.extracts import (
    EMERGENCY_ADMISSION_METHODS,
    ORDINARY_ADMISSION,
    TRANSFER_ADMISSION_SOURCES,
)
from metrics.dimensions import BREAKDOWN_KEYS, BreakdownKey, PeriodTypeKey


class Polarity(StrEnum):
    HIGH_IS_GOOD = "HIGH_IS_GOOD"
    LOW_IS_GOOD = "LOW_IS_GOOD"
    NO_JUDGEMENT = "NO_JUDGEMENT"


Unit = Literal[
    "count", "percent", "per_1000", "per_10k", "per_100k", "days", "hours", "per_person_year", "ratio_bsol_100",
]
UNIT_LABELS: dict[str, str] = {
    "count": "count",
    "percent": "%",
    "per_1000": "per 1,000",
    "per_10k": "per 10,000",
    "per_100k": "per 100,000",
    "days": "days",
    "hours": "hours",
    "per_person_year": "per person-year",
    "ratio_bsol_100": "ratio (BSol = 100)",
}
CiMethod = Literal["wilson", "byar", "dobson", "t", "none"]
# How areas are compared with BSol on the funnel plot (Spiegelhalter 2005): exact Poisson/binomial
# limits only, or widened for over-dispersion (multiplicative phi, or additive random-effects tau^2
# from winsorised z-scores); person_clustered: caseload rates, where the same people recur.
Dispersion = Literal["none", "multiplicative", "random_effects", "person_clustered"]
Aggregation = Literal["ratio", "rate", "count", "dsr", "isr", "mean", "median", "percentile"]
PeriodType = PeriodTypeKey  # metrics/dimensions.py holds the period types
Breakdown = BreakdownKey  # metrics/dimensions.py holds the breakdowns

ALL_BREAKDOWNS: tuple[Breakdown, ...] = BREAKDOWN_KEYS
GEOGRAPHY_ONLY: tuple[Breakdown, ...] = ()
Filter = Callable[[Any], Any]  # Row -> SQLAlchemy boolean expression


@dataclass(frozen=True)
class Events:
    """Rows of a table, each assigned to the period containing `date`.

    `count` is what is aggregated: rows, distinct patients, the sum of a column, or a per-row
    value (for means and medians). `snapshot` tables hold quarter-end snapshots: they are read
    per quarter, and a financial year takes the snapshot of `fy_quarter` (default: the latest).
    """

    table: str
    date: str
    where: Filter | None = None
    count: Literal["rows", "patients", "sum", "value"] = "rows"
    column: str | None = None  # for count="sum"
    value: Callable[[Any], Any] | None = None  # for count="value"
    until: str | None = None  # rows belong to every period overlapping [date, until] (open if null)
    snapshot: bool = False
    fy_quarter: int | None = None  # 1-4: financial year = that quarter's cohort (e.g. ASCOF 2B(1))


@dataclass(frozen=True)
class Population:
    """Registered population (financial-year mid-point), optionally filtered by sex/age."""

    where: Filter | None = None


@dataclass(frozen=True)
class Expected:
    """Modelled expected number of patients with a condition (practice level)."""

    condition: Literal["hypertension", "diabetes"]


@dataclass(frozen=True)
class CaseloadExposure:
    """Person-time on an INT caseload within each period (person-years)."""


@dataclass(frozen=True)
class CaseloadPeople:
    """Distinct people on an INT caseload at any time in the period."""


Source = Events | Population | Expected | CaseloadExposure | CaseloadPeople


@dataclass(frozen=True)
class Indicator:
    id: str
    measure: int
    title: str
    numerator: Source
    denominator: Source | None
    numerator_text: str
    denominator_text: str
    unit: Unit
    polarity: Polarity
    aggregation: Aggregation
    ci: CiMethod
    definition: str  # which national definition is followed (or "Local definition")
    definition_year: str
    source: str
    breakdowns: tuple[Breakdown, ...] = ALL_BREAKDOWNS
    frequency: tuple[PeriodType, ...] = ("month", "rolling_12m", "quarter", "financial_year")
    multiplier: float = 1.0
    annualised: bool = False  # population rates scaled to a full year whatever the period length
    standardisation: str = "None (crude)"
    min_age: int | None = None  # for DSR: the standard population's age bands considered
    quantile: float = 0.5  # for aggregation "percentile" (e.g. 0.9 = 90th centile); "median" is 0.5
    standardise_by_sex: bool = False  # DSR strata are age band x sex (each sex weighted by the standard)
    # Counts below this get exact Poisson limits, Byar's from it (PHE: 10; CCG OIS 2.6: 389).
    exact_poisson_below: int = 10
    target: float | None = None
    target_text: str = ""
    # Register and treatment percentages whose gap to the target is a number of patients (CVDPREVENT
    # shows "patients needed to reach the target": metrics.results.patients_to_target).
    patients_to_target: bool = False
    caveats: str = ""
    # Where we knowingly differ from the national definition named in `definition`, and why.
    deviations: str = ""
    # The Better Care Fund framework whose return this matches ("" when it is not a BCF metric).
    bcf_framework: Literal["", "2023-25", "2025-26"] = ""
    decimals: int = 1
    # Is the numerator/denominator a count of people or events (small-number control applies)?
    # Person-years, FTE, modelled expected counts and published practice totals are not.
    numerator_disclosive: bool = True
    denominator_disclosive: bool = True
    # Statistics (issue 12). gradient: a slope index of inequality across IMD quintiles means
    # something (False for counts, where it would measure population size); dispersion: how the
    # funnel plot compares areas; spc_rebase: fixed ISO dates where SPC limits restart;
    # rebase_at_go_live: limits also restart at the area's INT go-live dates, which come from the
    # loaded int_team register at refresh (metrics/events.py), never from this catalogue.
    gradient: bool = True
    dispersion: Dispersion = "random_effects"
    spc_rebase: tuple[str, ...] = ()
    rebase_at_go_live: bool = False
    # A cohort followed up for this many days (ASCOF 2B(1): 91): a period is reported only once its
    # last day's rows have been followed up by the data end, never from the handful that have.
    follow_up_days: int = 0

    @property
    def unit_label(self) -> str:
        """"per 100,000 a year" for annualised rates: the period is shorter than the rate's year."""
        return UNIT_LABELS[self.unit] + (" a year" if self.annualised and self.unit.startswith("per_1") else "")


_CI_RULES: dict[str, str] = {
    "wilson": "95% Wilson score interval; not calculated when the numerator exceeds the denominator.",
    "byar": "95% interval on the count (exact Poisson below 10 events, Byar's approximation from 10), divided by the denominator, which is treated as fixed.",
    "dobson": "95% Dobson interval: the total count's exact Poisson/Byar limits scaled by the DSR's variance (PHE method).",
    "t": "95% interval mean ± t(0.975, n−1)·sd/√n; the lower limit is cut at 0 because a delay cannot be negative (our rule; national returns publish no interval); a single row has no interval.",
    "none": "No confidence interval.",
}
_AGGREGATION_RULES: dict[str, str] = {
    "ratio": "Numerator ÷ denominator.",
    "rate": "Numerator ÷ denominator × multiplier.",
    "count": "A count; a complete period with no events shows 0.",
    "mean": "Mean of the per-row values.",
    "median": "Median of the per-row values (linear interpolation between the middle two).",
    "percentile": "Centile of the per-row values by linear interpolation (PERCENTILE_CONT, as R type 7 / Excel PERCENTILE.INC).",
    "dsr": ("Directly standardised rate (PHE): Σ w·(events ÷ person-years) over the standard population's "
            "bands at or above the minimum age, ÷ Σ w. Every event stays in the numerator; a group with "
            "events in a band that has no population is not calculated (its band rate is undefined; PHE's "
            "calculate_dsr refuses any zero denominator). A band with no population and no events counts as "
            "rate 0 so small areas still get a value (deviation: PHE would not calculate those either)."),
    "isr": ("Indirectly standardised ratio: observed events ÷ expected events × 100, expected = Σ over age "
            "(five-year band) and sex of BSol's rate in the period × the area's population; BSol is 100 by "
            "construction. Not calculated for a period in which BSol has events in a band with no population "
            "(that band has no rate), nor for an area with no expected events."),
}


_REABLEMENT_FOLLOW_UP = 91  # ASCOF 2B(1): status 91 days after discharge

def calculation_rules(ind: Indicator) -> str:
    """Every rule the computation applies to this indicator, in words (defect 13: nothing silent)."""
    parts = [_AGGREGATION_RULES[ind.aggregation], _CI_RULES[ind.ci]]
    if ind.exact_poisson_below != 10 and ind.ci in ("byar", "dobson"):
        parts.append(f"Exact Poisson limits are used for counts below {ind.exact_poisson_below:,} "
                     "(Byar's approximation from there), as the indicator's specification says.")
    if ind.annualised:
        parts.append("Annualised: denominator × days in period ÷ 365.25 for every period (one rule, so months, "
                     "quarters and years share a trend axis); a complete 365-day financial year is therefore "
                     "0.99932 years and its rate 0.07% above count ÷ population (a 366-day year 0.21% below).")
    return " ".join(parts)


@dataclass(frozen=True)
class Measure:
    number: int
    work_programme: int
    wording: str  # Table 2, verbatim
    indicators: tuple[Indicator, ...]
    proposed: bool = False  # placeholder in the plan: our proposed definition, not agreed

    @property
    def status_label(self) -> str:
        return "proposed — not agreed" if self.proposed else "agreed (Table 2)"


WORK_PROGRAMMES: dict[int, str] = {
    1: "Integrated Teams in Neighbourhoods & Localities",
    2: "Intermediate Care Transformation",
    3: "Long Term Conditions",
    4: "Supporting Primary Care Development",
    5: "Community Children's Services",
}

EMERGENCY = EMERGENCY_ADMISSION_METHODS


def _emergency(r: Any) -> Any:
    return r.admission_method.in_(EMERGENCY)


def _acsc_chronic(r: Any) -> Any:
    """NHS Digital CCG OIS 2.6 v1.15 / NHS OF 2.3.i chronic ACSC spells (data filters 1, 8 and 10);
    every code list named here is in code_list (reference data), so the lists stay data.

    Ordinary admissions only (patient classification 1: an empty one is not known to be ordinary,
    so it does not count) and no transfers (admission source 51-53: an empty source is not known
    to be a transfer, so it counts), as the filters read literally. Angina with
    a listed procedure, heart failure or hypertension with a listed cardiac procedure and hepatitis
    B with sickle-cell disease are left out; J20 acute bronchitis counts only with COPD.
    """
    from sqlalchemy import and_, not_, or_

    dx, sec, ops = r.primary_diagnosis, r.secondary_diagnoses, r.procedure_codes

    def unless(condition: str, codes: Any, exclusion: str) -> Any:
        return not_(and_(r.in_codes(dx, condition), r.any_in_codes(codes, exclusion)))

    diagnosis = or_(
        and_(r.in_codes(dx, "acsc_chronic"),
             unless("acsc_chronic_angina", ops, "acsc_chronic_angina_procedure"),
             unless("acsc_chronic_cardiac", ops, "acsc_chronic_cardiac_procedure"),
             unless("acsc_chronic_hep_b", sec, "acsc_chronic_hep_b_secondary")),
        and_(r.in_codes(dx, "acsc_chronic_bronchitis"), r.any_in_codes(sec, "acsc_chronic_bronchitis_secondary")),
    )
    return and_(
        _emergency(r), diagnosis,
        r.patient_classification == ORDINARY_ADMISSION,
        or_(r.admission_source.is_(None), r.admission_source.not_in(TRANSFER_ADMISSION_SOURCES)),
    )


def _bp_in_range_hyp(r: Any) -> Any:
    """QOF HYP008 (aged 79 or under: <=140/90) and HYP009 (80 and over: <=150/90)."""
    from sqlalchemy import and_, or_

    return or_(
        and_(r.age < 80, r.last_systolic <= 140, r.last_diastolic <= 90),
        and_(r.age >= 80, r.last_systolic <= 150, r.last_diastolic <= 90),
    )


def _lipids_in_range(r: Any) -> Any:
    """LDL-C <= 2.0 mmol/L; where no LDL-C is recorded, non-HDL-C <= 2.6 (LDL-C wins when both exist)."""
    from sqlalchemy import and_, or_

    return or_(r.ldl <= 2.0, and_(r.ldl.is_(None), r.non_hdl <= 2.6))


def _cvd(r: Any) -> Any:
    return r.cvd == True  # noqa: E712


def _aged(years: int) -> Filter:
    """Aged `years` or over (completed years at the row's date: snapshot, admission, ...)."""
    return lambda r: r.age >= years


def _smok002(r: Any) -> Any:
    """The QOF SMOK002 population, aged 15+ (register flag from the extract)."""
    return (r.age >= 15) & (r.ltc_register == True)  # noqa: E712


def _all(*filters: Filter) -> Filter:
    from sqlalchemy import and_

    return lambda r: and_(*(f(r) for f in filters))


def _delay_days(r: Any) -> Any:
    return r.days_between(r.discharge_ready_date, r.discharge_date)


def _adult_discharge(r: Any) -> Any:
    """BCF 2025-26 discharge delay population: adults (18+ at discharge), any pathway, both dates known."""
    return (r.age >= 18) & r.discharge_ready_date.is_not(None) & r.discharge_date.is_not(None)


def _ucr_response_hours(r: Any) -> Any:
    return r.hours_between(r.referral_datetime, r.first_contact_datetime)


def _two_hour_responded(r: Any) -> Any:
    return (r.two_hour_eligible == True) & r.first_contact_datetime.is_not(None)  # noqa: E712


def _pathway(n: int) -> Filter:
    """One pathway's share of the BCF 2025-26 adult (18+) delay population: the same age rule."""
    return lambda r: _adult_discharge(r) & (r.discharge_pathway == n)


_APC = "SUS+ Admitted Patient Care (inpatient_spell) linked to the patient spine"
_DRD = "Acute discharge data with discharge-ready date (inpatient_spell)"


def _discharge_indicators(pathway: int) -> tuple[Indicator, ...]:
    label = {1: "Pathway 1 (home with support)", 2: "Pathway 2 (intermediate care bed)"}[pathway]
    where = _pathway(pathway)
    common: dict[str, Any] = dict(
        measure=6,
        source=_DRD,
        definition="NHS England discharge sitrep / BCF 2025-26 'average length of discharge delay' (days from discharge ready date to discharge)",
        definition_year="2025-26",
        caveats="Discharges are assigned to the period of the discharge date. Patients still in hospital are not counted until discharged.",
        bcf_framework="2025-26",
    )
    return (
        Indicator(
            id=f"m06_p{pathway}_mean_delay",
            title=f"{label}: mean days from discharge ready to discharge",
            numerator=Events("inpatient_spell", "discharge_date", where, count="value", value=_delay_days),
            denominator=None,
            numerator_text=f"Sum of days between discharge ready date and discharge date, {label} discharges",
            denominator_text=f"Number of {label} discharges of adults (18+ at discharge) with a discharge ready date",
            unit="days", polarity=Polarity.LOW_IS_GOOD, aggregation="mean", ci="t", decimals=2,
            numerator_disclosive=False,
            **common,
        ),
        Indicator(
            id=f"m06_p{pathway}_median_delay",
            title=f"{label}: median days from discharge ready to discharge",
            numerator=Events("inpatient_spell", "discharge_date", where, count="value", value=_delay_days),
            denominator=None,
            numerator_text=f"Median of days between discharge ready date and discharge date, {label} discharges",
            denominator_text="—",
            unit="days", polarity=Polarity.LOW_IS_GOOD, aggregation="median", ci="none",
            **common,
        ),
        Indicator(
            id=f"m06_p{pathway}_same_day",
            title=f"{label}: % discharged on the discharge ready date",
            numerator=Events("inpatient_spell", "discharge_date",
                             _all(where, lambda r: r.discharge_date == r.discharge_ready_date)),
            denominator=Events("inpatient_spell", "discharge_date", where),
            numerator_text=f"{label} discharges on the discharge ready date",
            denominator_text=f"{label} discharges of adults (18+ at discharge) with a discharge ready date",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            **common,
        ),
    )


_STILL_IN = ("People still in hospital are not counted until they are discharged, so a long current delay "
             "is invisible until it ends (the sitrep's snapshot of people waiting is not in the extract).")


def _bcf_discharge_indicators() -> tuple[Indicator, ...]:
    """BCF 2025-26 'average length of discharge delay for all acute adult patients' and its 90th centile."""
    value = Events("inpatient_spell", "discharge_date", _adult_discharge, count="value", value=_delay_days)
    common: dict[str, Any] = dict(
        measure=6, source=_DRD, numerator=value, denominator=None, unit="days",
        polarity=Polarity.LOW_IS_GOOD, definition_year="2025-26",
    )
    return (
        Indicator(
            id="m06_all_mean_delay",
            title="All adult acute discharges (all pathways): mean days from discharge ready to discharge (BCF 2025-26)",
            numerator_text="Sum of days between discharge ready date and discharge date, discharges of people aged 18+ on any pathway (0-3)",
            denominator_text="Discharges of people aged 18+ with a discharge ready date (including those discharged on the day: 0 days)",
            aggregation="mean", ci="t", decimals=2, numerator_disclosive=False,
            definition="BCF 2025-26 metric 'average length of discharge delay for all acute adult patients' (NHS England acute discharge sitrep: days from discharge ready date to discharge, averaged over all adult discharges, so same-day discharges count as 0)",
            bcf_framework="2025-26",
            caveats="Discharges are assigned to the month of the discharge date; age is at discharge. " + _STILL_IN,
            deviations="The BCF metric is calculated from the acute discharge sitrep of NHS acute trusts; here it is calculated from the spell-level discharge-ready dates of the SUS+ APC extract for registered BSol patients, whichever trust they were in. We could not verify whether the sitrep counts age at admission or at discharge.",
            **common,
        ),
        Indicator(
            id="m06_all_p90_delay",
            title="All adult acute discharges (all pathways): 90th centile of days from discharge ready to discharge",
            numerator_text="90th centile of days between discharge ready date and discharge date, discharges of people aged 18+ on any pathway",
            denominator_text="Discharges of people aged 18+ with a discharge ready date",
            aggregation="percentile", quantile=0.9, ci="none", decimals=1,
            definition="Local companion to the Better Care Fund 2025-26 average discharge delay: the long tail of delays (no national centile is published)",
            caveats=_STILL_IN,
            **common,
        ),
    )


def _ucr_response(suffix: str, quantile: float) -> Indicator:
    """Table 2's UCR 'response time': a centile of hours to first contact, 2-hour referrals."""
    label = "median" if quantile == 0.5 else f"{round(quantile * 100)}th centile"
    return Indicator(
        id=f"m05_ucr_response_{suffix}",
        measure=5,
        title=f"UCR response time: {label} of hours from referral to first contact (2-hour referrals)",
        numerator=Events("ucr_referral", "referral_datetime", _two_hour_responded, count="value",
                         value=_ucr_response_hours),
        denominator=None,
        numerator_text=f"{label.capitalize()} of hours from referral to first face-to-face contact, referrals eligible for the 2-hour standard",
        denominator_text="2-hour-eligible referrals with a first contact",
        unit="hours", polarity=Polarity.LOW_IS_GOOD, ci="none", decimals=2, quantile=quantile,
        aggregation="median" if quantile == 0.5 else "percentile",
        definition=f"Table 2 'response time': {label} response time of the NHS England UCR 2-hour standard population (CSDS); no national centile is published",
        definition_year="2024-25",
        source="CSDS / BCHC UCR system (ucr_referral)",
        caveats="Referrals never contacted have no response time and are not counted here (they count as not within 2 hours in the 2-hour standard). The latest month is provisional.",
    )


def _caseload_rate(measure: int, activity: str, title: str, events: Events, source: str) -> Indicator:
    return Indicator(
        id=f"m{measure:02d}_caseload_{activity}",
        measure=measure,
        title=title,
        numerator=events,
        denominator=CaseloadExposure(),
        numerator_text=f"{title.split(' per ')[0]} while the person was on an INT caseload",
        denominator_text="Person-years on an INT caseload in the period",
        unit="per_person_year",
        polarity=Polarity.LOW_IS_GOOD,
        aggregation="rate",
        ci="byar",
        definition="Local definition (no national equivalent)",
        definition_year="2024-25",
        source=source,
        decimals=2,
        denominator_disclosive=False,
        dispersion="person_clustered",
        rebase_at_go_live=True,
        caveats=(
            "People on a caseload are high users; their activity regresses toward the mean after "
            "enrolment, so a fall is expected even without an effect. See the pre/post page for "
            "a comparison cohort."
        ),
    )


MEASURES: tuple[Measure, ...] = (
    # ------------------------------------------------------------------ WP1
    Measure(1, 1, "People on the caseload for Integrated Neighbourhood Teams (i.e. existing high users of health and care services).", (
        Indicator(
            id="m01_caseload",
            measure=1,
            title="People on INT caseloads",
            numerator=CaseloadPeople(),
            denominator=None,
            numerator_text="Distinct people on any INT caseload at any time in the period",
            denominator_text="—",
            unit="count", polarity=Polarity.NO_JUDGEMENT, aggregation="count", ci="none",
            definition="Local definition (INT caseload register)", definition_year="2024-25",
            source="INT caseload register (int_caseload)",
            caveats="Counts people, not caseload episodes. Growth reflects INT roll-out, so no judgement is made.",
            decimals=0, gradient=False, rebase_at_go_live=True,
        ),
    )),
    Measure(2, 1, "Emergency admissions to acute hospital for people on the caseload of the Integrated Neighbourhood Team.", (
        _caseload_rate(2, "emergency_admissions", "Emergency admissions per person-year on an INT caseload",
                       Events("inpatient_spell", "admission_date",
                              _all(_emergency, lambda r: r.on_caseload(r.admission_date))),
                       _APC + "; INT caseload register"),
    )),
    Measure(3, 1, "GP consultations for people on the caseload of the Integrated Neighbourhood Team.", (
        _caseload_rate(3, "gp_appointments", "GP appointments attended per person-year on an INT caseload",
                       Events("gp_appointment", "appointment_date",
                              _all(lambda r: r.status == "attended", lambda r: r.on_caseload(r.appointment_date))),
                       "Patient-level GP appointments (gp_appointment); INT caseload register"),
    )),
    Measure(4, 1, "Rate of admission to residential or nursing care homes (BCF metric).", (
        Indicator(
            id="m04_care_home_admissions_65",
            measure=4,
            title="Permanent admissions to residential and nursing care homes, aged 65+, per 100,000",
            numerator=Events("care_home_admission", "admission_date",
                             lambda r: (r.permanent == True) & (r.age >= 65)  # noqa: E712
                             & ~r.has_earlier("admission_date", permanent=True), count="patients"),
            denominator=Population(lambda r: r.age >= 65),
            numerator_text="People aged 65+ whose long-term support needs were met by a permanent local-authority-supported admission to residential or nursing care (each person once; a move between residential and nursing care, i.e. a permanent admission after an earlier one, is a transfer and not counted)",
            denominator_text="Registered population aged 65+",
            unit="per_100k", multiplier=100_000, annualised=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="rate", ci="byar",
            definition="ASCOF 2C part 2 (formerly 2A(2)): long-term support needs of older adults met by admission to residential and nursing care homes, per 100,000; BCF 2025-26 metric",
            bcf_framework="2025-26",
            definition_year="2025-26",
            source="Local authority client-level data (care_home_admission); GP registered population",
            caveats="Rates for months and quarters are annualised.",
            deviations="ASCOF 2C uses the ONS mid-year resident population of the local authority; here the GP registered population is used so localities and neighbourhoods can be compared. ASCOF counts people new to permanent care in the year from client-level data; here a permanent admission counts unless the person had an earlier permanent admission in the extract (any year), because the extract has no care-home discharge dates.",
        ),
    )),
    # ------------------------------------------------------------------ WP2
    Measure(5, 2, "Urgent Community Response referrals, response time and percentage of people managed at home.", (
        Indicator(
            id="m05_ucr_referrals",
            measure=5,
            title="Urgent Community Response referrals",
            numerator=Events("ucr_referral", "referral_datetime"),
            denominator=None,
            numerator_text="Referrals received by the UCR service",
            denominator_text="—",
            unit="count", polarity=Polarity.NO_JUDGEMENT, aggregation="count", ci="none",
            definition="Community Services Data Set UCR referrals", definition_year="2024-25",
            source="CSDS / BCHC UCR system (ucr_referral)", decimals=0, gradient=False,
        ),
        Indicator(
            id="m05_ucr_2h",
            measure=5,
            title="UCR 2-hour standard: % of 2-hour referrals seen within 2 hours",
            numerator=Events("ucr_referral", "referral_datetime",
                             lambda r: (r.two_hour_eligible == True)  # noqa: E712
                             & (r.first_contact_datetime <= r.referral_datetime + timedelta(hours=2))),
            denominator=Events("ucr_referral", "referral_datetime", lambda r: r.two_hour_eligible == True),  # noqa: E712
            numerator_text="2-hour-eligible referrals with first face-to-face contact within 2 hours of referral",
            denominator_text="Referrals eligible for the 2-hour standard",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="NHS England Urgent Community Response 2-hour standard (CSDS): at least 70% of 2-hour referrals reached within 2 hours",
            definition_year="2024-25",
            source="CSDS / BCHC UCR system (ucr_referral)",
            target=70.0, target_text="National standard: at least 70% within 2 hours",
        ),
        Indicator(
            id="m05_ucr_referrals_rate",
            measure=5,
            title="Urgent Community Response referrals per 100,000 population (annualised)",
            numerator=Events("ucr_referral", "referral_datetime"),
            denominator=Population(),
            numerator_text="Referrals received by the UCR service",
            denominator_text="Registered population",
            unit="per_100k", multiplier=100_000, annualised=True,
            polarity=Polarity.NO_JUDGEMENT, aggregation="rate", ci="byar",
            definition="NHS England Community Health Services / UCR statistics: UCR referrals per 100,000 population (published nationally from April 2026)",
            definition_year="2026-27",
            source="CSDS / BCHC UCR system (ucr_referral); GP registered population",
            caveats="Higher is not simply better: more referrals can mean better access or more crises. The latest month of UCR data is provisional (it is usually revised). UCR periods run to the dataset's data end unless the load declares the extract's own (`flask --app app load --data-end ucr_referral=YYYY-MM-DD`, stored as dataset_info data_end.ucr_referral): a lagging UCR extract loaded without that declaration shows its missing months as no referrals.",
            deviations="National figures are monthly counts per 100,000 resident population; here rates are annualised (a month's value x 365.25 / days in the month) and use the GP registered population. To compare a monthly value with the national one, multiply by days in the month / 365.25. The national specification was not available to verify.",
        ),
        _ucr_response("median", 0.5),
        _ucr_response("p90", 0.9),
        Indicator(
            id="m05_ucr_managed_at_home",
            measure=5,
            title="UCR: % of people managed at home",
            numerator=Events("ucr_referral", "referral_datetime", lambda r: r.outcome == "managed_at_home"),
            denominator=Events("ucr_referral", "referral_datetime", lambda r: r.outcome != "unknown"),
            numerator_text="UCR referrals whose episode ended with the person managed at home (not conveyed or admitted)",
            denominator_text="UCR referrals with a recorded outcome",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Local definition (no national 'managed at home' definition)", definition_year="2024-25",
            source="BCHC UCR system (ucr_referral)",
            caveats="Referrals with an unknown outcome are excluded from the denominator.",
        ),
    )),
    Measure(6, 2, "Time from “discharge ready” to discharge from acute hospital for Pathway 1 and Pathway 2 referrals.",
            _discharge_indicators(1) + _discharge_indicators(2) + _bcf_discharge_indicators()),
    Measure(7, 2, "Emergency admissions to acute care for people resident in nursing care homes.", (
        Indicator(
            id="m07_nursing_home_emergency_admissions",
            measure=7,
            title="Emergency admissions of nursing home residents per 1,000 residents",
            numerator=Events("inpatient_spell", "admission_date",
                             _all(_emergency, lambda r: r.admitted_from_care_home == True,  # noqa: E712
                                  lambda r: r.patient_care_home == "nursing")),
            denominator=Events("patient", "birth_month", lambda r: r.care_home == "nursing", count="patients",
                               until="date_of_death"),
            numerator_text="Emergency admissions whose spell records admission from a care home, of people whose spine care-home setting is nursing",
            denominator_text="People whose latest spine care-home setting is nursing and who were alive on at least one day of the period (each counted once, whatever the number of days; no move-in or move-out dates, so not resident person-time)",
            unit="per_1000", multiplier=1000, annualised=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="rate", ci="byar",
            definition="Local definition (no national equivalent)", definition_year="2024-25",
            source=_APC,
            caveats="The numerator uses the spell-level 'admitted from a care home' flag, so admissions made before a person moved in are not counted; the spell does not say which kind of home, so the home type (nursing) is the patient spine's latest setting. The denominator is the count of people whose latest spine setting is nursing and who were alive at any time in the period: it does not know move-in dates, so people who moved in during the period count for the whole period (the rate is understated for periods before they moved in). Rates for months and quarters are annualised.",
            deviations="No national definition. A resident-days denominator would need care-home residence start and end dates, which no extract supplies.",
        ),
    )),
    Measure(8, 2, "Older people still at home 91 days after discharge from hospital into reablement or rehabilitation services (BCF metric).", (
        Indicator(
            id="m08_reablement_91d",
            measure=8,
            title="Older people (65+) at home 91 days after discharge into reablement",
            numerator=Events("reablement_discharge", "hospital_discharge_date",
                             lambda r: (r.age >= 65) & (r.status_91_days == "at_home")
                             & r.followed_up(r.hospital_discharge_date, _REABLEMENT_FOLLOW_UP), fy_quarter=3),
            denominator=Events("reablement_discharge", "hospital_discharge_date",
                               lambda r: (r.age >= 65) & (r.status_91_days != "unknown")
                               & r.followed_up(r.hospital_discharge_date, _REABLEMENT_FOLLOW_UP), fy_quarter=3),
            follow_up_days=_REABLEMENT_FOLLOW_UP,
            numerator_text="People aged 65+ discharged into reablement/rehabilitation who were at home 91 days later",
            denominator_text="People aged 65+ discharged from hospital into reablement/rehabilitation (deaths count as not at home)",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="ASCOF 2B(1): proportion of older people (65+) still at home 91 days after discharge into reablement/rehabilitation; annual value uses the October–December discharge cohort",
            bcf_framework="2023-25",
            definition_year="2024-25",
            frequency=("quarter", "financial_year"),
            source="Reablement discharges with 91-day follow-up (reablement_discharge)",
            caveats="Quarterly values use each quarter's discharges; the financial-year value is the national October–December cohort only. Status unknown is excluded. A quarter (and a year's October–December cohort) is reported only once the 91 days after its last day have passed by the data end, so the latest quarter shown is usually the one before the latest in the data.",
        ),
    )),
    Measure(9, 2, "Emergency admission to acute hospital following a fall for older people (BCF metric).", (
        Indicator(
            id="m09_falls_65",
            measure=9,
            title="Emergency admissions due to falls, aged 65+, per 100,000 (directly standardised)",
            numerator=Events("inpatient_spell", "admission_date",
                             _all(_emergency, lambda r: r.age >= 65,
                                  lambda r: r.in_codes(r.primary_diagnosis, "injury_diagnosis"),
                                  lambda r: r.in_codes(r.cause_code, "falls_cause"))),
            denominator=Population(lambda r: r.age >= 65),
            numerator_text="Emergency admissions of people aged 65+ with an injury primary diagnosis (S00-T98) and a fall external cause (W00-W19)",
            denominator_text="Registered population aged 65+, by five-year age band",
            unit="per_100k", multiplier=100_000, annualised=True, min_age=65,
            polarity=Polarity.LOW_IS_GOOD, aggregation="dsr", ci="dobson",
            standardisation="Direct, European Standard Population 2013 (65-69 ... 90+)",
            definition="PHOF C29: emergency hospital admissions due to falls in people aged 65 and over (directly standardised, ESP 2013, Dobson CI); BCF 2023-25 metric",
            bcf_framework="2023-25",
            definition_year="2023-24",
            breakdowns=("imd_quintile", "ethnicity", "sex"),
            source=_APC + "; GP registered population",
            caveats="PHOF C29 is no longer a BCF headline metric from 2025-26. The cause code is taken from the spell's first episode only.",
        ),
    )),
    # ------------------------------------------------------------------ WP3
    Measure(10, 3, "Patients with registered smoking status and proportion referred to Stop Smoking Services", (
        Indicator(
            id="m10_smoking_status_recorded",
            measure=10,
            title="% of patients with long-term conditions whose smoking status was recorded in the last 12 months (QOF SMOK002)",
            numerator=Events("smoking_status", "snapshot_date",
                             _all(_smok002, lambda r: (r.status != "not_recorded")
                                  & (r.status_date > r.months_before(r.snapshot_date, 12))),
                             snapshot=True),
            denominator=Events("smoking_status", "snapshot_date", _smok002, snapshot=True),
            numerator_text="Patients aged 15+ on a SMOK002 condition register whose smoking status was recorded in the 12 months to the snapshot",
            denominator_text="Patients aged 15+ on any SMOK002 condition register (CHD, PAD, stroke/TIA, hypertension, diabetes, COPD, CKD, asthma, schizophrenia, bipolar disorder, other psychoses)",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="QOF SMOK002: patients with any of the listed conditions whose notes record smoking status in the preceding 12 months",
            definition_year="QOF 2024-25",
            frequency=("quarter", "financial_year"),
            source="GP clinical systems, quarterly snapshot (smoking_status)",
            caveats="Every quarter-end snapshot is treated as a QOF achievement date (the 12 months to that day); QOF itself reports the year to 31 March.",
            deviations="No QOF exception reporting (personalised care adjustments) and no QOF register age rules beyond 15+; the register flag comes from the extract, not from the QOF business-rule clusters (not verified against the business rules v49).",
        ),
        Indicator(
            id="m10_smokers_referred",
            measure=10,
            title="% of current smokers referred to Stop Smoking Services in the last 12 months",
            numerator=Events("smoking_status", "snapshot_date",
                             _all(_aged(15), lambda r: (r.status == "current")
                                  & (r.referral_date > r.months_before(r.snapshot_date, 12))),
                             snapshot=True),
            denominator=Events("smoking_status", "snapshot_date", _all(_aged(15), lambda r: r.status == "current"),
                               snapshot=True),
            numerator_text="Current smokers aged 15+ with a referral to NHS Stop Smoking Services in the 12 months to the snapshot",
            denominator_text="Current smokers aged 15+",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Local definition ('referred' is narrower than QOF SMOK004 'offered support')",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            source="GP clinical systems, quarterly snapshot (smoking_status)",
        ),
    )),
    Measure(11, 3, "Number of people on primary care hypertension registers compared to expected incidence.", (
        Indicator(
            id="m11_hypertension_detection",
            measure=11,
            title="Hypertension: % of expected prevalence diagnosed (register ÷ modelled expected)",
            numerator=Events("hypertension", "snapshot_date", snapshot=True),
            denominator=Expected("hypertension"),
            numerator_text="Patients on the QOF hypertension register",
            denominator_text="Modelled expected number of people with hypertension on the practice list",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="byar",
            definition="CVDPREVENT / QOF HYP001 register compared with OHID modelled prevalence ('% of expected diagnosed'); Table 2 says 'incidence', read as prevalence",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            breakdowns=GEOGRAPHY_ONLY, denominator_disclosive=False,
            target=80.0, patients_to_target=True,
            target_text="National ambition: 80% of the expected number of people with hypertension diagnosed by March 2029 (NHS Long Term Plan CVD ambitions; CVDPREVENT) — verify locally",
            source="GP clinical systems (hypertension); modelled prevalence (modelled_prevalence)",
            caveats="Expected prevalence is modelled per practice, so no breakdown by deprivation, ethnicity, sex or age is available. The CI treats the expected count as fixed (Byar on the register count). Plan context: recorded prevalence c12.5% v 15% (F4:1399).",
        ),
    )),
    Measure(12, 3, "Proportion of people with hypertension with blood pressure and cholesterol within clinically appropriate ranges.", (
        Indicator(
            id="m12_hypertension_bp_target",
            measure=12,
            title="Hypertension: % with blood pressure at the age-appropriate target",
            numerator=Events("hypertension", "snapshot_date", _bp_in_range_hyp, snapshot=True),
            denominator=Events("hypertension", "snapshot_date", snapshot=True),
            numerator_text="Register patients whose last BP (12 months) is <=140/90 (aged 79 or under) or <=150/90 (80 and over)",
            denominator_text="Patients on the hypertension register",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="QOF HYP008 (<=79: <=140/90) and HYP009 (80+: <=150/90), combined, without QOF exception reporting (CVDPREVENT 'treated to target' style)",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            source="GP clinical systems, quarterly snapshot (hypertension)",
            target=80.0, patients_to_target=True,
            target_text="National ambition: 80% of people with hypertension treated to target (NHS planning guidance 2024/25) — verify locally",
            caveats="No BP in the last 12 months counts as not at target. Age is at the snapshot date.",
        ),
        Indicator(
            id="m12_hypertension_cholesterol",
            measure=12,
            title="Hypertension with CVD: % with cholesterol treated to threshold (LDL-C <=2.0, else non-HDL-C <=2.6 mmol/L)",
            numerator=Events("hypertension", "snapshot_date", _all(_cvd, _lipids_in_range), snapshot=True),
            denominator=Events("hypertension", "snapshot_date", _cvd, snapshot=True),
            numerator_text="Hypertension register patients with CVD whose latest LDL-C (12 months) is <=2.0 mmol/L, or, with no LDL-C, whose latest non-HDL-C is <=2.6 mmol/L",
            denominator_text="Patients on the hypertension register who are also on a CVD register (CHD, stroke/TIA, PAD)",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="CVDPREVENT 'cholesterol treated to threshold' for people with CVD (secondary prevention; NHS England lipid management pathway thresholds LDL-C <=2.0 / non-HDL-C <=2.6 mmol/L), restricted to the hypertension register",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            source="GP clinical systems, quarterly snapshot (hypertension)",
            caveats="Secondary prevention only: people with hypertension and no CVD have no lipid threshold in national guidance (for them CVDPREVENT measures lipid-lowering treatment by QRISK, which the extract does not carry). No lipid reading in the 12 months counts as not at threshold.",
            deviations="Which reading wins when both exist (LDL-C first, non-HDL-C only when LDL-C is missing) follows the NHS England lipid pathway's LDL-C-first wording; we could not verify it against the CVDPREVENT technical specification. The extract holds the latest value of each test, not their dates, so 'most recent' cannot compare the two tests' dates.",
        ),
    )),
    Measure(13, 3, "[As part of our next steps, we will develop indicators of the identification and community management of diabetes similar to those included for hypertension]", (
        Indicator(
            id="m13_diabetes_detection",
            measure=13,
            title="Diabetes: % of expected prevalence diagnosed (proposed)",
            numerator=Events("diabetes", "snapshot_date", _aged(17), snapshot=True),
            denominator=Expected("diabetes"),
            numerator_text="Patients aged 17+ on the QOF diabetes register",
            denominator_text="Modelled expected number of people aged 17+ with diabetes on the practice list",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="byar",
            definition="Proposed: QOF DM017 register compared with the PHE/OHID diabetes prevalence model, mirroring measure 11",
            definition_year="2024-25", frequency=("quarter", "financial_year"), breakdowns=GEOGRAPHY_ONLY,
            denominator_disclosive=False,
            source="GP clinical systems (diabetes); modelled prevalence",
        ),
        Indicator(
            id="m13_diabetes_hba1c",
            measure=13,
            title="Diabetes: % with HbA1c <=58 mmol/mol (proposed)",
            numerator=Events("diabetes", "snapshot_date", _all(_aged(17), lambda r: r.last_hba1c <= 58), snapshot=True),
            denominator=Events("diabetes", "snapshot_date", _aged(17), snapshot=True),
            numerator_text="Register patients whose latest HbA1c (12 months) is 58 mmol/mol or less",
            denominator_text="Patients aged 17+ on the diabetes register",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Proposed: National Diabetes Audit treatment target HbA1c <=58 mmol/mol",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            source="GP clinical systems (diabetes)",
        ),
        Indicator(
            id="m13_diabetes_bp",
            measure=13,
            title="Diabetes: % with blood pressure <=140/80 (proposed)",
            numerator=Events("diabetes", "snapshot_date",
                             _all(_aged(17), lambda r: (r.last_systolic <= 140) & (r.last_diastolic <= 80)),
                             snapshot=True),
            denominator=Events("diabetes", "snapshot_date", _aged(17), snapshot=True),
            numerator_text="Register patients whose latest BP (12 months) is 140/80 or less",
            denominator_text="Patients aged 17+ on the diabetes register",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Proposed: National Diabetes Audit treatment target BP <=140/80",
            definition_year="2024-25", frequency=("quarter", "financial_year"),
            source="GP clinical systems (diabetes)",
        ),
    ), proposed=True),
    Measure(14, 3, "Percentage of deaths that occur at home or in a care home (i.e. outside of acute hospital).", (
        Indicator(
            id="m14_deaths_usual_residence",
            measure=14,
            title="% of deaths in the usual place of residence (home, care home, religious establishment)",
            numerator=Events("death", "date_of_death",
                             lambda r: r.place_of_death.in_(("home", "care_home", "religious_establishment"))),
            denominator=Events("death", "date_of_death"),
            numerator_text="Deaths at home, in a care home or in a religious establishment",
            denominator_text="All deaths of registered patients",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="OHID 'deaths in usual place of residence' (DiUPR): home, care home and religious establishment count; hospice and hospital do not",
            definition_year="2024-25",
            source="ONS death registrations / Primary Care Mortality Database (death)",
            caveats="Hospice deaths are not counted as usual residence, as in the OHID definition; see the 'outside hospital' indicator for Table 2's wording. Baseline in the plan: 5,792 of 11,868 deaths in hospital in 2022-23 (F4:770).",
        ),
        Indicator(
            id="m14_deaths_outside_hospital",
            measure=14,
            title="% of deaths outside hospital (home, care home, hospice, religious establishment, elsewhere)",
            numerator=Events("death", "date_of_death", lambda r: r.place_of_death != "hospital"),
            denominator=Events("death", "date_of_death"),
            numerator_text="Deaths anywhere other than a hospital (home, care home, hospice, religious establishment, other places)",
            denominator_text="All deaths of registered patients",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Table 2 wording 'outside of acute hospital': OHID Palliative and End of Life Care Profiles place-of-death categories, all places except hospital (the complement of 'deaths in hospital')",
            definition_year="2024-25",
            source="ONS death registrations / Primary Care Mortality Database (death)",
            caveats="Unlike OHID's 'deaths in usual place of residence', hospice deaths count here. 'Hospital' is every ONS hospital place type (acute and community hospitals alike): the extract does not separate acute hospitals, so 'outside acute hospital' is read as 'outside any hospital'.",
        ),
    )),
    Measure(15, 3, "[As part of our next steps, we will develop a measure of the quality of end of life care as well as its location].", (
        Indicator(
            id="m15_eol_care_plan",
            measure=15,
            title="% of deaths with a palliative care register entry or end-of-life care plan (proposed)",
            numerator=Events("death", "date_of_death", lambda r: (r.on_palliative_register == True) | (r.eol_care_plan == True)),  # noqa: E712
            denominator=Events("death", "date_of_death"),
            numerator_text="Deaths of people on the GP palliative care register or with a recorded end-of-life care plan before death",
            denominator_text="All deaths of registered patients",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="Proposed: identification before death, in the spirit of the Ambitions for Palliative and End of Life Care; not a national indicator",
            definition_year="2024-25",
            source="Deaths linked to GP records (death)",
            caveats="Sudden deaths, for which no plan was possible, are included in the denominator.",
        ),
    ), proposed=True),
    Measure(16, 3, "Unplanned admissions to acute hospital for ambulatory sensitive chronic conditions (BCF metric).", (
        Indicator(
            id="m16_acsc_chronic",
            measure=16,
            title="Unplanned admissions for chronic ambulatory care sensitive conditions per 100,000 (age and sex standardised)",
            numerator=Events("inpatient_spell", "admission_date", _acsc_chronic),
            denominator=Population(),
            numerator_text=("Emergency admissions (methods 21-25, 2A-2D, 28), ordinary admissions (patient classification 1) not "
                            "transferred in (admission source not 51-53), with a first-episode primary diagnosis on the CCG OIS 2.6 "
                            "chronic ACSC list (code_list acsc_chronic): hepatitis B (B18.0, B18.1) unless a sickle-cell (D57) "
                            "diagnosis, diabetes (E10-E14), iron-deficiency anaemia (D50.1, D50.8, D50.9, D51, D52), dementia "
                            "(F00-F03), epilepsy (G40, G41), atrial fibrillation (I48), COPD (J41-J44, J47; J20 acute bronchitis "
                            "only with a COPD secondary diagnosis), asthma (J45, J46), angina (I20, I25) unless any procedure in "
                            "OPCS-4 chapters A-T, V, W or X0-X2, X4, X5, heart failure and hypertension (I50, I11.0, I13.0, J81, "
                            "I10, I11.9) unless a listed cardiac procedure (K0-K4, K50, K52, K55-K57, K60, K61, K66-K69, K71, "
                            "K73, K74); people of unknown sex excluded"),
            denominator_text="Registered population, all ages, by five-year age band and sex",
            unit="per_100k", multiplier=100_000, annualised=True, min_age=0, standardise_by_sex=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="dsr", ci="dobson", exact_poisson_below=389,
            standardisation=("Direct, by age (five-year bands, European Standard Population 2013) and sex, as the CCG OIS 2.6 "
                             "specification v1.15 (p. 9): each sex is weighted by the whole ESP (w_i is the standard population "
                             "in age and sex group i), so a persons rate is the mean of the male and female rates; a male or "
                             "female group uses its own sex's bands only."),
            definition=("NHS Digital CCG OIS 2.6 (the CCG-level NHS Outcomes Framework 2.3.i, IAP00068; portal I00757): "
                        "unplanned hospitalisation for chronic ambulatory care sensitive conditions, directly age and sex "
                        "standardised per 100,000 registered patients; BCF 2023-25 metric"),
            bcf_framework="2023-25",
            definition_year="CCG OIS 2.6 specification v1.15 (December 2018)",
            breakdowns=("imd_quintile", "ethnicity", "sex"),
            source=_APC + "; GP registered population",
            caveats="Replaced in BCF 2025-26 by emergency admissions of people aged 65+ (the next indicator). Counts spells (the extract's first-episode primary diagnosis), not people.",
            deviations=("Counts spells by the extract's first-episode coding (the specification counts first episodes, "
                        "EPIORDER 1, of general episode type, EPITYPE 1, which the extract does not carry). Not recorded, read "
                        "as the filters read literally: an empty patient classification is not an ordinary admission (not "
                        "counted), an empty admission source is not a transfer (counted); empty secondary "
                        "diagnoses or procedures mean none recorded, so J20 then does not count and no procedure exclusion "
                        "applies. GP registered population at "
                        "the financial-year mid-point rather than the 1 April NHAIS count. The BCF 2023-25 template's "
                        "indirectly standardised ratio by practice is the next indicator."),
        ),
        Indicator(
            id="m16_acsc_chronic_isr",
            measure=16,
            title="Chronic ACSC unplanned admissions: indirectly age and sex standardised ratio (BSol = 100)",
            numerator=Events("inpatient_spell", "admission_date", _acsc_chronic),
            denominator=Population(),
            numerator_text="Observed: the area's chronic ACSC admissions, counted exactly as the standardised rate above",
            denominator_text=("Expected: BSol's admission rates in the period by five-year age band and sex applied to "
                              "the area's registered population (people of unknown sex excluded)"),
            unit="ratio_bsol_100", multiplier=100, min_age=0, standardise_by_sex=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="isr", ci="byar", decimals=1,
            standardisation="Indirect, by age (five-year bands) and sex, against BSol's own rates in the same period.",
            definition=("BCF 2023-25 metric template (avoidable admissions): the indirectly standardised ratio of chronic "
                        "ACSC admissions by GP practice, observed ÷ expected × 100, with Byar's interval on the observed "
                        "count; counted as NHS Digital CCG OIS 2.6 v1.15"),
            definition_year="2023-25",
            bcf_framework="2023-25",
            breakdowns=GEOGRAPHY_ONLY,
            source=_APC + "; GP registered population",
            caveats=("Compares an area with what BSol's rates would give for its age and sex mix: 100 is the BSol "
                     "average, above 100 more admissions than expected. Ratios of different areas are not comparable "
                     "with each other in the strict sense (each has its own population structure)."),
            deviations=("The template's expected counts used England's rates; BSol's own rates are used here so that "
                        "practices are compared within BSol (BSol is 100 by construction)."),
            denominator_disclosive=False, gradient=False,
        ),
        Indicator(
            id="m16_emergency_admissions_65",
            measure=16,
            title="Emergency admissions of people aged 65+ per 100,000 (BCF 2025-26)",
            numerator=Events("inpatient_spell", "admission_date", _all(_emergency, _aged(65))),
            denominator=Population(_aged(65)),
            numerator_text="Emergency admissions (admission method 21-2D, 28) of people aged 65+ at admission, any diagnosis",
            denominator_text="Registered population aged 65+",
            unit="per_100k", multiplier=100_000, annualised=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="rate", ci="byar",
            definition="BCF 2025-26 metric: emergency admissions to hospital for people aged 65 and over per 100,000 population (replaces the 2023-25 avoidable admissions metric, measure 16's chronic ACSC indicator)",
            definition_year="2025-26",
            bcf_framework="2025-26",
            source=_APC + "; GP registered population",
            caveats="Counts admission spells, not people. Rates for months and quarters are annualised.",
            deviations="BCF uses SUS+ admissions of the local authority's residents over the ONS mid-year population aged 65+; here the GP registered population is used so localities and neighbourhoods can be compared. The rate is crude (as we understand the BCF metric); we could not verify whether the BCF template standardises it.",
        ),
    )),
    # ------------------------------------------------------------------ WP4
    Measure(17, 4, "Improved wound care pathway: Urgent Treatment Centre consultations for wound care and GP prescribing of wound care related products.", (
        Indicator(
            id="m17_utc_wound_consultations",
            measure=17,
            title="UTC wound-care consultations per 100,000 population",
            numerator=Events("ae_attendance", "arrival_datetime",
                             lambda r: (r.department_type == "03") & (r.wound_care == True)),  # noqa: E712
            denominator=Population(),
            numerator_text="Attendances at Urgent Treatment Centres (ECDS type 03) for wound care",
            denominator_text="Registered population",
            unit="per_100k", multiplier=100_000, annualised=True,
            polarity=Polarity.NO_JUDGEMENT, aggregation="rate", ci="byar",
            definition="Local definition (no national KPI; National Wound Care Strategy context)", definition_year="2024-25",
            source="ECDS (ae_attendance); GP registered population",
            caveats="Table 2 does not say which direction is good: fewer UTC visits may mean better community wound care, or worse access. Rates annualised.",
        ),
        Indicator(
            id="m17_wound_prescribing",
            numerator_disclosive=False,
            measure=17,
            title="Wound-care prescription items per 1,000 registered patients",
            numerator=Events("wound_prescribing", "month", lambda r: r.in_codes(r.bnf_code, "wound_bnf"),
                             count="sum", column="items"),
            denominator=Population(),
            numerator_text="Prescription items for wound-care products (BNF chapter 20 dressings and related appliances)",
            denominator_text="Registered population",
            unit="per_1000", multiplier=1000, annualised=True,
            polarity=Polarity.NO_JUDGEMENT, aggregation="rate", ci="none",
            definition="Local definition (NHSBSA English Prescribing Data, BNF chapter 20)", definition_year="2024-25",
            breakdowns=GEOGRAPHY_ONLY,
            source="NHSBSA EPD / ePACT2 (wound_prescribing); GP registered population",
            caveats="Practice-level data: no breakdown by patient characteristics. Items are not independent events, so no confidence interval is shown. Rates annualised.",
        ),
    )),
    Measure(18, 4, "GP appointments per 1,000 patients. (RAFT metric)", (
        Indicator(
            id="m18_gp_appointments_rate",
            numerator_disclosive=False,
            measure=18,
            title="GP appointments per 1,000 registered patients (annualised)",
            numerator=Events("gp_appointments", "month", count="sum", column="appointments"),
            denominator=Population(),
            numerator_text="Appointments in general practice (all statuses, all booking intervals)",
            denominator_text="Registered population",
            unit="per_1000", multiplier=1000, annualised=True,
            polarity=Polarity.HIGH_IS_GOOD, aggregation="rate", ci="none",
            definition="NHS England 'Appointments in General Practice' (GPAD): appointments per 1,000 registered patients",
            definition_year="2024-25", breakdowns=GEOGRAPHY_ONLY,
            source="GPAD practice-level data (gp_appointments); GP registered population",
            caveats="GPAD is practice level: no breakdown by patient characteristics is possible. Rates are annualised (count / (population x days in period / 365.25) x 1,000). RAFT is a local BSol access programme, not a national metric.",
            decimals=0,
        ),
    )),
    Measure(19, 4, "GP appointments: percentage offered on same day and within 14 days (RAFT metric).", (
        Indicator(
            id="m19_gp_same_day",
            numerator_disclosive=False, denominator_disclosive=False,
            measure=19,
            title="% of GP appointments booked for the same day",
            numerator=Events("gp_appointments", "month", lambda r: r.booking_interval == "same_day", count="sum", column="appointments"),
            denominator=Events("gp_appointments", "month", lambda r: r.booking_interval != "unknown", count="sum", column="appointments"),
            numerator_text="Appointments with 0 days between booking and appointment",
            denominator_text="Appointments with a known booking interval",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="NHS England GPAD 'time from booking to appointment' (same day)", definition_year="2024-25",
            breakdowns=GEOGRAPHY_ONLY,
            source="GPAD practice-level data (gp_appointments)",
            caveats="GPAD records appointments that took place, not those offered. Practice level only.",
        ),
        Indicator(
            id="m19_gp_within_14_days",
            numerator_disclosive=False, denominator_disclosive=False,
            measure=19,
            title="% of GP appointments within 14 days of booking",
            numerator=Events("gp_appointments", "month",
                             lambda r: r.booking_interval.in_(("same_day", "1_day", "2_to_7_days", "8_to_14_days")),
                             count="sum", column="appointments"),
            denominator=Events("gp_appointments", "month", lambda r: r.booking_interval != "unknown", count="sum", column="appointments"),
            numerator_text="Appointments booked same day, 1 day, 2-7 days or 8-14 days ahead",
            denominator_text="Appointments with a known booking interval",
            unit="percent", multiplier=100, polarity=Polarity.HIGH_IS_GOOD, aggregation="ratio", ci="wilson",
            definition="NHS England GPAD 'time from booking to appointment' (within 14 days); Delivery plan for recovering access to primary care (2023)",
            definition_year="2024-25",
            breakdowns=GEOGRAPHY_ONLY,
            source="GPAD practice-level data (gp_appointments)",
            target=85.0, target_text="Access recovery ambition: 85% within two weeks (local RAFT expectation) — verify locally",
            caveats="GPAD records appointments that took place, not those offered. Practice level only.",
        ),
    )),
    Measure(20, 4, "[A measure of the sustainability of the primary care workforce to be developed]", (
        Indicator(
            id="m20_gp_fte_per_10k",
            numerator_disclosive=False, denominator_disclosive=False,
            measure=20,
            title="GP FTE per 10,000 registered patients (proposed)",
            numerator=Events("gp_workforce", "month", lambda r: r.staff_group == "gp", count="sum", column="fte", snapshot=True),
            denominator=Population(),
            numerator_text="Full-time-equivalent GPs (quarter end)",
            denominator_text="Registered population",
            unit="per_10k", multiplier=10_000, polarity=Polarity.HIGH_IS_GOOD, aggregation="rate", ci="none",
            definition="Proposed: NHS Digital General Practice Workforce statistics, FTE per 10,000 patients", definition_year="2024-25",
            frequency=("quarter", "financial_year"), breakdowns=GEOGRAPHY_ONLY,
            source="NHS Digital GP workforce (gp_workforce); GP registered population",
            decimals=2,
        ),
        Indicator(
            id="m20_nurse_fte_per_10k",
            numerator_disclosive=False, denominator_disclosive=False,
            measure=20,
            title="Practice nurse FTE per 10,000 registered patients (proposed)",
            numerator=Events("gp_workforce", "month", lambda r: r.staff_group == "nurse", count="sum", column="fte", snapshot=True),
            denominator=Population(),
            numerator_text="Full-time-equivalent nurses (quarter end)",
            denominator_text="Registered population",
            unit="per_10k", multiplier=10_000, polarity=Polarity.HIGH_IS_GOOD, aggregation="rate", ci="none",
            definition="Proposed: NHS Digital General Practice Workforce statistics, FTE per 10,000 patients", definition_year="2024-25",
            frequency=("quarter", "financial_year"), breakdowns=GEOGRAPHY_ONLY,
            source="NHS Digital GP workforce (gp_workforce); GP registered population",
            decimals=2,
        ),
        Indicator(
            id="m20_clinical_leaver_rate",
            numerator_disclosive=False, denominator_disclosive=False,
            measure=20,
            title="Clinical staff leaving in the quarter, % of headcount (proposed)",
            numerator=Events("gp_workforce", "month", lambda r: r.staff_group.in_(("gp", "nurse", "dpc")), count="sum", column="leavers", snapshot=True),
            denominator=Events("gp_workforce", "month", lambda r: r.staff_group.in_(("gp", "nurse", "dpc")), count="sum", column="headcount", snapshot=True),
            numerator_text="GPs, nurses and direct patient care staff leaving in the quarter (headcount)",
            denominator_text="GP, nurse and direct patient care headcount at quarter end",
            unit="percent", multiplier=100, polarity=Polarity.LOW_IS_GOOD, aggregation="ratio", ci="none",
            definition="Proposed: leaver rate from NHS Digital General Practice Workforce statistics", definition_year="2024-25",
            frequency=("quarter", "financial_year"), breakdowns=GEOGRAPHY_ONLY,
            source="NHS Digital GP workforce (gp_workforce)",
            caveats="Financial-year value is the last quarter's, not an annual turnover rate.",
        ),
    ), proposed=True),
    # ------------------------------------------------------------------ WP5
    Measure(21, 5, "[To be scoped as part of the future development of the Collaborative.]", (
        Indicator(
            id="m21_cyp_ltc_admissions",
            measure=21,
            title="Unplanned admissions for asthma, diabetes or epilepsy, under 19s, per 100,000 (proposed)",
            numerator=Events("inpatient_spell", "admission_date",
                             _all(_emergency, lambda r: r.age < 19, lambda r: r.in_codes(r.primary_diagnosis, "cyp_ltc"))),
            denominator=Population(lambda r: r.age < 20),
            numerator_text="Emergency admissions of children and young people under 19 (aged 0-18 in completed years at admission, NHS OF 2.3.ii's 'under 19s') with a primary diagnosis of asthma (J45-J46), diabetes (E10-E14) or epilepsy (G40-G41)",
            denominator_text="Registered population aged 0-19 (five-year bands)",
            unit="per_100k", multiplier=100_000, annualised=True,
            polarity=Polarity.LOW_IS_GOOD, aggregation="rate", ci="byar",
            definition="Proposed, anchored on NHS Outcomes Framework 2.3.ii / CCG OIS 2.7: unplanned hospitalisation for asthma, diabetes and epilepsy in under 19s (emergency admissions, primary diagnosis J45-J46, E10-E14, G40-G41, aged 0-18); also the Core20PLUS5 children's clinical areas",
            definition_year="NHS OF 2.3.ii (Feb 2021 release)",
            source=_APC + "; GP registered population",
            caveats="Rates annualised.",
            deviations="NHS OF 2.3.ii divides by the population aged 0-18 and publishes a standardised rate; the registered population comes in five-year bands, so the denominator here is ages 0-19 (about 5% larger than 0-18, so the rate is about 5% lower) and the rate is crude. We could not verify the exact standardisation method of 2.3.ii.",
        ),
    ), proposed=True),
)

INDICATORS: tuple[Indicator, ...] = tuple(i for m in MEASURES for i in m.indicators)
INDICATORS_BY_ID: dict[str, Indicator] = {i.id: i for i in INDICATORS}
MEASURES_BY_NUMBER: dict[int, Measure] = {m.number: m for m in MEASURES}


def get_indicator(indicator_id: str) -> Indicator:
    try:
        return INDICATORS_BY_ID[indicator_id]
    except KeyError:
        raise KeyError(f"Unknown indicator {indicator_id!r}") from None


def measure_of(indicator: Indicator) -> Measure:
    return MEASURES_BY_NUMBER[indicator.measure]


def disclosure_columns(indicator_ids: Any) -> dict[str, Any]:
    """Per-row facts the disclosure rule needs, looked up from a Series of indicator ids."""
    return {
        "unit": indicator_ids.map({i.id: i.unit for i in INDICATORS}),
        "ci_method": indicator_ids.map({i.id: i.ci for i in INDICATORS}),
        "numerator_disclosive": indicator_ids.map({i.id: i.numerator_disclosive for i in INDICATORS}),
        "denominator_disclosive": indicator_ids.map({i.id: i.denominator_disclosive for i in INDICATORS}),
        "aggregation": indicator_ids.map({i.id: i.aggregation for i in INDICATORS}),
        "multiplier": indicator_ids.map({i.id: i.multiplier for i in INDICATORS}),
    }


def sources_of(indicator: Indicator) -> tuple[Source, ...]:
    return tuple(s for s in (indicator.numerator, indicator.denominator) if s is not None)


_AGGREGATIONS_NEEDING_DENOMINATOR = {"ratio", "rate", "dsr", "isr"}
BANDED_AGGREGATIONS = frozenset({"dsr", "isr"})  # computed from age-band (and sex) strata


@dataclass(frozen=True)
class CatalogueProblem:
    indicator: str
    problem: str


def catalogue_problems(indicators: tuple[Indicator, ...] = INDICATORS) -> list[CatalogueProblem]:
    """Structural checks that need no database (the extract catalogue checks its own columns at
    import: data_loaders.extracts._validate_catalogue)."""
    problems: list[CatalogueProblem] = []
    seen: set[str] = set()
    numbers = sorted(m.number for m in MEASURES)
    if numbers != list(range(1, 22)):
        problems.append(CatalogueProblem("*", f"measures must be numbered 1..21, got {numbers}"))
    for ind in indicators:
        if ind.id in seen:
            problems.append(CatalogueProblem(ind.id, "duplicate id"))
        seen.add(ind.id)
        if ind.measure not in MEASURES_BY_NUMBER:
            problems.append(CatalogueProblem(ind.id, f"unknown measure {ind.measure}"))
        if (ind.denominator is None) == (ind.aggregation in _AGGREGATIONS_NEEDING_DENOMINATOR):
            problems.append(CatalogueProblem(ind.id, f"aggregation {ind.aggregation} and denominator disagree"))
        if ind.aggregation == "dsr" and ind.min_age is None:
            problems.append(CatalogueProblem(ind.id, "dsr needs min_age"))
        if ind.unit == "percent" and ind.multiplier != 100:
            problems.append(CatalogueProblem(ind.id, "percent needs multiplier 100"))
        if ind.gradient and ind.aggregation == "count":
            problems.append(CatalogueProblem(ind.id, "a count has no inequality gradient (gradient=False)"))
        for when in ind.spc_rebase:
            try:
                date.fromisoformat(when)
            except ValueError:
                problems.append(CatalogueProblem(ind.id, f"spc_rebase {when!r} is not an ISO date"))
    return problems


_problems = catalogue_problems()
if _problems:
    raise ValueError("Invalid measure catalogue: " + "; ".join(f"{p.indicator}: {p.problem}" for p in _problems))

__all__ = [
    "Polarity", "Events", "Population", "Expected", "CaseloadExposure", "CaseloadPeople",
    "Indicator", "Measure", "MEASURES", "INDICATORS", "INDICATORS_BY_ID", "WORK_PROGRAMMES",
    "get_indicator", "measure_of", "field",
]
