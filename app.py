"""BSol Community Care Collaborative outcomes dashboard: the Dash app and its command line.

`python app.py` builds the small synthetic demo database when no data is loaded, then serves.
`flask --app app <command>` runs the command line (demo, load, measures, prepost, pack, ...).
"""

from __future__ import annotations

from dash import Dash

import access
import auth
import cli
from caching import cache
from callbacks.faults import on_callback_error
from data_loaders.settings import load_settings


def create_app() -> Dash:
    settings = load_settings()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        title="BSol outcomes dashboard",
        update_title="Loading… | BSol outcomes dashboard",
        suppress_callback_exceptions=False,
        on_error=on_callback_error,
    )
    cache.init_app(app.server, config={"CACHE_TYPE": "SimpleCache",
                                       "CACHE_DEFAULT_TIMEOUT": settings.cache_timeout})
    access.init_app(app.server, settings.auth, lambda: set(app.callback_map))
    import callbacks  # noqa: F401  (registers every page's callbacks)
    from callbacks import data
    from callbacks import shell as shell_callbacks
    from layouts import pages, shell

    pages.register_pages({"teams": data.int_teams})
    app.layout = shell_callbacks.frame
    app.index_string = shell.INDEX_STRING
    from callbacks.downloads import register_routes

    register_routes(app.server)
    app.server.teardown_request(data.close_request_connection)

    cli.register_commands(app.server)
    auth.init_app(app.server, settings.auth, settings.audit_url, app.csp_hashes)
    # Dash registers its callbacks on the first request, but marks itself set up before it has
    # finished: concurrent first requests in a new worker then find no callbacks. Set up now.
    with app.server.test_request_context("/") as context:
        context.request.environ[access.IDENTITY_KEY] = None  # nobody: the layout is only validated
        app._setup_server()
    return app


app = create_app()
server = app.server


def main() -> None:
    from data_loaders.db import database_exists
    from metrics.pipeline import build_demo

    settings = load_settings()
    if not database_exists(settings.database_url):
        print(f"No data loaded yet: building the {settings.demo_size} synthetic demo dataset…", flush=True)
        build_demo(settings.database_url, size=settings.demo_size, progress=lambda m: print(f"  {m}", flush=True))
    print(f"Serving on http://{settings.host}:{settings.port}/", flush=True)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)


if __name__ == "__main__":
    main()
