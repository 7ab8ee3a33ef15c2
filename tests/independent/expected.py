"""Independent expected values, written from docs/measures.md, docs/design.md and the national definitions.

Written without reading metrics/compute.py or metrics/catalogue.py. Financial year 2024-25, BSol,
no breakdown (plus m16's sex and practice cells in m16_cells). Every event is attributed through the patient spine, so rows for people not in it
(X098, X099) count nowhere. Rates follow docs/design.md "Periods": count / (population x days /
365.25) x multiplier, days = 365 for 2024-25.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd
from scipy.stats import chi2

from tests.independent.extracts import FILES

FY_START, FY_END = pd.Timestamp("2024-04-01"), pd.Timestamp("2025-03-31")
FY_DAYS = (FY_END - FY_START).days + 1  # 365


@dataclass(frozen=True)
class Expected:
    """What the stored row should hold; None where the docs give no numerator/denominator (medians, counts)."""

    numerator: float | None
    denominator: float | None
    value: float
    lower_ci: float | None = None  # checked only where given (m16's Dobson interval)
    upper_ci: float | None = None


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


# European Standard Population 2013, five-year bands, 90+ as one band (CCG OIS 2.6 appendix 1); sums to 100,000.
ESP_2013 = {0: 5000, 5: 5500, 10: 5500, 15: 5500, 20: 6000, 25: 6000, 30: 6500, 35: 7000, 40: 7000, 45: 7000,
            50: 7000, 55: 6500, 60: 6000, 65: 5500, 70: 5000, 75: 4000, 80: 2500, 85: 1500, 90: 1000}
EMERGENCY = {"21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D"}  # CCG OIS 2.6 filter 3 (ADMIMETH)
TRANSFERS = {"51", "52", "53"}  # filter 8: ADMISORC 51-53 are transfers from another hospital provider
# Filter 1 (c) and (h): congestive heart failure and hypertension spells with these cardiac procedures are out.
CARDIAC_PROCEDURES = ("K0", "K1", "K2", "K3", "K4", "K50", "K52", "K55", "K56", "K57", "K60", "K61", "K66", "K67",
                      "K68", "K69", "K71", "K73", "K74")
# Filter 1 (f): angina (I20) and chronic ischaemic heart disease (I25) with any operation in OPCS-4 chapters A-T,
# V, W, or X0-X2, X4-X5 are out; U (diagnostic imaging), X3 (injections), Y and Z (method and site) are not listed.
ANGINA_PROCEDURES = tuple("ABCDEFGHIJKLMNOPQRSTVW") + ("X0", "X1", "X2", "X4", "X5")


def chronic_acsc(primary: str, secondary: str, procedures: str) -> bool:
    """CCG OIS 2.6 / NHS OF 2.3.i data filter 1, (a) to (i), on one spell's first episode.

    DIAG_3_01 is the primary code's first three characters, DIAG_4_01 its first four (a three-character code
    is padded with X, as HES does); DIAG_3_CONCAT holds every diagnosis field, OPERTN_3_CONCAT every procedure.
    """
    d3, d4 = primary[:3], (primary + "X")[:4]
    diagnoses = {primary[:3]} | {c[:3] for c in secondary.split()}
    ops = procedures.split()

    def operated(listed: tuple[str, ...]) -> bool:
        return any(op.startswith(listed) for op in ops)

    return (
        (d4 in {"B180", "B181"} and "D57" not in diagnoses)                                        # (a) hepatitis B
        or d3 == "J45" or d4 == "J46X"                                                              # (b) asthma
        or ((d3 == "I50" or d4 in {"I110", "J81X", "I130"}) and not operated(CARDIAC_PROCEDURES))   # (c) CHF
        or d3 in {"E10", "E11", "E12", "E13", "E14"}                                                # (d) diabetes
        or d3 in {"J41", "J43", "J44"} or d4 in {"J42X", "J47X"}                                    # (e) COPD
        or (d3 == "J20" and bool(diagnoses & {"J41", "J42", "J43", "J44", "J47"}))                  # (e) J20+COPD
        or (d3 in {"I20", "I25"} and not operated(ANGINA_PROCEDURES))                               # (f) angina
        or d3 in {"D51", "D52"} or d4 in {"D501", "D508", "D509"}                                   # (g) anaemia
        or (d4 in {"I10X", "I119"} and not operated(CARDIAC_PROCEDURES))                            # (h) hypertension
        or d3 in {"I48", "G40", "G41", "F00", "F01", "F02", "F03"}                                  # (i)
    )


def _band(age: int) -> int:
    return min(age // 5 * 5, 90)


def acsc_spells(spine: pd.DataFrame) -> pd.DataFrame:
    """NHS OF 2.3.i / CCG OIS 2.6 (v1.15, Dec 2018): emergency, ordinary (CLASSPAT 1), non-transfer admissions
    in the year with a chronic ACSC primary diagnosis, all ages (STARTAGE 0-120: no upper age limit), sex known;
    directly age and sex standardised to ESP 2013 per 100,000 registered patients.

    Each sex is weighted by the whole ESP (docs/measures.md), so the persons rate is the mean of the male and
    female rates. Hand working for 2024-25 (rates per person-year; person-years = persons x 365 / 365.25):
      counted spells by sex and band (age at admission):
        F  5- 9: S10, S20           2 / 50    x w 5500 = 220
        F 65-69: T03, T11, T22      3 / 150   x w 5500 = 110
        F 80-84: T01, T07, T16      3 / 200   x w 2500 =  37.5    female sum 367.5 (A81001 100 + B82002 100)
        M 15-19: S12                1 / 40    x w 5500 = 137.5
        M 30-34: S13                1 / 300   x w 6500 =  21.666...
        M 40-44: T13, T24           2 / 200   x w 7000 =  70
        M 70-74: S1, S9, T05        3 / 200   x w 5000 =  75
        M 75-79: S3, T20            2 / 50    x w 4000 = 160      male sum 464.1666...
      DSR = (367.5 + 464.1666...) / (2 x 100,000) x 100,000 x 365.25 / 365 = 415.8333... x 1.00068493 = 416.1181...
    Left out: T02 I49 (I48 only), T04 angina with K63 angiography (second procedure), T06 heart failure with K57,
    T08 J20 without a COPD diagnosis, T09 day case (CLASSPAT 2), T10 transfer (51), T12 transfer (53), T14 admitted
    in 2023-24, T15 elective, T17 sex unknown, T18 not in the spine, T19 hepatitis B with sickle cell (D57), T21
    D50.0 (not on the list: D50.1/.8/.9 only), T23 patient classification not recorded (filter 10 needs CLASSPAT = 1),
    T25 I11.9 with K60; S11 (elective) and S2/S4-S8 (not chronic ACSC, or 2023-24). Counted despite looking
    borderline: T03 angina with only U20 imaging, T05 heart failure with K63 (not on the heart-failure list), T11
    admission source not recorded (only 51-53 are excluded), T16 method 2D from an NHS care home (54), T13 still in
    hospital on 31 March (unfinished episodes count), T20 aged 75 (no age limit).
    """
    s = frame("inpatient_spell")
    s = s[s["patient_id"].isin(spine.index) & _in_fy(s["admission_date"]) & s["admission_method"].isin(EMERGENCY)
          & (s["patient_classification"] == "1") & ~s["admission_source"].isin(TRANSFERS)].copy()
    s = s[[chronic_acsc(r.primary_diagnosis, r.secondary_diagnoses, r.procedure_codes) for r in s.itertuples()]]
    s["sex"] = spine.loc[s["patient_id"], "sex"].to_numpy()
    s["practice_code"] = spine.loc[s["patient_id"], "practice_code"].to_numpy()
    s = s[s["sex"].isin(["F", "M"])]
    s["band"] = _age(spine.loc[s["patient_id"], "birth"].reset_index(drop=True),
                     pd.to_datetime(s["admission_date"]).reset_index(drop=True)).map(_band).to_numpy()
    return s


def _persons(practice: str | None = None) -> pd.Series:
    """2024-25 registered persons by (sex, band start), for BSol or one practice."""
    pop = frame("population")
    pop = pop[(pop["financial_year"] == "2024-25") & ((pop["practice_code"] == practice) if practice else True)]
    return pop.groupby(["sex", pop["age_band_start"].astype(int)])["persons"].apply(lambda x: x.astype(int).sum())


def dsr(spells: pd.DataFrame, persons: pd.Series, sexes: tuple[str, ...] = ("F", "M")) -> Expected:
    """Directly standardised rate per 100,000 a year: each sex's bands weighted by the whole ESP 2013."""
    spells = spells[spells["sex"].isin(sexes)]
    events = spells.groupby(["sex", "band"]).size()
    assert set(events.index) <= set(persons.index), "an event in a band with no population: DSR not calculable"
    total_w = len(sexes) * sum(ESP_2013.values())
    w_per_py = {key: ESP_2013[key[1]] / (persons[key] * FY_DAYS / 365.25) / total_w * 100_000 for key in events.index}
    rate = sum(w_per_py[key] * n for key, n in events.items())
    # Dobson et al. (1991), as CCG OIS 2.6 states: the total count O's exact Poisson limits (O < 389), via
    # chi-squared, scaled by sqrt(var(DSR) / O) with var(DSR) = sum of (w_i / n_i)^2 O_i over the total weight^2.
    o = len(spells)
    scale = math.sqrt(sum(w_per_py[key] ** 2 * n for key, n in events.items()) / o) if o else 0.0
    o_low = chi2.ppf(0.025, 2 * o) / 2 if o else 0.0
    o_high = chi2.ppf(0.975, 2 * o + 2) / 2
    return Expected(o, None, rate, rate + scale * (o_low - o), rate + scale * (o_high - o))


def m16_isr(practice: str | None) -> Expected:
    """Indirectly age and sex standardised ratio (BCF 2023-25 template style): observed / expected x 100, expected =
    the practice's persons in each sex and band x BSol's rate there (the annualising factor cancels); stored as
    numerator = observed, denominator = expected events. By hand:
      BSol rates: F 5-9 2/50, F 65-69 3/150, F 80-84 3/200, M 15-19 1/40, M 30-34 1/300, M 40-44 2/200,
                  M 70-74 3/200, M 75-79 2/50.
      A81001: expected 100 x 3/200 + 300 x 1/300 + 200 x 3/200 + 50 x 2/50 = 1.5 + 1 + 3 + 2 = 7.5; observed 9 -> 120.
      B82002: expected 50 x 2/50 + 150 x 3/150 + 100 x 3/200 + 40 x 1/40 + 200 x 2/200 = 9.5; observed 8 -> 84.21...
      BSol (practice None): expected = observed = 17 -> 100.
    """
    s = acsc_spells(_spine())
    bsol, own = _persons(), _persons(practice)
    rates = s.groupby(["sex", "band"]).size() / bsol
    expected_n = float((rates.reindex(own.index).fillna(0) * own).sum())
    observed = int((s["practice_code"] == practice).sum()) if practice else len(s)
    by_hand = {"A81001": (9, 7.5), "B82002": (8, 9.5), None: (17, 17.0)}[practice]
    assert observed == by_hand[0] and math.isclose(expected_n, by_hand[1], rel_tol=1e-12)
    # 95% interval on the observed count with expected fixed; exact Poisson (chi-squared) is every convention's
    # choice below 10 events (PHE's technical guide), so it is checked there only (approximations differ above).
    lower = upper = None
    if observed < 10:
        lower = chi2.ppf(0.025, 2 * observed) / 2 / expected_n * 100
        upper = chi2.ppf(0.975, 2 * observed + 2) / 2 / expected_n * 100
    return Expected(observed, expected_n, observed / expected_n * 100, lower, upper)


def m16_cells() -> dict[tuple[str, str, str, str, str], Expected]:
    """m16 rows beyond BSol-all, keyed (indicator, geography_level, geography, breakdown, group), worked as above:
    BSol Female (37.5 + 110 + 220) x f = 367.7517, Male 464.1666... x f = 464.4846 (f = 365.25 / 365);
    A81001: F 80-84 3/100 x 2500 = 75, M 30-34 21.666..., M 70-74 75, M 75-79 160 -> (75 + 256.666...) / 2 x f;
    B82002: F 5-9 220, F 65-69 110, F 80-84 0/100, M 15-19 137.5, M 40-44 70 -> (330 + 207.5) / 2 x f.
    """
    s = acsc_spells(_spine())
    f = 365.25 / 365
    cells = {
        ("bsol", "BSol", "sex", "Female"): (dsr(s, _persons(), ("F",)), 367.5 * f),
        ("bsol", "BSol", "sex", "Male"): (dsr(s, _persons(), ("M",)), (137.5 + 65 / 3 + 70 + 75 + 160) * f),
        ("practice", "A81001", "none", "All"): (dsr(s[s["practice_code"] == "A81001"], _persons("A81001")),
                                                (75 + 65 / 3 + 75 + 160) / 2 * f),
        ("practice", "B82002", "none", "All"): (dsr(s[s["practice_code"] == "B82002"], _persons("B82002")),
                                                (330 + 207.5) / 2 * f),
    }
    for got, by_hand in cells.values():
        assert math.isclose(got.value, by_hand, rel_tol=1e-12), (got, by_hand)
    out = {("m16_acsc_chronic", *key): got for key, (got, _) in cells.items()}
    for level, geography in (("bsol", "BSol"), ("practice", "A81001"), ("practice", "B82002")):
        out[("m16_acsc_chronic_isr", level, geography, "none", "All")] = m16_isr(None if level == "bsol" else geography)
    return out


def m16_acsc_chronic(spine: pd.DataFrame) -> Expected:
    """BSol, persons: 17 spells; the hand working is in acsc_spells' docstring."""
    got = dsr(acsc_spells(spine), _persons())
    assert got.numerator == 17 and math.isclose(got.value, (367.5 + 464.1666666666667) / 2 * 365.25 / 365,
                                                rel_tol=1e-12)
    return got


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

    out["m16_acsc_chronic"] = m16_acsc_chronic(spine)
    # m16 (BCF 2025-26): emergency admissions (methods 21-2D, 28) in the year of people aged 65+ at admission, any
    # diagnosis, crude per 100,000 aged 65+. docs/measures.md names no classification, transfer or sex rule, so
    # T12 (a transfer) and T17 (sex unknown) count: S1, S3, S4, S5, S9 and 16 T spells = 21; 65+ population 600.
    old = emergency.assign(age=_age(spine.loc[emergency["patient_id"], "birth"].reset_index(drop=True),
                                    pd.to_datetime(emergency["admission_date"]).reset_index(drop=True)).to_numpy())
    out["m16_emergency_admissions_65"] = _rate(int((old["age"] >= 65).sum()), _population(65), 100_000)
    assert out["m16_emergency_admissions_65"].numerator == 21
    return out
