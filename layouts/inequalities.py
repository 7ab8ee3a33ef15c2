"""Inequalities page: indicators x IMD quintile and indicators x ethnic group."""

from __future__ import annotations

import pandas as pd
from dash import html

from layouts import components, grids, ids, views
from layouts import filters as flt
from metrics import dimensions
from metrics.catalogue import INDICATORS
from metrics.disclosure import DisclosurePolicy

SHORT_IMD = {label: label.replace("(", "").replace(")", "") for label in dimensions.IMD_GROUPS if "(" in label}


def layout(**query: str) -> html.Div:
    f = flt.parse(query)
    return components.filtered_page(
        "inequalities", "Inequalities",
        "Every indicator by deprivation quintile and ethnic group, for the latest period, "
        "compared with the overall value for the area.", f, "/inequalities", ids.INEQ_CONTENT)


def content(frame: pd.DataFrame, f: flt.Filters, *, policy: DisclosurePolicy) -> html.Div:
    here = flt.GEOGRAPHY_LABELS[f.locality]
    bench = frame[frame.breakdown == "none"]
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type}, flt.CARRIED)
    with_breakdowns = [i for i in INDICATORS if i.breakdowns]
    imd = views.matrix(frame[frame.breakdown == "imd_quintile"], bench, with_breakdowns, f.period_type, "group")
    eth = views.matrix(frame[frame.breakdown == "ethnicity"], bench, with_breakdowns, f.period_type, "group")
    skipped = [i.title for i in INDICATORS if not i.breakdowns]
    return html.Div([
        grids.legend(here),
        html.Section([html.H2("By deprivation (IMD 2019 quintile)"),
                      grids.grid_table(imd, views.IMD_ORDER, f"Indicators by IMD quintile, {here}", here, search,
                                       SHORT_IMD)], className="panel"),
        html.Section([html.H2("By ethnic group"),
                      grids.grid_table(eth, views.ETHNIC_ORDER, f"Indicators by ethnic group, {here}", here, search)],
                     className="panel"),
        html.P("Not broken down (practice-level sources): " + "; ".join(skipped) + ".", className="muted small"),
        components.suppression_legend(policy),
    ])
