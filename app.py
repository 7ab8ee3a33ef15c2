"""BSol Community Care Collaborative outcomes dashboard: the Dash app and its command line.

`python app.py` builds the synthetic demo database (BSOL_DEMO_SIZE, default full: BSol's 1.7 million
people, so every locality's quarterly figures are values rather than [c]) when no data is loaded, then serves.
`flask --app app <command>` runs the command line (demo, load, measures, prepost, pack, ...).
`gunicorn app:server` serves the WSGI app.

Nothing is built at import: `create_app(settings)` builds an app (tests build one per data folder),
and the module attributes `app`, `server` and `application` (the names Dash, gunicorn and Flask's
CLI look for) are the default app from the environment's settings, built on first use.
"""

from __future__ import annotations

import time

from dash import Dash

import access
import auth
import cli
from caching import init_caches, init_response_cache
from callbacks import data
from callbacks.faults import on_callback_error
from data_loaders.settings import Settings, load_settings
from layouts import ids
from metrics.disclosure import DisclosurePolicy

CACHED_PAGE_OUTPUTS = frozenset({
    ids.HOME_CONTENT, ids.MEASURE_CONTENT, ids.MEASURE_VIEW, ids.FILTER, ids.MEASURE_BELOW,
    ids.TABLE_BODY, ids.TABLE_PREV, ids.TABLE_NEXT, ids.TABLE_PAGE, ids.LOCALITY_CONTENT, ids.ALL_NEIGHBOURHOODS,
    ids.INEQ_CONTENT, ids.PREPOST_CONTENT, ids.PREPOST_DID, ids.PREPOST_PROFILE,
})
"""Page callbacks whose answers the response cache keeps (caching.py): disclosure-controlled page
output that depends on nothing but the request, the role and the data. Not the Data page (the
load and audit logs change without a new data version) or the pack download. ids.FILTER: the
period and team choices, which come from the data."""


def create_app(settings: Settings | None = None) -> Dash:
    """A new app serving `settings` (default: read from the environment now)."""
    settings = settings if settings is not None else load_settings()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        title="BSol outcomes dashboard",
        update_title="Loading… | BSol outcomes dashboard",
        suppress_callback_exceptions=False,
        on_error=on_callback_error,
    )
    app.server.config[data.SETTINGS_KEY] = settings
    init_caches(app.server, folder=str(settings.data_dir / "page-cache"), timeout=settings.cache_timeout)
    access.init_app(app.server, settings.auth, lambda: set(app.callback_map))
    import callbacks
    from callbacks import shell as shell_callbacks
    from layouts import pages, shell

    pages.register_pages({"teams": data.int_teams, "configured_window": data.prepost_window})
    callbacks.register(app)
    with app.server.app_context():  # Dash validates the layout now: it reads this app's settings
        app.layout = shell_callbacks.frame
    app.index_string = shell.INDEX_STRING
    from callbacks.downloads import register_routes

    register_routes(app.server)
    app.server.teardown_request(data.close_request_connection)
    app.server.before_request(data.refuse_stale_results)
    init_response_cache(app.server, path=access.DASH_CALLBACK_PATH,
                        cacheable=lambda output: all(c in CACHED_PAGE_OUTPUTS for c in access.output_components(output)),
                        key_parts=lambda: (access.current_role(), data.served_version(), data.policy().fingerprint))

    cli.register_commands(app.server)
    auth.init_app(app.server, settings.auth, settings.audit_url, app.csp_hashes)
    # Dash registers its callbacks, and its pages router adds the page-title script, on the first
    # request, but each marks itself done before it has finished: concurrent first requests in a new
    # worker then find no callbacks, or a page without the title script whose callback then fails
    # in the browser. Do both now, before any request can arrive.
    pages_router = [hook for hook in app.server.before_request_funcs.get(None, [])
                    if getattr(hook, "__name__", "") == "router_sync"]
    if len(pages_router) != 1:
        raise RuntimeError("Dash's pages router hook was not found: check the pinned Dash version")
    with app.server.test_request_context("/") as context:
        context.request.environ[access.IDENTITY_KEY] = None  # nobody: the layout is only validated
        app._setup_server()
        pages_router[0]()
    return app


_default: list[Dash] = []


def default_app() -> Dash:
    """The app from the environment's settings, built once on first use (WSGI, CLI, `python app.py`)."""
    if not _default:
        _default.append(create_app())
    return _default[0]


def __getattr__(name: str) -> object:
    """`app`, `server` and `application` are built on first use, not at import (PEP 562)."""
    if name == "app":
        return default_app()
    if name in ("server", "application"):
        return default_app().server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warm_up(app: Dash) -> None:
    """Render the landing scorecard and one measure page once, in this process, before anyone asks.

    Why: a fresh server process pays for its first page once (lazy imports, Plotly's figure
    validators, the first database connection and query plans): about half a second on the
    full-size demo, which put the first measure page opened after a start over 1.5 s. Output is
    discarded (nothing leaves the server); any failure (no data yet, a load in progress) is only
    logged: the real request then simply pays the cost itself.
    """
    from callbacks import home, measure
    from metrics.catalogue import INDICATORS

    try:
        with app.server.test_request_context("/"):
            if data.has_results():
                home.update_scorecard("BSol", None)
                ind = INDICATORS[0]
                measure.update_measure("BSol", ind.frequency[0], "latest", "sex", ind.id)
    except Exception:  # a warm-up must never stop the server
        app.server.logger.info("warm-up skipped", exc_info=True)


def warm_up_in_background(app: Dash) -> None:
    """``warm_up`` on a daemon thread: the server accepts requests at once."""
    import threading

    threading.Thread(target=warm_up, args=(app,), name="bsol-warm-up", daemon=True).start()


BUILD_HINT = {"small": "30,000 people, about 15 seconds", "medium": "500,000 people, about a minute and 2.4 GB of memory",
              "full": "1.7 million people, about two and a half minutes and 3.7 GB of memory"}
"""What a newcomer is told while the demo builds (measured: docs/performance.md)."""


def main() -> None:
    from data_loaders.db import database_exists
    from metrics.pipeline import build_demo

    settings = load_settings()
    if not database_exists(settings.database_url):
        started = time.perf_counter()
        print(f"No data loaded yet: building the {settings.demo_size} synthetic demo dataset once into "
              f"{settings.database_url} ({BUILD_HINT.get(settings.demo_size, '')}; BSOL_DEMO_SIZE=small|medium|full "
              "chooses; later starts reuse it)…", flush=True)
        build_demo(settings.database_url, size=settings.demo_size,
                   progress=lambda m: print(f"  [{time.perf_counter() - started:6.1f} s] {m}", flush=True),
                   prepost_window=settings.prepost_window_months, policy=DisclosurePolicy.from_settings(settings))
        print(f"Demo built in {time.perf_counter() - started:.0f} s.", flush=True)
    print(f"Serving on http://{settings.host}:{settings.port}/", flush=True)
    app = create_app(settings)
    warm_up_in_background(app)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)


if __name__ == "__main__":
    main()
