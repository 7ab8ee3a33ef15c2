"""The one small-number disclosure rule, applied at the edge (pages, exports) and when writing results.

Why one module: every reader (pages, Excel packs, the data dictionary) must hide exactly the same
cells, so the rule is a single frozen dataclass and two vectorised functions.

The rule (defaults follow the NHS Digital HES analysis guide, as used locally):
* Counts from ``min_count`` to ``max_suppressed`` inclusive (1-7) are suppressed for every
  geography below BSol (``geography_level != "bsol"``) and for every breakdown group (a BSol x
  ethnic group cell can be as small as a neighbourhood). A numerator or denominator in that range
  suppresses the whole row (value and confidence limits too), so rates and percentages built on a
  small count are hidden with it.
* Zero is NOT suppressed: under the HES rule a zero does not identify anyone (there is no one to
  identify), so 0 is shown as 0.
* Directly standardised rates (``ci_method == "dobson"``) are not shown when the numerator is below
  ``min_dsr_count`` (10), at every level including BSol -- this is the OHID/PHE reliability rule
  (``phe_dsr`` returns NA below 10 events), kept here so there is one place that hides cells.
* Every other displayed count is rounded to the nearest ``rounding`` (5), halves rounded up, to
  stop small numbers being recovered by differencing. Stored results keep exact values plus the
  ``suppressed`` flag; rounding happens only for display/export (``apply``/``round_for_display``).
* Count measures (``unit`` of "count"/"number"/"n") also have their ``value`` checked and rounded,
  since there the value is itself a count.

No secondary (complementary) suppression is done; rounding is the protection against differencing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNT_UNITS = frozenset({"count", "number", "n"})
MEASURE_COLUMNS = ("numerator", "denominator", "value", "lower_ci", "upper_ci", "lower_ci_998", "upper_ci_998")


@dataclass(frozen=True)
class DisclosureRule:
    """Small-number rule parameters (see the module docstring for what each one does).

    ``exempt_levels``: geography levels where small counts are shown (BSol as a whole).
    """

    min_count: int = 1
    max_suppressed: int = 7
    rounding: int = 5
    min_dsr_count: int = 10
    exempt_levels: tuple[str, ...] = ("bsol",)

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count must be >= 1 (zero is never suppressed)")
        if self.max_suppressed < self.min_count:
            raise ValueError("max_suppressed must be >= min_count")
        if self.rounding < 0 or self.min_dsr_count < 0:
            raise ValueError("rounding and min_dsr_count must be >= 0")


DEFAULT_RULE = DisclosureRule()


def configured_rule() -> DisclosureRule:
    """The rule as configured (BSOL_SUPPRESS_MAX, BSOL_ROUND_TO, BSOL_MIN_DSR_COUNT)."""
    from data_loaders.settings import load_settings

    s = load_settings()
    return DisclosureRule(max_suppressed=s.suppress_max, rounding=s.round_to, min_dsr_count=s.min_dsr_count)


def _small(x: pd.Series | np.ndarray, rule: DisclosureRule) -> np.ndarray:
    """True where a count falls in the suppressed band; NaN and 0 are never small."""
    arr = np.asarray(pd.to_numeric(pd.Series(x), errors="coerce"), dtype=float)
    with np.errstate(invalid="ignore"):
        return (arr >= rule.min_count) & (arr <= rule.max_suppressed)


def suppress_count(x: float | None, rule: DisclosureRule = DEFAULT_RULE) -> float:
    """A single count as it may be shown below BSol level: NaN if it is 1-7, else unchanged.

    Why: for ad-hoc counts outside a results frame (e.g. a caption). Zero and NaN pass through.
    Apply ``round_for_display`` afterwards for display.
    """
    if x is None or pd.isna(x):
        return float("nan")
    value = float(x)
    if rule.min_count <= value <= rule.max_suppressed:
        return float("nan")
    return value


def round_for_display(
    x: float | np.ndarray | pd.Series, base: int = DEFAULT_RULE.rounding
) -> float | np.ndarray | pd.Series:
    """Round counts to the nearest ``base`` (halves up, not banker's rounding); NaN stays NaN.

    Why: shown/exported counts are rounded so exact small numbers cannot be recovered by
    differencing. Accepts a scalar, array or Series and returns the same kind. ``base`` <= 1 is a
    no-op.
    """
    if base is None or base <= 1:
        return x
    if isinstance(x, pd.Series):
        return np.floor(x.astype(float) / base + 0.5) * base
    if np.ndim(x) == 0:
        if x is None or pd.isna(x):
            return float("nan")
        return float(np.floor(float(x) / base + 0.5) * base)
    return np.floor(np.asarray(x, dtype=float) / base + 0.5) * base


def describe(rule: DisclosureRule) -> str:
    """The rule in one sentence, for page footers, legends and pack covers."""
    return (f"Counts of {rule.min_count} to {rule.max_suppressed} are suppressed below BSol level and in "
            f"breakdown groups, counts are rounded to the nearest {rule.rounding}, and directly standardised "
            f"rates on fewer than {rule.min_dsr_count} events are not shown.")


def _flag(df: pd.DataFrame, column: str) -> np.ndarray:
    """Optional per-row flag (default True): is this column a count of people or events?

    Person-years, FTE, expected counts and published practice-level totals are not disclosive
    counts: they are neither suppressed as small numbers nor rounded.
    """
    if column not in df.columns:
        return np.ones(len(df), dtype=bool)
    return df[column].fillna(True).astype(bool).to_numpy()


def is_suppressed_mask(
    df: pd.DataFrame, rule: DisclosureRule = DEFAULT_RULE, level_col: str = "geography_level"
) -> pd.Series:
    """Boolean Series (aligned to ``df``): True where the row must not be shown.

    Why: computed once when results are written (the ``suppressed`` column of ``measure_result``)
    and again by ``apply`` so every reader uses the same rule. Needs ``numerator`` and
    ``level_col``; ``denominator``, ``unit``, ``value`` and ``ci_method`` are used when present.
    """
    missing = {"numerator", level_col} - set(df.columns)
    if missing:
        raise KeyError(f"results frame lacks column(s): {sorted(missing)}")
    level = df[level_col].astype("string").str.lower()
    exempt = level.isin([lvl.lower() for lvl in rule.exempt_levels]).fillna(False).to_numpy(dtype=bool)
    if "breakdown" in df.columns:
        # BSol as a whole is exempt; a BSol x ethnicity (or IMD, sex, age) group is a small area too.
        exempt = exempt & df["breakdown"].astype("string").fillna("none").eq("none").to_numpy(dtype=bool)
    below = ~exempt

    small = _small(df["numerator"], rule) & _flag(df, "numerator_disclosive")
    if "denominator" in df.columns:
        small |= _small(df["denominator"], rule) & _flag(df, "denominator_disclosive")
    if "unit" in df.columns and "value" in df.columns:
        is_count = df["unit"].astype("string").str.lower().isin(COUNT_UNITS).fillna(False)
        small |= is_count.to_numpy(dtype=bool) & _small(df["value"], rule)
    mask = below & small

    if "ci_method" in df.columns:
        dobson = df["ci_method"].astype("string").str.lower().eq("dobson").fillna(False)
        num = np.asarray(pd.to_numeric(df["numerator"], errors="coerce"), dtype=float)
        with np.errstate(invalid="ignore"):
            few = num < rule.min_dsr_count
        mask |= dobson.to_numpy(dtype=bool) & few
    return pd.Series(mask, index=df.index, name="suppressed", dtype=bool)


def apply(
    df: pd.DataFrame, rule: DisclosureRule = DEFAULT_RULE, level_col: str = "geography_level"
) -> pd.DataFrame:
    """A display/export copy of a results frame with the rule applied.

    Why: the last step before anything leaves the app. Returns a copy with a boolean
    ``suppressed`` column (the rule's mask OR any existing ``suppressed`` flag); where suppressed,
    numerator, denominator, value, lower_ci and upper_ci are NaN; elsewhere numerator and
    denominator (and value for count units) are rounded to the nearest ``rule.rounding``.
    The input is not modified.
    """
    out = df.copy()
    mask = is_suppressed_mask(out, rule, level_col).to_numpy()
    if "suppressed" in out.columns:
        mask = mask | out["suppressed"].fillna(False).astype(bool).to_numpy()
    for col in MEASURE_COLUMNS:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[mask, col] = np.nan
    for col in ("numerator", "denominator"):
        if col in out.columns:
            counts = _flag(out, f"{col}_disclosive")
            out.loc[counts, col] = round_for_display(out.loc[counts, col], rule.rounding)
    if "unit" in out.columns and "value" in out.columns:
        is_count = out["unit"].astype("string").str.lower().isin(COUNT_UNITS).fillna(False)
        is_count = is_count.to_numpy(dtype=bool)
        out.loc[is_count, "value"] = round_for_display(out.loc[is_count, "value"], rule.rounding)
    out["suppressed"] = mask
    return out
