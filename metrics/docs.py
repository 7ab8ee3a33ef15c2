"""docs/measures.md, generated from the catalogue so the definitions cannot drift from the code."""

from __future__ import annotations

from metrics.catalogue import MEASURES, WORK_PROGRAMMES, Indicator, calculation_rules
from metrics.dimensions import (
    BREAKDOWN_LEVELS,
    BREAKDOWN_PROSE,
    LEVEL_KEYS,
    LEVEL_LABELS,
    PERIOD_TYPE_PROSE,
)

LEVEL_PROSE = {k: (v if k == "bsol" else v.lower()) for k, v in LEVEL_LABELS.items()}


def breakdown_text(ind: Indicator) -> str:
    parts = [", ".join(LEVEL_PROSE[k] for k in LEVEL_KEYS)]
    if ind.breakdowns:
        parts.append("by " + ", ".join(BREAKDOWN_PROSE[b] for b in ind.breakdowns)
                     + " (" + ", ".join(LEVEL_PROSE[k] for k in BREAKDOWN_LEVELS) + ")")
    else:
        parts.append("no breakdown by patient characteristics (not available for this indicator)")
    return "; ".join(parts)


def indicator_rows(ind: Indicator) -> list[tuple[str, str]]:
    """Label/value pairs describing an indicator: used by this document, the app and the packs."""
    return [
        ("Indicator id", ind.id),
        ("Numerator", ind.numerator_text),
        ("Denominator", ind.denominator_text),
        ("Unit", ind.unit_label + (" (annualised)" if ind.annualised else "")),
        ("Polarity", ind.polarity.value),
        ("Confidence interval", {"wilson": "Wilson score (95%)", "byar": "Byar's method, exact Poisson below 10 (95%)",
                                 "dobson": "Dobson method (95%)", "t": "t-distribution (95%)",
                                 "none": "not calculated"}[ind.ci]),
        ("Standardisation", ind.standardisation),
        ("Definition followed", f"{ind.definition} ({ind.definition_year})"),
        ("Better Care Fund", f"BCF {ind.bcf_framework} metric" if ind.bcf_framework else "not a BCF metric"),
        ("Deviations from the national definition", ind.deviations or "none"),
        ("Calculation rules", calculation_rules(ind)),
        ("Target", ind.target_text or "none set"),
        ("Source", ind.source),
        ("Frequency", ", ".join(PERIOD_TYPE_PROSE[p] for p in ind.frequency)),
        ("Breakdowns", breakdown_text(ind)),
        ("Caveats", ind.caveats or "—"),
    ]


def render_measures_doc() -> str:
    lines = [
        "# The 21 impact measures",
        "",
        "Generated from `metrics/catalogue.py` by `flask --app app measures-doc`; do not edit by hand.",
        "Wording in quotes is Table 2 of the Implementation Plan 2024/5-2026/7, verbatim.",
        "Measures 13, 15, 20 and 21 are placeholders in the plan: the definitions here are",
        "**proposed — not agreed**, so the Steering Group can discuss real numbers.",
        "",
    ]
    for wp, name in WORK_PROGRAMMES.items():
        lines += [f"## Work programme {wp}: {name}", ""]
        for m in (m for m in MEASURES if m.work_programme == wp):
            flag = " — **proposed — not agreed**" if m.proposed else ""
            lines += [f"### Measure {m.number}{flag}", "", f"> {m.wording}", ""]
            for ind in m.indicators:
                lines += [f"#### {ind.title}", "", "| | |", "|---|---|"]
                lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in indicator_rows(ind)]
                lines.append("")
    return "\n".join(lines)
