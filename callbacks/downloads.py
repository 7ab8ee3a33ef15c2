"""Table downloads as Flask routes under /download/ (access.check_request requires the analyst role).

The file is built from the same view function as the page's "figures behind every chart" table,
so a download can never show more than the page (disclosure control applied in metrics.results);
every file goes through exports.files. `?exact=1` (data managers only, audited) skips disclosure control.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request

import access
from callbacks import data
from exports import files
from exports import prepost as prepost_tables
from layouts import filters as flt
from layouts import measure, prepost, views
from metrics.catalogue import INDICATORS_BY_ID

FORMATS = {"csv": files.CSV_TYPE, "xlsx": files.XLSX_TYPE}


def measure_table_bytes(indicator_id: str, fmt: str, query: dict[str, str], exact: bool = False) -> bytes:
    """The measure page's figures table as a file; ``exact`` (data managers only, audited by the
    route) skips disclosure control."""
    ind = INDICATORS_BY_ID.get(indicator_id)
    if ind is None or fmt not in FORMATS:
        abort(404)
    f = flt.parse(query)
    if f.errors:
        abort(400, "; ".join(f.errors))
    pt = f.period_type if f.period_type in ind.frequency else ind.frequency[0]
    f = flt.Filters(f.locality, pt, f.period, f.breakdown)
    frame = data.exact_results([ind.id], period_type=pt) if exact else data.display_results([ind.id], period_type=pt)
    period = f.period if f.period not in (None, "", measure.LATEST) else views.latest_period(frame, f)
    if period is None:
        abort(404, "No data for this selection")
    nbs = data.neighbourhoods_of(f.locality) if f.level != "bsol" else None
    prs = data.practices_of(f.locality) if f.level != "bsol" else None
    table = views.download_frame(views.figures_table(frame, ind, f, period, nbs, prs, data.practice_names()), ind)
    return files.csv_bytes(table) if fmt == "csv" else files.xlsx_bytes({ind.id: table})


def prepost_table_bytes(fmt: str, query: dict[str, str]) -> tuple[bytes, str]:
    """The pre/post tables for the page's selection (after metrics.prepost.for_display): CSV = the
    plan's table; Excel = plan table, rates and ratios, comparison cohort and notes. Aggregates only."""
    if fmt not in FORMATS:
        abort(404)
    teams = data.int_teams()
    sel = prepost.parse(query, teams, data.prepost_window())
    if sel.errors:
        abort(400, "; ".join(sel.errors))
    frame = data.prepost_display(sel.cohort, sel.window)
    if frame.empty:
        abort(404, "No pre/post results for this selection")
    shown = prepost.in_scope(frame, prepost.scope_codes(sel, teams))
    tables = prepost_tables.download_tables(shown, sel.cohort, sel.window, prepost.scope_label(sel, teams),
                                            data.policy())
    scope = sel.team if sel.team != prepost.ALL_TEAMS else sel.locality
    body = files.csv_bytes(next(iter(tables.values()))) if fmt == "csv" else files.xlsx_bytes(tables)
    return body, f"bsol-prepost-{scope}-{sel.cohort}-{sel.window}m.{fmt}".lower()


def _attachment(body: bytes, fmt: str, name: str) -> Response:
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _downloaded(body: bytes, fmt: str, name: str) -> Response:
    """Audit the download (what was asked for), then send it."""
    from auth import audit_event

    audit_event("download", {"path": request.path, "query": request.query_string.decode("utf-8", "replace")[:500],
                             "bytes": len(body)})
    return _attachment(body, fmt, name)


def register_routes(server: Flask) -> None:
    # access.check_request has already refused callers without the permission (ROUTES in access.py).
    @server.route("/download/measure/<indicator_id>.<fmt>")
    def download_measure(indicator_id: str, fmt: str) -> Response:
        exact = request.args.get("exact", "") not in ("", "0", "false")
        if exact and not access.can("exact_exports"):
            abort(403)  # exact (undisclosed) values: data managers only, and audited
        query = {k: request.args.get(k, "") for k in flt.KEYS}
        body = measure_table_bytes(indicator_id, fmt, query, exact=exact)
        if exact:
            from auth import audit_event

            audit_event("export_exact", {"what": "measure download", "indicator": indicator_id, "format": fmt,
                                         **query})
        return _downloaded(body, fmt, f"bsol-{indicator_id}{'-exact' if exact else ''}.{fmt}")

    @server.route("/download/prepost.<fmt>")
    def download_prepost(fmt: str) -> Response:
        body, name = prepost_table_bytes(fmt, {k: request.args.get(k, "") for k in ("locality", "team", "cohort",
                                                                                      "window")})
        return _downloaded(body, fmt, name)

    @server.route("/download/audit.<fmt>")
    def download_audit(fmt: str) -> Response:
        """The audit log (data managers: access.ROUTES), newest first."""
        if fmt not in FORMATS:
            abort(404)
        frame = data.audit_log(limit=None)
        body = files.csv_bytes(frame) if fmt == "csv" else files.xlsx_bytes({"audit_log": frame})
        return _downloaded(body, fmt, f"bsol-audit-log.{fmt}")
