"""The app's pages as data: one record per page gives its route, title, navigation label and layout.

The shell's navigation list and Dash's page registry both derive from PAGES, so adding a page is
one record here plus its layout module (and its callbacks). A page whose layout needs data (the
pre/post page lists the INT teams) names it in `needs`; the app supplies it at request time, so
layouts never read the database themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dash

from layouts import about, data_page, home, inequalities, locality, measure, not_found, prepost

SUFFIX = " | BSol outcomes dashboard"


@dataclass(frozen=True)
class Page:
    key: str
    name: str
    layout: Callable[..., Any]
    path: str | None = None
    path_template: str | None = None
    title: str | Callable[..., str] | None = None  # default: name + SUFFIX
    nav: str | None = None  # label in the main navigation; None = not listed
    needs: tuple[str, ...] = ()  # keyword arguments the layout takes from the app's data providers


PAGES: tuple[Page, ...] = (
    Page("home", "Scorecard", home.layout, path="/", nav="Scorecard"),
    Page("measure", "Measure", measure.layout, path_template="/measure/<indicator_id>", title=measure.title),
    Page("locality", "Locality", locality.layout, path="/locality", nav="Locality"),
    Page("inequalities", "Inequalities", inequalities.layout, path="/inequalities", nav="Inequalities"),
    Page("prepost", "Pre/post INT", prepost.layout, path="/pre-post", title="Pre/post INT analysis" + SUFFIX,
         nav="Pre/post INT", needs=("teams", "configured_window")),
    Page("data", "Data", data_page.layout, path="/data", title="Data and quality" + SUFFIX, nav="Data"),
    Page("about", "About", about.layout, path="/about", title="About the measures" + SUFFIX,
         nav="About the measures"),
    Page("not_found_404", "Not found", not_found.layout, path="/404", title="Page not found" + SUFFIX),
)

# (key, path, label) of every page in the main navigation, in order
NAV_ITEMS: tuple[tuple[str, str, str], ...] = tuple(
    (p.key, p.path or "", p.nav) for p in PAGES if p.nav is not None)


def _with_data(page: Page, providers: Mapping[str, Callable[[], Any]]) -> Callable[..., Any]:
    if not page.needs:
        return page.layout
    missing = [n for n in page.needs if n not in providers]
    if missing:
        raise ValueError(f"page {page.key!r} needs data {missing} that the app does not provide")

    def layout(**query: str) -> Any:
        return page.layout(**{**query, **{n: providers[n]() for n in page.needs}})

    return layout


def register_pages(providers: Mapping[str, Callable[[], Any]]) -> None:
    """Register every page with Dash; `providers` name -> zero-argument function giving that data.

    Dash's page registry is one per process and the providers read the serving app's data, so the
    pages are registered once: a second app built in the same process shares them."""
    if all(page.key in dash.page_registry for page in PAGES):
        return
    for page in PAGES:
        route = {"path": page.path} if page.path is not None else {"path_template": page.path_template}
        dash.register_page(page.key, name=page.name, title=page.title or page.name + SUFFIX,
                           layout=_with_data(page, providers), **route)
