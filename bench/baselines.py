"""Same-run baselines for the refresh: the engine floor and a straightforward pandas implementation.

The floor is what the engine needs just to read each fact table once, joined to the patient spine
for geography: one plain GROUP BY per table, at the grain the pages report (locality x month) and
at the finest grain every breakdown could be rolled up from (practice x IMD x ethnicity x sex x
5-year age x month). The refresh cannot do less work than reading these rows once.

The pandas baseline is what an analyst would write: read the tables into DataFrames, join them,
group, divide. Its outputs are compared with the stored results of ours, value by value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from metrics.compute import AGE_BANDS, DATA_START, IMD_LABELS, SEX_LABELS, reporting_periods

# fact table -> (date column, joined to the spine?)
FACT_TABLES: dict[str, tuple[str, bool]] = {
    "inpatient_spell": ("admission_date", True),
    "ae_attendance": ("arrival_datetime", True),
    "community_contact": ("contact_date", True),
    "smoking_status": ("snapshot_date", True),
    "hypertension": ("snapshot_date", True),
    "diabetes": ("snapshot_date", True),
    "gp_appointment": ("appointment_date", True),
    "death": ("date_of_death", True),
    "ucr_referral": ("referral_datetime", True),
    "care_home_admission": ("admission_date", True),
    "reablement_discharge": ("hospital_discharge_date", True),
    "social_care_package": ("start_date", True),
    "int_caseload": ("start_date", True),
    "population": ("financial_year", False),
    "gp_appointments": ("month", False),
    "wound_prescribing": ("month", False),
    "gp_workforce": ("month", False),
}


def _sql(conn: Connection, text: str) -> pd.DataFrame:
    raw = conn.connection.driver_connection
    return raw.execute(text).fetch_df()


def engine_floor(conn: Connection) -> dict[str, dict[str, float]]:
    """Seconds for one plain GROUP BY scan per fact table, at two grains (DuckDB)."""
    out: dict[str, dict[str, float]] = {}
    tables = {r[0] for r in conn.exec_driver_sql("SELECT table_name FROM information_schema.tables").all()}
    for table, (col, spine) in FACT_TABLES.items():
        if table not in tables:
            continue
        if spine:
            base = (f"{table} t JOIN patient p ON p.patient_id = t.patient_id "
                    "JOIN practice pr ON pr.practice_code = p.practice_code "
                    "LEFT JOIN lsoa l ON l.lsoa_code = p.lsoa_code "
                    "LEFT JOIN ethnicity_code e ON e.code = p.ethnic_category")
            month = f"date_trunc('month', t.{col})"
            fine = (f"pr.practice_code, l.imd_quintile, e.ethnic_group, p.sex, "
                    f"least(floor((year(t.{col}) - year(p.birth_month)) / 5) * 5, 90), {month}")
        elif col == "financial_year":
            base = f"{table} t JOIN practice pr ON pr.practice_code = t.practice_code"
            month = "t.financial_year"
            fine = "t.practice_code, t.imd_quintile, t.ethnic_group, t.sex, t.age_band_start, t.financial_year"
        else:
            base = f"{table} t JOIN practice pr ON pr.practice_code = t.practice_code"
            month = f"t.{col}"
            fine = f"t.practice_code, {month}"
        timing = {}
        for grain, keys in (("locality_month", f"pr.locality, {month}"), ("finest", fine)):
            started = time.perf_counter()
            _sql(conn, f"SELECT {keys}, count(*) AS n FROM {base} GROUP BY ALL")
            timing[grain] = round(time.perf_counter() - started, 4)
        timing["rows"] = int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
        out[table] = timing
    return out


# ------------------------------------------------------------------------------------ pandas
@dataclass(frozen=True)
class PandasIndicator:
    id: str
    run: Callable[[Connection, date], pd.DataFrame]  # -> KEY columns + numerator, denominator, value


def _read(conn: Connection, table: str) -> pd.DataFrame:
    """Read a whole table as an analyst would, through the engine's fastest DataFrame path."""
    return _sql(conn, f'SELECT * FROM "{table}"')


def _spine(conn: Connection) -> pd.DataFrame:
    patient = _read(conn, "patient")
    practice = _read(conn, "practice")
    lsoa = _read(conn, "lsoa")[["lsoa_code", "imd_quintile"]]
    eth = _read(conn, "ethnicity_code")[["code", "ethnic_group"]].rename(columns={"code": "ethnic_category"})
    s = (patient.merge(practice, on="practice_code").merge(lsoa, on="lsoa_code", how="left")
         .merge(eth, on="ethnic_category", how="left"))
    s["imd_quintile"] = s["imd_quintile"].map(
        lambda v: "Unknown" if pd.isna(v) else IMD_LABELS.get(str(int(v)), str(int(v))))
    s["ethnicity"] = s["ethnic_group"].fillna("Not stated")
    s["sex"] = s["sex"].map(lambda v: SEX_LABELS.get(v, v))
    s["neighbourhood"] = s["neighbourhood_name"]
    s["practice"] = s["practice_code"]
    return s[["patient_id", "place", "locality", "neighbourhood", "practice", "imd_quintile", "ethnicity", "sex",
              "birth_month"]]


def _age_at(when: pd.Series, birth: pd.Series) -> pd.Series:
    return when.dt.year - birth.dt.year - (when.dt.month < birth.dt.month).astype(int)


def _age_band(age: pd.Series) -> pd.Series:
    edges = [b for b, _ in AGE_BANDS[1:]]
    labels = np.array([label for _, label in AGE_BANDS], dtype=object)
    return pd.Series(labels[np.searchsorted(edges, age.to_numpy(), side="right")], index=age.index)


def _periods(data_end: date) -> pd.DataFrame:
    p = reporting_periods(DATA_START, data_end)
    return p[["period_type", "period", "period_start", "period_end", "fy", "quarter_of_fy", "years"]]


def _period_rows(frame: pd.DataFrame, when: pd.Series, periods: pd.DataFrame, types: tuple[str, ...]) -> pd.DataFrame:
    """Each row once per reporting period (of `types`) containing its date."""
    parts = []
    day = when.dt.normalize()
    for r in periods[periods.period_type.isin(types)].itertuples():
        m = (day >= pd.Timestamp(r.period_start)) & (day <= pd.Timestamp(r.period_end))
        if m.any():
            parts.append(frame[m.to_numpy()].assign(period_type=r.period_type, period=r.period))
    return pd.concat(parts, ignore_index=True)


def _grouped(rows: pd.DataFrame, breakdowns: tuple[str, ...], value_cols: list[str]) -> pd.DataFrame:
    """Sum value_cols at every geography level x breakdown the dashboard reports."""
    outs = []
    for level in ("bsol", "place", "locality"):
        for bd in ("none", *breakdowns):
            keys = ["period_type", "period"] + ([level] if level != "bsol" else []) + ([bd] if bd != "none" else [])
            g = rows.groupby(keys, as_index=False, observed=True)[value_cols].sum()
            g["geography_level"] = level
            g["geography"] = g[level] if level != "bsol" else "BSol"
            g["breakdown"] = bd
            g["group"] = g[bd] if bd != "none" else "All"
            outs.append(g)
    for level in ("neighbourhood", "practice"):
        g = rows.groupby(["period_type", "period", level], as_index=False)[value_cols].sum()
        g["geography_level"], g["geography"], g["breakdown"], g["group"] = level, g[level], "none", "All"
        outs.append(g)
    cols = ["period_type", "period", "geography_level", "geography", "breakdown", "group", *value_cols]
    return pd.concat([o[cols] for o in outs], ignore_index=True)


ALL_BD = ("imd_quintile", "ethnicity", "sex", "age_band")


def _ratio(g: pd.DataFrame, multiplier: float = 100.0) -> pd.DataFrame:
    g = g[g["den"] > 0].copy()
    g["numerator"], g["denominator"] = g["num"].astype(float), g["den"].astype(float)
    g["value"] = g["numerator"] / g["denominator"] * multiplier
    return g.drop(columns=["num", "den"])


def _snapshot_fy(g: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Financial year of a snapshot measure = its latest quarter in that year."""
    q = periods[periods.period_type == "quarter"][["period", "fy", "quarter_of_fy"]]
    x = g[g.period_type == "quarter"].merge(q, on="period")
    x = x[x["quarter_of_fy"] == x.groupby("fy")["quarter_of_fy"].transform("max")]
    fy = x.drop(columns=["period", "quarter_of_fy"]).rename(columns={"fy": "period"}).assign(period_type="financial_year")
    return pd.concat([g, fy], ignore_index=True)


def ucr_2h(conn: Connection, data_end: date) -> pd.DataFrame:
    ucr = _read(conn, "ucr_referral").merge(_spine(conn), on="patient_id")
    when = ucr["referral_datetime"]
    ucr["age_band"] = _age_band(_age_at(when, ucr["birth_month"]))
    eligible = ucr["two_hour_eligible"].fillna(False).astype(bool)
    ucr["den"] = eligible.astype(int)
    ucr["num"] = (eligible & (ucr["first_contact_datetime"] <= when + pd.Timedelta(hours=2))).astype(int)
    rows = _period_rows(ucr, when, _periods(data_end), ("month", "quarter", "financial_year", "rolling_12m"))
    return _ratio(_grouped(rows, ALL_BD, ["num", "den"]))


def deaths_usual_residence(conn: Connection, data_end: date) -> pd.DataFrame:
    d = _read(conn, "death").merge(_spine(conn), on="patient_id")
    when = d["date_of_death"]
    d["age_band"] = _age_band(_age_at(when, d["birth_month"]))
    d["den"] = 1
    d["num"] = d["place_of_death"].isin(["home", "care_home", "religious_establishment"]).astype(int)
    rows = _period_rows(d, when, _periods(data_end), ("month", "quarter", "financial_year", "rolling_12m"))
    return _ratio(_grouped(rows, ALL_BD, ["num", "den"]))


def _snapshot_ratio(conn: Connection, data_end: date, table: str | pd.DataFrame,
                    flag: Callable[[pd.DataFrame], pd.Series], min_age: int = 0) -> pd.DataFrame:
    s = (_read(conn, table) if isinstance(table, str) else table).merge(_spine(conn), on="patient_id")
    s["age"] = _age_at(s["snapshot_date"], s["birth_month"])
    s = s[s["age"] >= min_age].copy()
    when = s["snapshot_date"]
    s["age_band"] = _age_band(s["age"])
    s["den"] = 1
    s["num"] = flag(s).fillna(False).astype(bool).astype(int)
    periods = _periods(data_end)
    rows = _period_rows(s, when, periods, ("quarter",))
    return _ratio(_snapshot_fy(_grouped(rows, ALL_BD, ["num", "den"]), periods))


def hypertension_bp(conn: Connection, data_end: date) -> pd.DataFrame:
    def in_range(s: pd.DataFrame) -> pd.Series:
        sys_, dia = s["last_systolic"], s["last_diastolic"]
        return ((s["age"] < 80) & (sys_ <= 140) & (dia <= 90)) | ((s["age"] >= 80) & (sys_ <= 150) & (dia <= 90))

    return _snapshot_ratio(conn, data_end, "hypertension", in_range)


def smoking_recorded(conn: Connection, data_end: date) -> pd.DataFrame:
    """QOF SMOK002: of patients 15+ on a listed register, status recorded in the 12 months to the snapshot."""
    s = _read(conn, "smoking_status")
    s = s[s["ltc_register"].fillna(False).astype(bool)]

    def recorded(s: pd.DataFrame) -> pd.Series:
        since = s["snapshot_date"] - pd.DateOffset(months=12)
        return (s["status"] != "not_recorded") & (s["status_date"] > since)

    return _snapshot_ratio(conn, data_end, s, recorded, min_age=15)


def gp_same_day(conn: Connection, data_end: date) -> pd.DataFrame:
    a = _read(conn, "gp_appointments").merge(
        _read(conn, "practice").rename(columns={"neighbourhood_name": "neighbourhood"}), on="practice_code")
    a["practice"] = a["practice_code"]
    known = a["booking_interval"] != "unknown"
    a["den"] = a["appointments"].where(known, 0)
    a["num"] = a["appointments"].where(a["booking_interval"] == "same_day", 0)
    a = a[known]  # rows the denominator counts (the numerator is a subset)
    rows = _period_rows(a, a["month"], _periods(data_end), ("month", "quarter", "financial_year", "rolling_12m"))
    return _ratio(_grouped(rows, (), ["num", "den"]))


def care_home_admissions_65(conn: Connection, data_end: date) -> pd.DataFrame:
    periods = _periods(data_end)
    c = _read(conn, "care_home_admission").merge(_spine(conn), on="patient_id")
    when = c["admission_date"]
    c["age"] = _age_at(when, c["birth_month"])
    permanent = c["permanent"].fillna(False).astype(bool)
    # ASCOF 2C as the catalogue reads it: a permanent admission after an earlier one is a transfer
    first = c.loc[permanent].groupby("patient_id")["admission_date"].min()
    c = c[permanent & (c["age"] >= 65) & (c["admission_date"] <= c["patient_id"].map(first))].copy()
    c["age_band"] = _age_band(c["age"])
    c["num"] = 1
    rows = _period_rows(c, c["admission_date"], periods, ("month", "quarter", "financial_year", "rolling_12m"))
    num = _grouped(rows.drop_duplicates(["period_type", "period", "patient_id"]), ALL_BD, ["num"])  # people, once
    pop = _read(conn, "population")
    pop = pop[pop["age_band_start"] >= 65].merge(
        _read(conn, "practice").rename(columns={"neighbourhood_name": "neighbourhood"}), on="practice_code")
    pop["practice"] = pop["practice_code"]
    pop["imd_quintile"] = pop["imd_quintile"].astype(str).replace({"0": "Unknown"}).map(lambda v: IMD_LABELS.get(v, v))
    pop["ethnicity"] = pop["ethnic_group"]
    pop["sex"] = pop["sex"].map(lambda v: SEX_LABELS.get(v, v))
    pop["age_band"] = _age_band(pop["age_band_start"])
    pop = periods[["period_type", "period", "fy"]].merge(pop.rename(columns={"financial_year": "fy"}), on="fy")
    den = _grouped(pop, ALL_BD, ["persons"])
    g = den.merge(num, on=["period_type", "period", "geography_level", "geography", "breakdown", "group"], how="outer")
    g["num"] = g["num"].fillna(0.0)
    years = periods.set_index(["period_type", "period"])["years"]
    g = g[g["persons"] > 0].copy()
    person_years = g["persons"] * years.reindex(pd.MultiIndex.from_frame(g[["period_type", "period"]])).to_numpy()
    g["numerator"], g["denominator"] = g["num"].astype(float), g["persons"].astype(float)
    g["value"] = g["numerator"] / person_years * 100_000.0  # annualised: per 100,000 person-years
    return g.drop(columns=["num", "persons"])


PANDAS_INDICATORS = (
    PandasIndicator("m05_ucr_2h", ucr_2h),
    PandasIndicator("m14_deaths_usual_residence", deaths_usual_residence),
    PandasIndicator("m12_hypertension_bp_target", hypertension_bp),
    PandasIndicator("m10_smoking_status_recorded", smoking_recorded),
    PandasIndicator("m19_gp_same_day", gp_same_day),
    PandasIndicator("m04_care_home_admissions_65", care_home_admissions_65),
)

KEY = ["period_type", "period", "geography_level", "geography", "breakdown", "group"]


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict[str, int]:
    """Rows of ours with a denominator, matched with the pandas rows: how many agree exactly."""
    ours = ours[ours["denominator"].astype(float) > 0]
    m = ours[KEY + ["numerator", "denominator", "value"]].merge(
        theirs[KEY + ["numerator", "denominator", "value"]], on=KEY, how="outer", suffixes=("", "_pd"), indicator=True)
    both = m[m["_merge"] == "both"]
    same = np.ones(len(both), dtype=bool)
    for col in ("numerator", "denominator", "value"):
        same &= np.isclose(both[col].astype(float), both[f"{col}_pd"].astype(float), rtol=1e-9, equal_nan=True)
    return {"rows_compared": int(len(both)), "rows_equal": int(same.sum()),
            "only_ours": int((m["_merge"] == "left_only").sum()), "only_pandas": int((m["_merge"] == "right_only").sum())}
