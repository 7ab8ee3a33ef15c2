"""Every component id the pages and callbacks share (one place, so they cannot drift)."""

from __future__ import annotations

# Shell
URL = "url"
NAV = "nav-link"  # pattern: {"type": NAV, "page": <page key>}
RESET = "reset-filters"
MAIN = "main-content"

# Filters: pattern {"type": FILTER, "name": <locality|period_type|period|breakdown>}
FILTER = "filter"


def nav(page: str) -> dict[str, str]:
    return {"type": NAV, "page": page}


def filter_id(name: str) -> dict[str, str]:
    return {"type": FILTER, "name": name}


# Page content regions (filled by each page's callback)
HOME_CONTENT = "home-content"
HOME_STATUS = "home-status"  # {"status": "<variation>.<assurance>" or "", "sort": "status" or ""} from the URL
MDC_CELL = "mdc-cell"  # pattern {"type": MDC_CELL, "cell": "<variation>.<assurance>"}: summary matrix links
MEASURE_ID = "measure-indicator-id"
MEASURE_CONTENT = "measure-content"
MEASURE_DOWNLOADS = "measure-downloads"
LOCALITY_CONTENT = "locality-content"
ALL_NEIGHBOURHOODS_BUTTON = "all-neighbourhoods-button"  # the overview's rug of every neighbourhood, on demand
ALL_NEIGHBOURHOODS = "all-neighbourhoods"
INEQ_CONTENT = "inequalities-content"
DATA_CONTENT = "data-content"
PACK_BUTTON = "pack-button"
PACK_DOWNLOAD = "pack-download"
PACK_STATUS = "pack-status"
PREPOST_CONTENT = "prepost-content"
PREPOST_DID = "prepost-did-content"
PREPOST_PROFILE = "prepost-profile-content"
# The pre/post page's own filters use filter_id("team" | "cohort" | "window"), so they live in the URL too.

# Measure page: the period the content shows (written with the content), the section below the
# fold (rendered when scrolled to: assets/lazy.js clicks the hidden trigger), and tables behind
# charts rendered on demand (pattern ids {"type": TABLE_*, "section": <views.SECTIONS key | "all">,
# "period": <period>}).
MEASURE_VIEW = "measure-view"
MEASURE_BELOW = "measure-below"
MEASURE_BELOW_TRIGGER = "measure-below-trigger"
TABLE_OPEN = "table-open"
TABLE_BODY = "table-body"
TABLE_PREV = "table-prev"
TABLE_NEXT = "table-next"
TABLE_PAGE = "table-page"


def table_id(kind: str, section: str, period: str) -> dict[str, str]:
    return {"type": kind, "section": section, "period": period}
