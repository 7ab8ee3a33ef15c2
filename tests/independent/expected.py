"""Independent expected values, written from docs/measures.md, docs/design.md and the national definitions.

Written without reading metrics/compute.py or metrics/catalogue.py. Financial year 2024-25, BSol,
no breakdown. Every event is attributed through the patient spine, so rows for people not in it
(X098, X099) count nowhere. Rates follow docs/design.md "Periods": count / (population x days /
365.25) x multiplier, days = 365 for 2024-25.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from tests.independent.extracts import FILES

FY_START, FY_END = pd.Timestamp("2024-04-01"), pd.Timestamp("2025-03-31")
FY_DAYS = (FY_END - FY_START).days + 1  # 365


@dataclass(frozen=True)
class Expected:
    """What the stored row should hold; None where the docs give no numerator/denominator (medians, counts)."""

    numerator: float | None
    denominator: float | None
    value: float


def frame(name: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(FILES[f"{name}.csv"]), dtype=str, keep_default_na=False)


def _in_fy(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates.replace("", None))
    return (d >= FY_START) & (d <= FY_END)


def _spine() -> pd.DataFrame:
    p = frame("patient")
    p["birth"] = pd.to_datetime(p["birth_month"])
    return p.set_index("patient_id")


def _age(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years at `on` (birth month's first day taken as the birthday)."""
    years = on.dt.year - birth.dt.year
    before = (on.dt.month < birth.dt.month) | ((on.dt.month == birth.dt.month) & (on.dt.day < birth.dt.day))
    return years - before.astype(int)


def _share(num: int, den: int) -> Expected:
    return Expected(num, den, 100.0 * num / den)


def _population(min_age: int = 0) -> int:
    pop = frame("population")
    pop = pop[(pop["financial_year"] == "2024-25") & (pop["age_band_start"].astype(int) >= min_age)]
    return int(pop["persons"].astype(int).sum())


def _rate(count: int, population: int, per: float) -> Expected:
    """The stored denominator is the registered population; the value is annualised over the year's days."""
    person_years = population * FY_DAYS / 365.25
    return Expected(count, population, count / person_years * per)


def expected() -> dict[str, Expected]:
    spine = _spine()
    out: dict[str, Expected] = {}

    # m14: deaths of registered patients in the year, by ONS place of death.
    d = frame("death")
    d = d[d["patient_id"].isin(spine.index) & _in_fy(d["date_of_death"])]
    usual = d["place_of_death"].isin(["home", "care_home", "religious_establishment"])  # OHID DiUPR
    out["m14_deaths_usual_residence"] = _share(int(usual.sum()), len(d))
    out["m14_deaths_outside_hospital"] = _share(int((d["place_of_death"] != "hospital").sum()), len(d))

    # m05: UCR referrals received in the year; 2-hour standard = first contact at most 120 minutes after referral.
    u = frame("ucr_referral")
    u = u[u["patient_id"].isin(spine.index) & _in_fy(u["referral_datetime"].str.slice(0, 10))]
    out["m05_ucr_referrals"] = Expected(len(u), None, float(len(u)))
    eligible = u[u["two_hour_eligible"] == "yes"]
    wait = (pd.to_datetime(eligible["first_contact_datetime"].replace("", None))
            - pd.to_datetime(eligible["referral_datetime"]))
    out["m05_ucr_2h"] = _share(int((wait <= pd.Timedelta(hours=2)).sum()), len(eligible))
    known = u[u["outcome"] != "unknown"]
    out["m05_ucr_managed_at_home"] = _share(int((known["outcome"] == "managed_at_home").sum()), len(known))

    # m06: discharges in the year (by discharge date) with a discharge ready date, adults (18+ at
    # discharge) as in the NHS England discharge sitrep and BCF 2025-26; Pathway 1 for the P1 split.
    s = frame("inpatient_spell")
    s = s[s["patient_id"].isin(spine.index)]
    ready = s[(s["discharge_ready_date"] != "") & _in_fy(s["discharge_date"])].copy()
    ready["age"] = _age(spine.loc[ready["patient_id"], "birth"].reset_index(drop=True),
                        pd.to_datetime(ready["discharge_date"]).reset_index(drop=True)).to_numpy()
    ready["delay"] = (pd.to_datetime(ready["discharge_date"]) - pd.to_datetime(ready["discharge_ready_date"])).dt.days
    adults = ready[ready["age"] >= 18]
    out["m06_all_mean_delay"] = Expected(float(adults["delay"].sum()), len(adults), float(adults["delay"].mean()))
    out["m06_all_p90_delay"] = Expected(None, len(adults), float(adults["delay"].quantile(0.9)))  # linear
    delay = adults.loc[adults["discharge_pathway"] == "1", "delay"]
    out["m06_p1_mean_delay"] = Expected(float(delay.sum()), len(delay), float(delay.mean()))
    out["m06_p1_median_delay"] = Expected(None, None, float(delay.median()))  # (0, 3, 7, 10): halfway 3..7
    out["m06_p1_same_day"] = _share(int((delay == 0).sum()), len(delay))

    # m18/m19: GPAD appointments in the year's months; m19 excludes the unknown booking interval.
    g = frame("gp_appointments")
    g = g[_in_fy(g["month"])]
    g["n"] = g["appointments"].astype(int)
    known_interval = g[g["booking_interval"] != "unknown"]
    out["m18_gp_appointments_rate"] = _rate(int(g["n"].sum()), _population(), 1_000)
    same_day = known_interval.loc[known_interval["booking_interval"] == "same_day", "n"].sum()
    within = known_interval.loc[known_interval["booking_interval"].isin(
        ["same_day", "1_day", "2_to_7_days", "8_to_14_days"]), "n"].sum()
    out["m19_gp_same_day"] = _share(int(same_day), int(known_interval["n"].sum()))
    out["m19_gp_within_14_days"] = _share(int(within), int(known_interval["n"].sum()))

    # m04 (ASCOF 2C part 2): people aged 65+ permanently admitted in the year; a later move between
    # residential and nursing care is not a new admission, so each person counts once.
    c = frame("care_home_admission")
    c = c[c["patient_id"].isin(spine.index) & (c["permanent"] == "yes")]
    c["date"] = pd.to_datetime(c["admission_date"])
    c = c.sort_values("date")
    first = c.groupby("patient_id").head(1)  # a person's first permanent admission; later ones are moves
    first = first[_in_fy(first["admission_date"])]
    ages = _age(spine.loc[first["patient_id"], "birth"].reset_index(drop=True), first["date"].reset_index(drop=True))
    out["m04_care_home_admissions_65"] = _rate(int((ages >= 65).sum()), _population(65), 100_000)

    # m01/m02: a person's time on any INT caseload is the union of their episodes (start to end day
    # inclusive; an open episode runs to the period end); admissions count once per person and day.
    k = frame("int_caseload")
    k["start"] = pd.to_datetime(k["start_date"])
    k["end"] = pd.to_datetime(k["end_date"].replace("", None)).fillna(FY_END)
    k = k[(k["start"] <= FY_END) & (k["end"] >= FY_START)]
    out["m01_caseload"] = Expected(k["patient_id"].nunique(), None, float(k["patient_id"].nunique()))
    days: dict[str, set[pd.Timestamp]] = {}
    for row in k.itertuples():
        span = pd.date_range(max(row.start, FY_START), min(row.end, FY_END))
        days.setdefault(row.patient_id, set()).update(span)
    emergency = s[s["admission_method"].str.startswith("2") & _in_fy(s["admission_date"])]
    on = [pd.Timestamp(r.admission_date) in days.get(r.patient_id, set()) for r in emergency.itertuples()]
    person_years = sum(len(v) for v in days.values()) / 365.25
    out["m02_caseload_emergency_admissions"] = Expected(sum(on), person_years, sum(on) / person_years)
    # m15: deaths identified before death (palliative register or a care plan) / all deaths of registered patients.
    out["m15_eol_care_plan"] = _share(int(((d["on_palliative_register"] == "yes") | (d["eol_care_plan"] == "yes")).sum()),
                                      len(d))

    # m21: emergency admissions aged 0-19 (age at admission) with J45-J46, G40-G41 or E10; population aged 0-19.
    cyp = emergency.copy()
    cyp["age"] = _age(spine.loc[cyp["patient_id"], "birth"].reset_index(drop=True),
                      pd.to_datetime(cyp["admission_date"]).reset_index(drop=True)).to_numpy()
    codes = ("J45", "J46", "G40", "G41", "E10")
    hit = cyp["primary_diagnosis"].str.startswith(codes) & (cyp["age"] <= 19)
    pop = frame("population")
    young = int(pop.loc[pop["age_band_start"].astype(int) <= 15, "persons"].astype(int).sum())
    out["m21_cyp_ltc_admissions"] = _rate(int(hit.sum()), young, 100_000)

    # m17: items whose BNF code is in the shipped wound_bnf list (chapter 20 dressings), per 1,000.
    w = frame("wound_prescribing")
    w = w[_in_fy(w["month"]) & w["bnf_code"].str.startswith("20")]
    out["m17_wound_prescribing"] = _rate(int(w["items"].astype(int).sum()), _population(), 1_000)

    # Registers: the year takes its latest quarter-end snapshot; age at the snapshot date.
    snap = pd.Timestamp("2025-03-31")

    def register(name: str, min_age: int = 0) -> pd.DataFrame:
        r = frame(name)
        r = r[pd.to_datetime(r["snapshot_date"]) == snap].copy()
        r["age"] = _age(spine.loc[r["patient_id"], "birth"].reset_index(drop=True),
                        pd.Series(snap, index=range(len(r)))).to_numpy()
        for col in ("last_systolic", "last_diastolic", "last_hba1c"):
            if col in r:
                r[col] = pd.to_numeric(r[col].replace("", None))
        return r[r["age"] >= min_age]

    # m12 (QOF HYP008/HYP009): <=140/90 aged 79 or under, <=150/90 aged 80+; no reading = not at target.
    h = register("hypertension")
    limit = h["age"].map(lambda a: 150 if a >= 80 else 140)
    at_target = (h["last_systolic"] <= limit) & (h["last_diastolic"] <= 90)
    out["m12_hypertension_bp_target"] = _share(int(at_target.sum()), len(h))

    # m13: aged 17+ on the diabetes register (numerator and denominator alike).
    dm = register("diabetes", 17)
    out["m13_diabetes_hba1c"] = _share(int((dm["last_hba1c"] <= 58).sum()), len(dm))
    bp = (dm["last_systolic"] <= 140) & (dm["last_diastolic"] <= 80)
    out["m13_diabetes_bp"] = _share(int(bp.sum()), len(dm))
    # m08 (ASCOF 2B(1)): the year's value is the October-December discharge cohort, aged 65+ at
    # discharge; died counts as not at home; status unknown is left out.
    r = frame("reablement_discharge")
    r["date"] = pd.to_datetime(r["hospital_discharge_date"])
    r = r[(r["date"] >= "2024-10-01") & (r["date"] <= "2024-12-31") & (r["status_91_days"] != "unknown")]
    r_age = _age(spine.loc[r["patient_id"], "birth"].reset_index(drop=True), r["date"].reset_index(drop=True))
    r = r[(r_age >= 65).to_numpy()]
    out["m08_reablement_91d"] = _share(int((r["status_91_days"] == "at_home").sum()), len(r))
    return out
