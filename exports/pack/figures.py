"""Indicator and pre/post figures as cells: number formats, [c] for suppressed, [x] for not
available, [z] for not applicable.

Why this module exists: the symbols' meaning must be the same on every sheet, so the rule for
which symbol a figure gets is written once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from exports.pack.sheet import NOT_APPLICABLE, NOT_AVAILABLE, SUPPRESSED, Num
from metrics.catalogue import Indicator, measure_of


# --------------------------------------------------------------------------- formatting figures
def _value_format(ind: Indicator) -> str:
    decimals = "0" if ind.decimals == 0 else "0." + "0" * ind.decimals
    if ind.unit == "percent":
        return f'{decimals}"%"'
    if ind.unit == "count":
        return "#,##0"
    return f"#,##{decimals}" if ind.decimals else "#,##0"


def _figure(value: object, ind: Indicator, suppressed: bool, fmt: str | None = None) -> Any:
    if suppressed:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return NOT_AVAILABLE
    return Num(float(value), fmt or _value_format(ind))


def _ci(value: object, ind: Indicator, suppressed: bool) -> Any:
    if ind.ci == "none":
        return NOT_APPLICABLE
    return _figure(value, ind, suppressed)


def _count(value: object, suppressed: bool) -> Any:
    if suppressed:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return NOT_AVAILABLE
    number = float(value)  # type: ignore[arg-type]
    return Num(number, "#,##0" if number.is_integer() else "#,##0.0")  # person-years keep a decimal


def _status(ind: Indicator) -> str:
    return measure_of(ind).status_label


def _unit(ind: Indicator) -> str:
    return ind.unit_label + (" (annualised)" if ind.annualised else "")


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _signed(shown: object, exact: object, fmt: str) -> Any:
    """A pre/post figure: [c] where for_display hid an exact value, [x] where none was computed."""
    if _missing(shown):
        return NOT_AVAILABLE if _missing(exact) else SUPPRESSED
    return Num(float(shown), fmt)  # type: ignore[arg-type]
