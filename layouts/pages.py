"""The app's pages, registered from one list."""

from __future__ import annotations

import dash

from layouts import about, data_page, home, inequalities, locality, measure, not_found, prepost

SUFFIX = " | BSol outcomes dashboard"


def register_pages() -> None:
    dash.register_page("home", path="/", name="Scorecard", title="Scorecard" + SUFFIX, layout=home.layout)
    dash.register_page("measure", path_template="/measure/<indicator_id>", name="Measure",
                       title=measure.title, layout=measure.layout)
    dash.register_page("locality", path="/locality", name="Locality", title="Locality" + SUFFIX,
                       layout=locality.layout)
    dash.register_page("inequalities", path="/inequalities", name="Inequalities", title="Inequalities" + SUFFIX,
                       layout=inequalities.layout)
    dash.register_page("prepost", path="/pre-post", name="Pre/post INT", title="Pre/post INT analysis" + SUFFIX,
                       layout=prepost.layout)
    dash.register_page("data", path="/data", name="Data", title="Data and quality" + SUFFIX, layout=data_page.layout)
    dash.register_page("about", path="/about", name="About", title="About the measures" + SUFFIX,
                       layout=about.layout)
    dash.register_page("not_found_404", path="/404", name="Not found", title="Page not found" + SUFFIX,
                       layout=not_found.layout)
