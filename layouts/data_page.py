"""Data page: demo status, load log, rejected loads, source coverage and completeness."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from layouts import components, ids


def layout(**_query: str) -> html.Div:
    return html.Div([
        components.page_header("Data and quality",
                               "Where the numbers come from: what has been loaded, what was rejected, the periods each "
                               "source covers and how complete the fields behind the breakdowns are."),
        dcc.Loading(html.Div(id=ids.DATA_CONTENT, className="content"), type="default", delay_show=300),
    ], className="page page-data")


def _shown(x: object, fmt: str = "{:,.0f}") -> str:
    return "[c]" if x is None or pd.isna(x) else fmt.format(x)  # type: ignore[arg-type]


def content(info: dict[str, str], load_log: pd.DataFrame | None, rejections: list[dict[str, object]] | None,
            coverage: pd.DataFrame, complete: pd.DataFrame, audit: pd.DataFrame | None = None) -> html.Div:
    """`load_log`/`rejections`/`audit` are None when the caller's role may not see them (access.py decides).
    ``complete``: metrics.quality.completeness_for_display (disclosure applied: [c], rounded counts)."""
    demo = info.get("is_demo", "").lower() == "true"
    status = html.Div([
        html.H2("Dataset"),
        html.P(html.Strong("These are synthetic demo data." if demo else "These are loaded extracts (not demo data)."),
               className="demo-status"),
        components.definition_list([(k.replace("_", " ").capitalize(), str(v)) for k, v in sorted(info.items())]
                                   or [("Status", "No data loaded")]),
    ], className="panel")
    comp_rows = pd.DataFrame({
        "Check": complete.get("Check", pd.Series(dtype=str)),
        "Affected": [_shown(v) for v in complete.get("Affected", [])],
        "Out of": [f"{_shown(v)} {of}" for v, of in zip(complete.get("Out of", []), complete.get("of", []), strict=True)],
        "Percent": [_shown(v, "{:.1f}%") for v in complete.get("Percent", [])],
    }, columns=["Check", "Affected", "Out of", "Percent"])
    return html.Div([
        status,
        html.Section([html.H2("What each source covers"),
                      components.data_table(coverage, "Rows loaded and period covered, by source",
                                            numeric=["Rows"], suppressed_col=None)], className="panel"),
        html.Section([html.H2("Completeness and data quality"),
                      html.P("Patients without these fields are counted in BSol totals but fall outside the matching "
                             "breakdown (e.g. no LSOA means no IMD quintile). Rows that point at nothing in another "
                             "extract, or disagree with it, are kept and counted here (docs/design.md, 'Checks "
                             "across extracts').", className="muted"),
                      components.data_table(comp_rows, "Completeness of the patient spine and checks across extracts",
                                            numeric=["Affected", "Percent"],
                                            suppressed_col=None)], className="panel"),
        *(_load_sections(load_log, rejections) if load_log is not None and rejections is not None else
          [html.Section([html.H2("Load log"),
                         html.P("The load log and rejected loads are shown to data managers only.", className="muted")],
                        className="panel")]),
        *([_audit_section(audit)] if audit is not None else []),
    ])


def _load_sections(load_log: pd.DataFrame, rejections: list[dict[str, object]]) -> list[html.Section]:
    log = load_log.copy()
    if "loaded_at" in log:
        log["loaded_at"] = log["loaded_at"].astype(str).str.slice(0, 19)
    log = log.drop(columns=[c for c in ("sha256", "load_id") if c in log.columns])
    rej = pd.DataFrame([_rejection_row(r, with_reason=True) for r in rejections[:50]],
                       columns=["When", "File", "Extract", "Problems", "First problem"])
    return [
        html.Section([html.H2("Load log"),
                      components.data_table(log, "Every load that landed, newest first", numeric=["rows"],
                                            suppressed_col=None) if not log.empty
                      else html.P("No loads recorded.", className="muted")], className="panel"),
        html.Section([html.H2("Rejected loads"),
                      components.data_table(rej, "Load attempts rejected by validation (nothing was written)",
                                            suppressed_col=None) if not rej.empty
                      else html.P("No rejected loads.", className="muted")], className="panel"),
    ]


def _audit_section(audit: pd.DataFrame) -> html.Section:
    shown = audit.drop(columns=["id"], errors="ignore").copy()
    if "at" in shown:
        shown["at"] = shown["at"].astype(str).str.slice(0, 19)
    return html.Section([
        html.H2("Audit log"),
        html.P(["Sign-ins, loads, downloads, packs and exports, newest first (latest 200; times UTC). ",
                html.A("Download the whole log (CSV)", href="/download/audit.csv", id="audit-download-csv"),
                " · ", html.A("Excel", href="/download/audit.xlsx", id="audit-download-xlsx")], className="muted"),
        components.data_table(shown, "Audit log", suppressed_col=None) if not shown.empty
        else html.P("Nothing recorded yet.", className="muted"),
    ], className="panel", id="audit-log")


def _rejection_row(r: dict[str, object], with_reason: bool = False) -> dict[str, object]:
    """Where a file was rejected (row, column); why only for data managers (a reason can quote a value)."""
    first = r.get("first_problems") or []
    where = ""
    if isinstance(first, list) and first and isinstance(first[0], dict):
        p = first[0]
        where = ", ".join(x for x in (f"row {p['row']}" if p.get("row") is not None else "",
                                      f"column {p['column']}" if p.get("column") else "") if x)
        if with_reason:
            where = f"{where}: {str(p.get('reason', ''))[:200]}" if where else str(p.get("reason", ""))[:200]
    return {"When": str(r.get("time", ""))[:19], "File": str(r.get("file", "")), "Extract": str(r.get("extract") or ""),
            "Problems": r.get("problems", ""), "First problem": where}
