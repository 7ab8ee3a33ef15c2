"""The extract catalogue: one declaration per table, the single source of truth.

The same declarations build the database tables (`tables.py`), the validation schemas
(`validate.py`) and `docs/data-dictionary.md`, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

ColumnKind = Literal["str", "int", "float", "date", "datetime", "bool"]
ExtractKind = Literal["reference", "patient", "aggregate"]

LOCALITIES = ("North", "South", "East", "West", "Central", "Solihull")
PLACES = ("Birmingham", "Solihull")
SEXES = ("F", "M", "U")
ETHNIC_GROUPS = ("Asian", "Black", "Mixed", "White", "Other", "Not stated")
NHS_ETHNIC_CATEGORIES = tuple("ABCDEFGHJKLMNPRSZ") + ("99",)
AGE_BAND_STARTS = tuple(range(0, 95, 5))  # 0-4 ... 85-89, 90+ (ESP 2013 with 90+ merged)
ADMISSION_METHODS = (
    "11", "12", "13",  # elective
    "21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28",  # emergency
    "31", "32",  # maternity
    "81", "82", "83", "99",  # other / not known
)
EMERGENCY_ADMISSION_METHODS = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")
ORDINARY_ADMISSION = 1  # NHS DD patient classification 1: ordinary admission (not a day case)
TRANSFER_ADMISSION_SOURCES = ("51", "52", "53")  # NHS DD admission source: from another provider's bed
BOOKING_INTERVALS = (
    "same_day", "1_day", "2_to_7_days", "8_to_14_days", "15_to_21_days", "22_to_28_days",
    "more_than_28_days", "unknown",
)

EARLIEST_EVENT = pd.Timestamp("2015-01-01")
EARLIEST_BIRTH = pd.Timestamp("1900-01-01")

PATIENT_ID = r"^[A-Za-z0-9_-]{4,64}$"
PRACTICE_CODE = r"^[A-Z][A-Z0-9]{5}$"
LSOA_CODE = r"^E01[0-9]{6}$"
ICD10 = r"^[A-Z][0-9]{2}[0-9A-Z]{0,2}$"
_ICD10_CODE = r"[A-Z][0-9]{2}[0-9A-Z]{0,2}"
_OPCS4_CODE = r"[A-Z][0-9]{2,3}"
SECONDARY_DIAGNOSES = rf"^{_ICD10_CODE}( {_ICD10_CODE}){{0,19}}$"  # HES: up to 20 diagnosis fields
PROCEDURE_CODES = rf"^{_OPCS4_CODE}( {_OPCS4_CODE}){{0,23}}$"  # HES: up to 24 procedure fields
FINANCIAL_YEAR = r"^20[0-9]{2}-[0-9]{2}$"
SNAPSHOT_NOTE = "Quarter-end snapshot (last day of June, September, December, March)."


@dataclass(frozen=True)
class Column:
    """One column of an extract, with everything validation and documentation need."""

    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    codes: tuple[str, ...] | None = None
    pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int = 200
    earliest: pd.Timestamp | None = None  # dates: default EARLIEST_EVENT; latest is always "today"
    month_start: bool = False  # dates: must be the first day of a month (no day-of-month given)


@dataclass(frozen=True)
class RowRule:
    """A check across columns of one row; `check` returns True for rows that pass."""

    description: str
    columns: tuple[str, ...]
    check: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Extract:
    """A documented extract format and the table it loads into.

    `key` identifies a row (duplicates are rejected). `replace` names the columns whose distinct
    values in a file define the slice of the table that the file replaces, so loading the same
    extract twice replaces rather than duplicates (default: the key itself, i.e. an upsert).
    """

    name: str
    title: str
    kind: ExtractKind
    description: str
    source: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = ()
    replace: tuple[str, ...] | None = None
    shipped: bool = False  # reference data shipped with the app (data_loaders/reference/)
    # The source is usually revised after first publication: its latest month is provisional.
    revised: bool = False

    @property
    def replace_columns(self) -> tuple[str, ...]:
        return self.replace or self.key

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _not_before(later: str, earlier: str) -> RowRule:
    return RowRule(
        f"{later} must not be before {earlier}",
        (later, earlier),
        lambda df: df[later].isna() | df[earlier].isna() | (df[later] >= df[earlier]),
    )


def _pid(desc: str = "Pseudonymised patient identifier (same pseudonymisation key in every extract).") -> Column:
    return Column("patient_id", "str", desc, pattern=PATIENT_ID, max_length=64)


def _practice() -> Column:
    return Column("practice_code", "str", "GP practice code (ODS).", pattern=PRACTICE_CODE, max_length=6)


def _month() -> Column:
    return Column("month", "date", "First day of the calendar month the figures cover.", month_start=True)


def _snapshot() -> Column:
    return Column("snapshot_date", "date", SNAPSHOT_NOTE)


def _bool(name: str, desc: str) -> Column:
    return Column(name, "bool", desc)


EXTRACTS: tuple[Extract, ...] = (
    # ---------------------------------------------------------------- reference
    Extract(
        name="practice",
        title="GP practices",
        kind="reference",
        description="Every BSol GP practice with its Primary Care Network / neighbourhood, locality and place.",
        source="ODS (epraccur) with the ICB's neighbourhood and locality mapping.",
        grain="One row per practice.",
        key=("practice_code",),
        columns=(
            _practice(),
            Column("practice_name", "str", "Practice name."),
            Column("pcn_code", "str", "Primary Care Network code.", pattern=r"^U[0-9]{5}$"),
            Column("neighbourhood_code", "str", "Neighbourhood code (aligned to the PCN).", pattern=r"^N[0-9]{2}$"),
            Column("neighbourhood_name", "str", "Neighbourhood name."),
            Column("locality", "str", "Locality.", codes=LOCALITIES),
            Column("place", "str", "Place (Place Committee area).", codes=PLACES),
        ),
        rules=(
            RowRule(
                "Solihull locality must be in Solihull place; the other five in Birmingham",
                ("locality", "place"),
                lambda df: (df["locality"] == "Solihull") == (df["place"] == "Solihull"),
            ),
        ),
    ),
    Extract(
        name="int_team",
        title="Integrated Neighbourhood Teams",
        kind="reference",
        description="Integrated Neighbourhood Teams and the date each went live.",
        source="Collaborative INT programme register.",
        grain="One row per INT.",
        key=("int_team_code",),
        columns=(
            Column("int_team_code", "str", "INT code.", pattern=r"^INT[0-9]{2}$"),
            Column("int_team_name", "str", "INT name as used in reports (e.g. 'East INT')."),
            Column("locality", "str", "Locality the team serves.", codes=LOCALITIES),
            Column("neighbourhood_code", "str", "Neighbourhood served; empty for a locality-wide team.",
                   required=False, pattern=r"^N[0-9]{2}$"),
            Column("go_live_date", "date", "Date the team took its first caseload patient."),
        ),
    ),
    Extract(
        name="lsoa",
        title="LSOA lookup",
        kind="reference",
        description="Lower-layer Super Output Areas (2011) with IMD 2019 deprivation and locality.",
        source="MHCLG English Indices of Deprivation 2019; ICB locality mapping.",
        grain="One row per LSOA.",
        key=("lsoa_code",),
        columns=(
            Column("lsoa_code", "str", "LSOA 2011 code.", pattern=LSOA_CODE, max_length=9),
            Column("local_authority", "str", "Local authority.", codes=PLACES),
            Column("locality", "str", "Locality the LSOA lies in.", codes=LOCALITIES),
            Column("imd_decile", "int", "IMD 2019 national decile (1 = most deprived 10%).", min_value=1, max_value=10),
            Column("imd_quintile", "int", "IMD 2019 national quintile (1 = most deprived 20%).", min_value=1, max_value=5),
        ),
        rules=(
            RowRule(
                "imd_quintile must equal ceil(imd_decile / 2)",
                ("imd_decile", "imd_quintile"),
                lambda df: df["imd_quintile"].isna() | df["imd_decile"].isna()
                | ((df["imd_decile"] + 1) // 2 == df["imd_quintile"]),
            ),
        ),
    ),
    Extract(
        name="population",
        title="Registered population denominators",
        kind="aggregate",
        description=(
            "Registered patients by practice, sex, five-year age band, IMD quintile of residence and "
            "ethnic group, at the mid-point (1 October) of each financial year."
        ),
        source="NHS Digital 'Patients registered at a GP practice' linked to the patient spine.",
        grain="One row per financial year x practice x sex x age band x IMD quintile x ethnic group.",
        key=("financial_year", "practice_code", "sex", "age_band_start", "imd_quintile", "ethnic_group"),
        replace=("financial_year",),
        columns=(
            Column("financial_year", "str", "Financial year, e.g. 2024-25.", pattern=FINANCIAL_YEAR, max_length=7),
            _practice(),
            Column("sex", "str", "Sex.", codes=("F", "M")),
            Column("age_band_start", "int", "Lower bound of the 5-year age band (90 = 90+).",
                   codes=None, min_value=0, max_value=90),
            Column("imd_quintile", "int", "IMD 2019 quintile of residence (0 = LSOA unknown).", min_value=0, max_value=5),
            Column("ethnic_group", "str", "ONS 2021 high-level ethnic group.", codes=ETHNIC_GROUPS),
            Column("persons", "int", "Registered patients.", min_value=0),
        ),
        rules=(
            RowRule("age_band_start must be a multiple of 5", ("age_band_start",),
                    lambda df: df["age_band_start"].isna() | (df["age_band_start"] % 5 == 0)),
        ),
    ),
    Extract(
        name="modelled_prevalence",
        title="Modelled (expected) prevalence",
        kind="aggregate",
        description="Expected number of patients with a condition on each practice list, from prevalence models.",
        source="OHID/NHS England modelled prevalence estimates (hypertension: CVDPREVENT/NCVIN; diabetes: PHE diabetes prevalence model).",
        grain="One row per financial year x practice x condition.",
        key=("financial_year", "practice_code", "condition"),
        columns=(
            Column("financial_year", "str", "Financial year, e.g. 2024-25.", pattern=FINANCIAL_YEAR, max_length=7),
            _practice(),
            Column("condition", "str", "Condition.", codes=("hypertension", "diabetes")),
            Column("expected_patients", "float", "Modelled expected number of patients.", min_value=0),
        ),
    ),
    Extract(
        name="standard_population",
        title="European Standard Population 2013",
        kind="reference",
        shipped=True,
        description="ESP 2013 weights by five-year age band, with 90+ combined, used for direct standardisation.",
        source="Eurostat, Revision of the European Standard Population (2013), as used by OHID.",
        grain="One row per age band.",
        key=("age_band_start",),
        columns=(
            Column("age_band_start", "int", "Lower bound of the 5-year age band (90 = 90+).", min_value=0, max_value=90),
            Column("persons", "int", "Standard population weight.", min_value=0),
        ),
    ),
    Extract(
        name="ethnicity_code",
        title="NHS ethnic category codes",
        kind="reference",
        shipped=True,
        description="NHS Data Dictionary ethnic category codes mapped to ONS 2021 high-level groups.",
        source="NHS Data Dictionary ETHNIC CATEGORY (2001 census classification) mapped to ONS 2021 groups.",
        grain="One row per code.",
        key=("code",),
        columns=(
            Column("code", "str", "NHS ethnic category code.", codes=NHS_ETHNIC_CATEGORIES, max_length=2),
            Column("description", "str", "Code description."),
            Column("ethnic_group", "str", "ONS 2021 high-level group.", codes=ETHNIC_GROUPS),
        ),
    ),
    Extract(
        name="code_list",
        title="Clinical code lists",
        kind="reference",
        shipped=True,
        description="Versioned code lists used by indicator definitions; a code matches if it starts with `code_prefix`.",
        source="Named per list in the `source` column.",
        grain="One row per list x code prefix.",
        key=("list_name", "code_prefix"),
        columns=(
            Column("list_name", "str", "Code list name (e.g. acsc_chronic).", pattern=r"^[a-z0-9_]+$"),
            Column("code_prefix", "str", "ICD-10 (no dot) or BNF code prefix.", pattern=r"^[A-Z0-9]{1,15}$"),
            Column("description", "str", "What the code means."),
            Column("source", "str", "Where the list comes from."),
            Column("version", "str", "Version or date of the list."),
        ),
    ),
    # ---------------------------------------------------------------- patient level
    Extract(
        name="patient",
        title="Patient spine",
        kind="patient",
        description="Every registered patient: practice, area of residence and characteristics used for breakdowns.",
        source="GP registration data (pseudonymised), linked by the ICB data service.",
        grain="One row per patient.",
        key=("patient_id",),
        columns=(
            _pid(),
            _practice(),
            Column("lsoa_code", "str", "LSOA of residence; empty when unknown.", required=False,
                   pattern=LSOA_CODE, max_length=9),
            Column("sex", "str", "Sex: F, M or U (unknown).", codes=SEXES),
            Column("birth_month", "date", "First day of the month of birth (no day, for disclosure control).",
                   earliest=EARLIEST_BIRTH, month_start=True),
            Column("ethnic_category", "str", "NHS ethnic category code; empty when not recorded.",
                   required=False, codes=NHS_ETHNIC_CATEGORIES, max_length=2),
            Column("care_home", "str", "Lives in a care home: residential or nursing; empty otherwise.",
                   required=False, codes=("residential", "nursing")),
            Column("date_of_death", "date", "Date of death, empty if alive.", required=False),
        ),
        rules=(_not_before("date_of_death", "birth_month"),),
    ),
    Extract(
        name="int_caseload",
        title="INT caseload",
        kind="patient",
        description="Periods on the caseload of an Integrated Neighbourhood Team.",
        source="INT caseload register (local).",
        grain="One row per patient x team x caseload start.",
        key=("patient_id", "int_team_code", "start_date"),
        columns=(
            _pid(),
            Column("int_team_code", "str", "INT code.", pattern=r"^INT[0-9]{2}$"),
            Column("start_date", "date", "Date the patient joined the caseload (INT involvement began)."),
            Column("end_date", "date", "Date the patient left the caseload; empty if still on it.", required=False),
        ),
        rules=(_not_before("end_date", "start_date"),),
    ),
    Extract(
        name="inpatient_spell",
        title="Inpatient spells",
        kind="patient",
        description="Admitted patient care spells at acute providers, with discharge-ready date and pathway.",
        source="SUS+ Admitted Patient Care (APC) spells; discharge-ready date from the acute discharge sitrep feed.",
        grain="One row per hospital provider spell.",
        key=("spell_id",),
        columns=(
            Column("spell_id", "str", "Spell identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("admission_date", "date", "Admission date."),
            Column("discharge_date", "date", "Discharge date; empty if still in hospital.", required=False),
            Column("admission_method", "str", "NHS Data Dictionary admission method (2x = emergency).",
                   codes=ADMISSION_METHODS, max_length=2),
            Column("primary_diagnosis", "str", "Primary diagnosis, ICD-10 without the dot (first episode).",
                   pattern=ICD10, max_length=5),
            Column("cause_code", "str", "External cause ICD-10 code (V01-Y98), if any.", required=False,
                   pattern=ICD10, max_length=5),
            Column("discharge_ready_date", "date", "Date the patient was clinically ready for discharge.",
                   required=False),
            Column("discharge_pathway", "int", "Discharge pathway 0-3 (1 = home with support, 2 = intermediate care bed).",
                   required=False, min_value=0, max_value=3),
            _bool("admitted_from_care_home", "Admitted from a care home (usual residence or admission source)."),
            Column("patient_classification", "int",
                   "NHS Data Dictionary patient classification: 1 ordinary admission, 2 day case, 3 regular day "
                   "attender, 4 regular night attender, 5 mothers and babies using only delivery facilities; "
                   "empty when not recorded.", required=False, min_value=1, max_value=5),
            Column("admission_source", "str",
                   "NHS Data Dictionary admission source, two digits (e.g. 19 usual place of residence, 51-53 "
                   "transfer from another hospital provider); empty when not recorded.",
                   required=False, pattern=r"^[0-9]{2}$", max_length=2),
            Column("secondary_diagnoses", "str",
                   "Secondary diagnoses of the first episode, ICD-10 codes without the dot separated by single "
                   "spaces (at most 20); empty when none are recorded.",
                   required=False, pattern=SECONDARY_DIAGNOSES, max_length=119),
            Column("procedure_codes", "str",
                   "Procedures of the first episode, OPCS-4 codes without the dot separated by single spaces, "
                   "primary procedure first (at most 24); empty when none were done or recorded.",
                   required=False, pattern=PROCEDURE_CODES, max_length=119),
        ),
        rules=(
            _not_before("discharge_date", "admission_date"),
            _not_before("discharge_ready_date", "admission_date"),
            _not_before("discharge_date", "discharge_ready_date"),
        ),
    ),
    Extract(
        name="ae_attendance",
        title="A&E and UTC attendances",
        kind="patient",
        description="Emergency care attendances at all department types (type 03 = UTC/minor injury).",
        source="Emergency Care Data Set (ECDS).",
        grain="One row per attendance.",
        key=("attendance_id",),
        columns=(
            Column("attendance_id", "str", "Attendance identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("arrival_datetime", "datetime", "Arrival date and time."),
            Column("department_type", "str", "ECDS department type: 01 major A&E, 02 single specialty, 03 UTC/MIU, 04 walk-in.",
                   codes=("01", "02", "03", "04"), max_length=2),
            _bool("wound_care", "Attendance for wound care (ECDS diagnosis in the wound-care SNOMED list)."),
        ),
    ),
    Extract(
        name="community_contact",
        title="Outpatient and community contacts",
        kind="patient",
        description="Outpatient attendances and community health service care contacts.",
        source="SUS+ Outpatients and the Community Services Data Set (CSDS).",
        grain="One row per contact.",
        key=("contact_id",),
        columns=(
            Column("contact_id", "str", "Contact identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("contact_date", "date", "Contact date."),
            Column("setting", "str", "Outpatient or community.", codes=("outpatient", "community")),
            Column("service", "str", "Service or specialty."),
        ),
    ),
    Extract(
        name="social_care_package",
        title="Social care packages",
        kind="patient",
        description="Adult social care packages of care (long-term and short-term).",
        source="Local authority adult social care client-level data (CLD).",
        grain="One row per package.",
        key=("package_id",),
        columns=(
            Column("package_id", "str", "Package identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("start_date", "date", "Package start date."),
            Column("end_date", "date", "Package end date; empty if open.", required=False),
            Column("package_type", "str", "Type of package.",
                   codes=("home_care", "day_care", "direct_payment", "reablement", "other")),
            Column("local_authority", "str", "Funding local authority.", codes=PLACES),
        ),
        rules=(_not_before("end_date", "start_date"),),
    ),
    Extract(
        name="care_home_admission",
        title="Admissions to residential and nursing care",
        kind="patient",
        description="Local-authority-supported admissions to residential and nursing care homes.",
        source="Local authority adult social care client-level data (CLD) / SALT LTS001b.",
        grain="One row per admission.",
        key=("admission_id",),
        columns=(
            Column("admission_id", "str", "Admission identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("admission_date", "date", "Date of admission to the care home."),
            Column("setting", "str", "Residential or nursing.", codes=("residential", "nursing")),
            _bool("permanent", "Permanent (long-term) admission rather than respite/short stay."),
            Column("local_authority", "str", "Supporting local authority.", codes=PLACES),
        ),
    ),
    Extract(
        name="ucr_referral",
        title="Urgent Community Response referrals",
        revised=True,
        kind="patient",
        description="Referrals to the Urgent Community Response service with first-contact time and outcome.",
        source="Community Services Data Set (CSDS) UCR referrals; BCHC UCR system.",
        grain="One row per referral.",
        key=("referral_id",),
        columns=(
            Column("referral_id", "str", "Referral identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("referral_datetime", "datetime", "Referral received date and time."),
            Column("first_contact_datetime", "datetime", "First face-to-face contact date and time.", required=False),
            _bool("two_hour_eligible", "Referral within the 2-hour standard (clinically urgent, 8am-8pm, 7 days)."),
            Column("outcome", "str", "Outcome of the UCR episode.",
                   codes=("managed_at_home", "conveyed", "admitted", "other", "unknown")),
        ),
        rules=(_not_before("first_contact_datetime", "referral_datetime"),),
    ),
    Extract(
        name="reablement_discharge",
        title="Discharges into reablement / rehabilitation",
        kind="patient",
        description="People discharged from hospital into reablement or rehabilitation, with where they were 91 days later.",
        source="Local authority and community rehabilitation records (ASCOF 2B(1) collection).",
        grain="One row per patient x hospital discharge date.",
        key=("patient_id", "hospital_discharge_date"),
        columns=(
            _pid(),
            Column("hospital_discharge_date", "date", "Date of discharge from hospital."),
            Column("service", "str", "Reablement or rehabilitation.", codes=("reablement", "rehabilitation")),
            Column("status_91_days", "str", "Where the person was 91 days after discharge.",
                   codes=("at_home", "hospital", "care_home", "died", "unknown")),
        ),
    ),
    Extract(
        name="death",
        title="Deaths",
        kind="patient",
        description="Registered deaths of BSol patients with place of death and end-of-life care markers.",
        source="ONS death registrations (Primary Care Mortality Database) linked to GP records.",
        grain="One row per death.",
        key=("patient_id",),
        columns=(
            _pid(),
            Column("date_of_death", "date", "Date of death."),
            Column("place_of_death", "str", "Place of death (ONS place-of-death type).",
                   codes=("hospital", "home", "care_home", "hospice", "religious_establishment", "other")),
            Column("underlying_cause", "str", "Underlying cause of death, ICD-10.", pattern=ICD10, max_length=5),
            _bool("on_palliative_register", "On the GP palliative care register before death."),
            _bool("eol_care_plan", "Had a recorded end-of-life care plan (e.g. ReSPECT/PPC) before death."),
        ),
    ),
    Extract(
        name="smoking_status",
        title="Smoking status (GP)",
        kind="patient",
        description="Latest recorded smoking status of registered patients aged 15+ and stop-smoking referral.",
        source="GP clinical systems (SNOMED CT smoking codes), quarterly extract.",
        grain="One row per snapshot x patient aged 15+.",
        key=("snapshot_date", "patient_id"),
        replace=("snapshot_date",),
        columns=(
            _snapshot(),
            _pid(),
            Column("status", "str", "Latest smoking status.", codes=("current", "ex", "never", "not_recorded")),
            Column("status_date", "date", "Date the status was recorded.", required=False),
            Column("referral_date", "date", "Latest referral to NHS Stop Smoking Services.", required=False),
            Column("ltc_register", "bool",
                   "On any register of the QOF SMOK002 population (CHD, PAD, stroke/TIA, hypertension, diabetes, "
                   "COPD, CKD, asthma, schizophrenia, bipolar disorder or other psychoses) at the snapshot; "
                   "empty counts as not on one.", required=False),
        ),
        rules=(_not_before("snapshot_date", "status_date"),),
    ),
    Extract(
        name="hypertension",
        title="Hypertension register (GP)",
        kind="patient",
        description="Patients on the QOF hypertension register with latest blood pressure and lipid results.",
        source="GP clinical systems (QOF HYP business rules), quarterly extract.",
        grain="One row per snapshot x patient on the register.",
        key=("snapshot_date", "patient_id"),
        replace=("snapshot_date",),
        columns=(
            _snapshot(),
            _pid(),
            Column("last_systolic", "int", "Latest systolic BP in the 12 months to the snapshot (mmHg).",
                   required=False, min_value=50, max_value=300),
            Column("last_diastolic", "int", "Latest diastolic BP in the 12 months to the snapshot (mmHg).",
                   required=False, min_value=20, max_value=200),
            Column("ldl", "float", "Latest LDL cholesterol in the 12 months (mmol/L).", required=False,
                   min_value=0, max_value=20),
            Column("non_hdl", "float", "Latest non-HDL cholesterol in the 12 months (mmol/L).", required=False,
                   min_value=0, max_value=25),
            Column("cvd", "bool", "Also on a cardiovascular disease register (CHD, stroke/TIA or PAD): the "
                   "CVDPREVENT secondary-prevention lipid population; empty counts as no.", required=False),
        ),
    ),
    Extract(
        name="diabetes",
        title="Diabetes register (GP)",
        kind="patient",
        description="Patients aged 17+ on the QOF diabetes register with latest HbA1c and blood pressure.",
        source="GP clinical systems (QOF DM business rules / National Diabetes Audit), quarterly extract.",
        grain="One row per snapshot x patient on the register.",
        key=("snapshot_date", "patient_id"),
        replace=("snapshot_date",),
        columns=(
            _snapshot(),
            _pid(),
            Column("diabetes_type", "str", "Type 1, type 2 or other.", codes=("type1", "type2", "other")),
            Column("last_hba1c", "float", "Latest HbA1c in the 12 months (mmol/mol).", required=False,
                   min_value=10, max_value=250),
            Column("last_systolic", "int", "Latest systolic BP in the 12 months (mmHg).", required=False,
                   min_value=50, max_value=300),
            Column("last_diastolic", "int", "Latest diastolic BP in the 12 months (mmHg).", required=False,
                   min_value=20, max_value=200),
        ),
    ),
    Extract(
        name="gp_appointment",
        title="GP appointments (INT caseload patients)",
        kind="patient",
        description="Patient-level general practice appointments for people who have been on an INT caseload.",
        source="GP appointment systems via the ICB data service (patient level; GPAD itself is aggregate).",
        grain="One row per appointment.",
        key=("appointment_id",),
        columns=(
            Column("appointment_id", "str", "Appointment identifier.", pattern=r"^[A-Za-z0-9_-]{1,40}$"),
            _pid(),
            Column("appointment_date", "date", "Appointment date."),
            Column("status", "str", "Attended or did not attend.", codes=("attended", "dna", "unknown")),
        ),
    ),
    # ---------------------------------------------------------------- practice aggregates
    Extract(
        name="gp_appointments",
        title="Appointments in General Practice (practice level)",
        revised=True,
        kind="aggregate",
        description="Monthly count of general practice appointments by time from booking to appointment and status.",
        source="NHS England 'Appointments in General Practice' (GPAD) practice-level CSV.",
        grain="One row per month x practice x booking interval x status.",
        key=("month", "practice_code", "booking_interval", "status"),
        replace=("month",),
        columns=(
            _month(),
            _practice(),
            Column("booking_interval", "str", "Time between booking and appointment.", codes=BOOKING_INTERVALS),
            Column("status", "str", "Appointment status.", codes=("attended", "dna", "unknown")),
            Column("appointments", "int", "Number of appointments.", min_value=0),
        ),
    ),
    Extract(
        name="wound_prescribing",
        title="Wound-care prescribing (practice level)",
        kind="aggregate",
        description="Monthly items and cost of wound-care products prescribed by each practice.",
        source="NHSBSA English Prescribing Data (EPD) / ePACT2, BNF chapter 20 (dressings) and 21 (appliances).",
        grain="One row per month x practice x BNF presentation.",
        key=("month", "practice_code", "bnf_code"),
        replace=("month",),
        columns=(
            _month(),
            _practice(),
            Column("bnf_code", "str", "BNF presentation code.", pattern=r"^[0-9A-Z]{4,15}$"),
            Column("items", "int", "Prescription items.", min_value=0),
            Column("actual_cost", "float", "Actual cost (GBP).", min_value=0),
        ),
    ),
    Extract(
        name="gp_workforce",
        title="General practice workforce (practice level)",
        kind="aggregate",
        description="Practice workforce by staff group, with joiners and leavers in the quarter.",
        source="NHS Digital 'General Practice Workforce' (quarterly practice-level CSV).",
        grain="One row per quarter-end month x practice x staff group.",
        key=("month", "practice_code", "staff_group"),
        replace=("month",),
        columns=(
            _month(),
            _practice(),
            Column("staff_group", "str", "Staff group.", codes=("gp", "nurse", "dpc", "admin")),
            Column("fte", "float", "Full-time equivalent (37.5 hours).", min_value=0, max_value=500),
            Column("headcount", "int", "Headcount.", min_value=0),
            Column("joiners", "int", "Joiners in the quarter (headcount).", min_value=0),
            Column("leavers", "int", "Leavers in the quarter (headcount).", min_value=0),
        ),
    ),
)

# ----------------------------------------------------------------------------- relationships
LinkAction = Literal["reject", "count"]


@dataclass(frozen=True)
class Link:
    """A column of one extract that names a row of another extract (checked on every load).

    `reject`: a value with no matching row rejects the load (file, row, column, reason), so a stale
    reference is fixed at the source. `count`: the row is kept and counted on the Data page's
    data-quality table (`finding` is the label). `why` is the decision's reason (docs/design.md).
    The matching rows may already be in the database or arrive in the same load.
    """

    extract: str
    column: str
    target: str
    action: LinkAction
    finding: str
    why: str
    target_column: str | None = None  # default: the same name as `column`

    @property
    def to_column(self) -> str:
        return self.target_column or self.column


@dataclass(frozen=True)
class Agreement:
    """A column that states a fact the target extract also holds, matched on `on` (counted if they differ)."""

    extract: str
    column: str
    target: str
    on: str
    finding: str
    why: str


_SPINE_WHY = (
    "Linked NHS extracts routinely hold a few people the GP spine does not (registered outside BSol, "
    "deregistered, or a pseudonymisation mismatch); rejecting a month of spells for them would block "
    "every load. The rows are kept, counted here, and fall outside every measure, which attributes "
    "events through the spine (practice, age, sex, area)."
)
_PRACTICE_WHY = (
    "The practice list is the ICB's own reference: a code it lacks means the list is out of date "
    "(a new or merged practice), so the load is rejected until practice.csv is updated; otherwise the "
    "rows would silently fall out of every locality and neighbourhood figure."
)

LINKS: tuple[Link, ...] = (
    *(Link(e.name, "patient_id", "patient", "count", "rows for a patient not in the patient spine", _SPINE_WHY)
      for e in EXTRACTS if e.kind == "patient" and e.name != "patient"),
    *(Link(e.name, "practice_code", "practice", "reject", "practice not in the practice list", _PRACTICE_WHY)
      for e in EXTRACTS if e.name != "practice" and "practice_code" in e.column_names),
    Link("int_caseload", "int_team_code", "int_team", "reject", "INT team not in the INT register",
         "The INT register is the programme's own list: an unknown team code means the register is out of "
         "date, and the caseload could not be given a go-live date or locality, so the load is rejected."),
    Link("patient", "lsoa_code", "lsoa", "count", "patients whose LSOA is not in the LSOA lookup",
         "BSol practices register people who live outside BSol, whose LSOAs the lookup does not hold; they "
         "are kept (they count in BSol totals) and counted with the unknown-LSOA patients, outside the "
         "IMD breakdown."),
)

AGREEMENTS: tuple[Agreement, ...] = (
    Agreement("death", "date_of_death", "patient", "patient_id",
              "deaths whose date differs from the patient spine's (or the spine has none)",
              "ONS death registrations and the GP record disagree now and then (late registration, "
              "a GP record not yet updated). The death extract is kept (its date is the registered one) "
              "and the disagreements are counted, so they can be taken back to the GP data service."),
)

REQUIRED_EXTRACTS: tuple[str, ...] = ("practice", "patient", "population")
"""Extracts without which results cannot be computed: a load that leaves any of them empty is
rejected, naming what is missing (shipped reference data is installed by the loader itself)."""


EXTRACTS_BY_NAME: dict[str, Extract] = {e.name: e for e in EXTRACTS}


def get_extract(name: str) -> Extract:
    try:
        return EXTRACTS_BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(EXTRACTS_BY_NAME))
        raise KeyError(f"Unknown extract {name!r}; known extracts: {known}") from None


def _validate_catalogue() -> None:
    """Fail at import if the catalogue contradicts itself (cheap, and catches typos early)."""
    seen: set[str] = set()
    for ex in EXTRACTS:
        if ex.name in seen:
            raise ValueError(f"duplicate extract {ex.name}")
        seen.add(ex.name)
        names = ex.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"{ex.name}: duplicate column names")
        for col in (*ex.key, *ex.replace_columns):
            if col not in names:
                raise ValueError(f"{ex.name}: key/replace column {col} is not a column")
        for rule in ex.rules:
            for col in rule.columns:
                if col not in names:
                    raise ValueError(f"{ex.name}: rule column {col} is not a column")
    links: tuple[Link | Agreement, ...] = (*LINKS, *AGREEMENTS)
    for link in links:
        source, target = EXTRACTS_BY_NAME[link.extract], EXTRACTS_BY_NAME[link.target]
        to = link.to_column if isinstance(link, Link) else link.on
        if link.column not in source.column_names or to not in target.column_names:
            raise ValueError(f"{link.extract}.{link.column} -> {link.target}: unknown column")
    for name in REQUIRED_EXTRACTS:
        if name not in EXTRACTS_BY_NAME:
            raise ValueError(f"required extract {name} is not in the catalogue")


_validate_catalogue()
