"""gunicorn reads this file from the working directory (`gunicorn app:server`, README "Deploy").

Each worker renders the landing scorecard and one measure page once after it starts, on a
background thread (`app.warm_up`), so the first visitor after a deploy does not pay for the
worker's first page.
"""


def post_worker_init(worker: object) -> None:
    import app

    app.warm_up_in_background(app.default_app())
