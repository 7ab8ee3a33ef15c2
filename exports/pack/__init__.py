"""Committee packs: one .xlsx that a committee secretary can circulate unchanged.

Layout follows the Analysis Function guidance "Releasing statistics in spreadsheets": a cover
sheet, a contents sheet with links, a notes sheet, then one table per sheet region with its title
in column A, no merged cells, no hidden data, no blank cells inside tables (shorthand instead:
``[c]`` confidential / suppressed, ``[x]`` not available, ``[z]`` not applicable).

Parts (this package re-exports the public names, so ``from exports import pack`` keeps working):
periods (scopes and period labels; pure), sheet (the cell/table framework), figures (which symbol
a figure gets), data (every read, through the disclosure rule), sheets (the eight kinds of sheet),
workbook (assembly: build_workbook, build_pack, write_pack).

Why aggregate only: the pack reads ``measure_result`` (already aggregated), ``prepost_result``,
``load_log``, ``dataset_info`` and the practice reference table; it never reads patient rows.
Every indicator figure passes ``metrics.results.for_display`` (the one disclosure rule) before it
is written, so the pack cannot disagree with the app.

Formula injection: any text cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or tab / CR)
is written as a plain string prefixed with an apostrophe, e.g. ``'=HYPERLINK(...)``. openpyxl then
stores a string cell (``data_type == "s"``; never an ``<f>`` formula element), Excel and LibreOffice
show the text with a visible apostrophe (a signal that the value was neutralised), reading the file
back gives a string that does not start with ``=``, and if someone edits the cell Excel takes the
leading apostrophe as its own "treat as text" prefix, so the value stays inert. This is the OWASP
"CSV injection" recommendation applied to xlsx.
"""


from exports.files import neutralise
from exports.pack.data import PackData, read_pack_data, resolve_period
from exports.pack.periods import (
           LOCALITY_PACKS,
           LONDON,
           PLACES,
           SCOPES,
           PackPeriod,
           Scope,
           get_scope,
           pack_filename,
           parse_period,
)
from exports.pack.sheet import NOT_APPLICABLE, NOT_AVAILABLE, SUPPRESSED
from exports.pack.workbook import build_pack, build_workbook, write_pack

__all__ = ["PLACES", "LOCALITY_PACKS", "LONDON", "SCOPES", "PackData", "PackPeriod", "Scope", "build_pack",
           "build_workbook", "get_scope", "write_pack", "resolve_period", "parse_period", "pack_filename",
           "neutralise", "read_pack_data", "SUPPRESSED", "NOT_AVAILABLE", "NOT_APPLICABLE"]
