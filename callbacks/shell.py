"""Shell callbacks: filters <-> URL query string, and navigation links that carry the filters."""

from __future__ import annotations

from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from callbacks import data
from layouts import filters as flt
from layouts import ids, shell
from layouts.pages import NAV_ITEMS
from metrics import disclosure


def _stale() -> str | None:
    try:
        return data.stale_results()
    except Exception:  # no readable database yet: the pages say so themselves
        return None


def frame() -> html.Div:
    """The shell for this request (app.layout): the demo banner follows the data loaded now."""
    try:
        demo = data.is_demo()
    except Exception:  # no readable database yet: the pages say so themselves
        demo = False
    return shell.layout(demo=demo, rule_text=disclosure.describe(data.policy()), problem=_stale())


@callback(Output(ids.URL, "search"),
          Input({"type": ids.FILTER, "name": ALL}, "value"), State(ids.URL, "search"),
          prevent_initial_call=True)
def filters_to_url(values: list[str | None], search: str | None) -> str:
    """Write the page's filters into the address bar (no reload), so any view is a shareable link."""
    names = [item["id"]["name"] for item in ctx.inputs_list[0]]
    current: dict[str, object] = dict(flt.parse_search(search))
    current.update(zip(names, values, strict=True))
    new = flt.to_search(current)
    return new if new != (search or "") else no_update


@callback(Output({"type": ids.NAV, "page": ALL}, "href"), Output({"type": ids.NAV, "page": ALL}, "className"),
          Input(ids.URL, "search"), Input(ids.URL, "pathname"))
def nav_links(search: str | None, pathname: str | None) -> tuple[list[str], list[str]]:
    """Navigation links carry the locality/period type/breakdown; the current section is marked."""
    carried = flt.carried_search(search)
    path = pathname or "/"
    hrefs, classes = [], []
    for _key, target, _label in NAV_ITEMS:
        hrefs.append(target + carried)
        active = path == target or (target == "/" and path.startswith("/measure/"))
        classes.append("nav-link active" if active else "nav-link")
    return hrefs, classes
