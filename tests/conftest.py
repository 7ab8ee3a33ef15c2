"""Shared fixtures.

Databases
    db_url     function-scoped, parametrised ["duckdb", "postgresql"]: a fresh, empty database
               per test. duckdb -> duckdb:///<tmp_path>/test.duckdb; postgresql -> a new
               database t_<uuid> on the session server (dropped afterwards). The postgresql
               variant carries the `postgres` marker. One backend only:
               @pytest.mark.parametrize("db_url", ["duckdb"], indirect=True)
    db_engine  a SQLAlchemy engine on db_url, disposed afterwards.
    demo_db    session-scoped path of the small synthetic demo, built ONCE per run (by whichever
               pytest-xdist worker asks first; each worker gets its own copy) through the
               real command line (`flask demo --size small --end DEMO_END`): date-pinned, so
               every test sees the same data whatever today's date. Read it, or copy_db() it.
    kat_db     session-scoped path of the hand-built known-answer DuckDB database
               (tests/kat_db.py), built once per run. Read it, or copy it.
    template_db  session-scoped: template_db(backend, key, build) -> URL of a database that
               build(url) filled once per run and backend ("duckdb" | "postgresql"; DuckDB files
               are built once for all workers, PostgreSQL ones once per worker's server). A key
               names one build: the same key must always mean the same build(url).
    copy_db    copy_db(url) -> url of a private copy (DuckDB: the file; PostgreSQL: CREATE
               DATABASE ... TEMPLATE), so a test that writes never rebuilds a shared database.
    pg_url     session-scoped URL of the admin database of a REAL PostgreSQL server: a
               throwaway server (tests/pg_server.py), or $BSOL_TEST_PG_URL if set. Missing
               binaries fail the test (never a silent skip).

Browser (dash[testing])
    dash_duo   from dash's pytest plugin (`--headless` is in pytest.ini). Tests using it get the
               `browser` marker automatically.
    screenshot callable(name) -> Path: saves the dash_duo page to test-output/<name>.png.
    A failing browser test leaves test-output/failures/<test>.png.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.pg_server import PgServer, PgUnavailable

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "test-output"
BROWSER_FIXTURES = {"dash_duo", "dash_br", "dash_duo_mp"}
DEMO_END = date(2025, 3, 31)  # the demo's data end in every test: never today's date


# --------------------------------------------------------------------------- markers
@pytest.hookimpl(trylast=True)  # after pytest has ordered the tests by their fixtures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by what they use, so `-m "not browser"` / `-m "not postgres"` just work; the
    slowest files first (see SLOWEST_FIRST)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if "pg_url" in names:
            item.add_marker(pytest.mark.postgres)
    items.sort(key=lambda item: _slowness_rank(item.nodeid.split("::")[0]))  # stable: a file keeps its order


# The files with the most work (seconds of one worker, session 7), handed out first under
# pytest-xdist (`--no-loadscope-reorder`): the longest groups start at once and the short files fill
# in around them, so both workers finish together.
SLOWEST_FIRST = ("tests/test_browser.py", "tests/test_adversary.py", "tests/test_pack.py", "tests/test_cli.py",
                 "tests/test_pages.py", "tests/test_serving.py", "tests/test_measures.py")


def _slowness_rank(path: str) -> int:
    return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)


# Under pytest-xdist a file's tests run on one worker, so its module and session fixtures are built
# once, not once per worker. A file listed here runs as one group per dataset instead (the adversary's two worlds side
# by side): the first part of the test's parameter id names it.
SPLIT_BY_DATASET = {"tests/test_adversary.py": ("demo", "tricky")}


# Files whose tests are each a group of their own: the browser tests (each serves on its worker's own
# ports, see pytest_configure) spread over the workers while the others wait on Chromium.
SPLIT_BY_TEST = {"tests/test_browser.py"}


def xdist_group_of(nodeid: str) -> str:
    """The group (a file, a file's dataset, or one test) a test runs in under pytest-xdist."""
    path = nodeid.split("::")[0]
    if path in SPLIT_BY_TEST:
        return nodeid
    params = nodeid.rsplit("[", 1)[1].rstrip("]") if nodeid.endswith("]") else ""
    dataset = params.split("-")[0]
    return f"{path}[{dataset}]" if dataset in SPLIT_BY_DATASET.get(path, ()) else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Groups as ``xdist_group_of`` says. Why not ``--dist=loadgroup``: pytest-xdist 3.8 marks a
    group by rewriting ``Item._nodeid``, which pytest 9 no longer reads, so every test ran alone."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker serves its dash_duo apps on ports of its own. dash[testing] numbers
    them from one class-wide counter (58050, 58051, ...) that starts at the same port in every
    worker process, so two workers' browser tests would otherwise serve on one port at once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        from dash.testing.application_runners import BaseDashRunner

        BaseDashRunner._next_port = 58050 + 200 * (1 + int(worker[2:]))


# --------------------------------------------------------------------------- PostgreSQL
def _fail_no_postgres(reason: str) -> None:
    where = "CI" if os.environ.get("CI") else "this machine"
    pytest.fail(f"PostgreSQL tests cannot run on {where}: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL (postgresql+psycopg://...) of a live PostgreSQL server's admin database."""
    external = os.environ.get("BSOL_TEST_PG_URL")
    if external:
        yield external
        return
    try:
        server = PgServer().start()
    except PgUnavailable as e:
        error = str(e)
    else:
        error = ""
    if error:  # outside the except block: no chained traceback noise
        _fail_no_postgres(error)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _pg_admin(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    error = ""
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as e:
        error = f"cannot connect to {pg_url}: {e}"
    if error:
        _fail_no_postgres(error)
    yield engine
    engine.dispose()


@pytest.fixture
def _pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the session server; dropped (connections forced out) afterwards."""
    admin: sa.Engine = request.getfixturevalue("_pg_admin")
    name = f"t_{uuid.uuid4().hex}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TemplateDb = Callable[[str, str, Callable[[str], None]], str]  # the template_db fixture
BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLAlchemy URL of a fresh, empty database: DuckDB file or PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'test.duckdb'}"
    if request.param == "postgresql":
        return request.getfixturevalue("_pg_database")
    raise ValueError(f"unknown db_url backend {request.param!r}")


@pytest.fixture
def db_engine(db_url: str) -> Iterator[sa.Engine]:
    from data_loaders.dialect import make_engine

    engine = make_engine(db_url)  # a writer of the file itself: it takes it back from this process's readers
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- shared databases
def duckdb_url(path: Path) -> str:
    return f"duckdb:///{path}"


def _run_root(factory: pytest.TempPathFactory) -> Path:
    """The folder this whole run shares: under pytest-xdist each worker's basetemp is inside it."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(factory: pytest.TempPathFactory, key: str, build: Callable[[Path], None]) -> Path:
    """A folder that build(folder) filled once in this run, whichever worker asked first.

    The other workers wait on a lock for it rather than building their own. Callers copy what they
    need out of it (a DuckDB file opened for writing by one process locks out the others)."""
    root = _run_root(factory)
    folder = root / f"once-{key}"
    with open(root / f"once-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build() fails
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


def _private_copy(factory: pytest.TempPathFactory, folder: Path, name: str) -> Path:
    """This worker's own copy of a database built once per run."""
    target = factory.mktemp(name) / "bsol.duckdb"
    shutil.copyfile(folder / "bsol.duckdb", target)
    return target


def _build_small_demo(folder: Path) -> None:
    env = {**os.environ, "BSOL_DATA_DIR": str(folder)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "demo", "--size", "small",
                           "--end", DEMO_END.isoformat()], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "demo (small) built" in done.stdout


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo, built once per run by `flask demo` exactly as a user runs it."""
    return _private_copy(tmp_path_factory, built_once(tmp_path_factory, "demo", _build_small_demo), "demo")


@pytest.fixture(scope="session")
def kat_db(template_db: TemplateDb) -> Path:
    """The known-answer dataset (tests/kat_data.py) through the loader and a full refresh, once."""
    from tests.kat_db import build_kat_db

    return Path(sa.engine.make_url(template_db("duckdb", "kat", build_kat_db)).database or "")


@pytest.fixture
def copy_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """copy_db(url) -> URL of a private copy of that database, dropped after the test."""
    dropped: list[str] = []

    def copy(url: str) -> str:
        source = sa.engine.make_url(url)
        if source.get_backend_name() == "duckdb":
            target = tmp_path / f"copy-{uuid.uuid4().hex[:8]}.duckdb"
            shutil.copyfile(str(source.database), target)
            return duckdb_url(target)
        admin: sa.Engine = request.getfixturevalue("_pg_admin")
        name = f"t_{uuid.uuid4().hex}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
        dropped.append(name)
        return source.set(database=name).render_as_string(hide_password=False)

    yield copy
    if dropped:
        admin: sa.Engine = request.getfixturevalue("_pg_admin")
        with admin.connect() as c:
            for name in dropped:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _pg_templates(_pg_admin: sa.Engine) -> Iterator[dict[str, str]]:
    """key -> URL of a session PostgreSQL database; dropped before the server goes."""
    built: dict[str, str] = {}
    yield built
    with _pg_admin.connect() as c:
        for url in built.values():
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def template_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TemplateDb:
    """template_db(backend, key, build) -> URL of a database that build(url) filled, once per run.

    backend is "duckdb" or "postgresql". Shared by every test asking for the same key: read it,
    or copy_db() it before writing.
    """
    duck: dict[str, str] = {}

    def template(backend: str, key: str, build: Callable[[str], None]) -> str:
        if backend == "duckdb":  # built once per run, whichever worker asks first; each reads its own copy
            if key not in duck:
                folder = built_once(tmp_path_factory, f"tmpl-{key}",
                                    lambda folder: build(duckdb_url(folder / "bsol.duckdb")))
                duck[key] = duckdb_url(_private_copy(tmp_path_factory, folder, f"tmpl-{key}"))
            return duck[key]
        if backend != "postgresql":
            raise ValueError(f"unknown backend {backend!r}")
        built = request.getfixturevalue("_pg_templates")
        if key not in built:
            admin: sa.Engine = request.getfixturevalue("_pg_admin")
            name = f"tmpl_{key.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            built[f"{url} (building)"] = url  # dropped at the end even if build() fails
            build(url)
            built[key] = built.pop(f"{url} (building)")
        return built[key]

    return template


# --------------------------------------------------------------------------- the app
@contextmanager
def app_on(data_dir: Path, *, request_context: bool = True) -> Iterator[Any]:
    """A new app (`.app` the Dash app, `.server` its Flask server) serving the database in
    `data_dir` to an analyst, with a cold page cache.

    Its settings are read from an environment pointing at `data_dir`, which stays set while the
    app is used (the CLI commands, run through the server's test runner, read it at their edge)."""
    from types import SimpleNamespace

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSOL_DATA_DIR", str(data_dir))
        mp.delenv("DATABASE_URL", raising=False)
        mp.delenv("BSOL_AUDIT_URL", raising=False)
        mp.setenv("BSOL_DEFAULT_ROLE", "analyst")
        from app import create_app
        from caching import clear_caches

        dash_app = create_app()
        built = SimpleNamespace(app=dash_app, server=dash_app.server)
        with dash_app.server.app_context():
            clear_caches()
        if not request_context:
            yield built
            return
        with dash_app.server.test_request_context("/"):
            yield built
            clear_caches()


# --------------------------------------------------------------------------- browser
def pytest_setup_options():
    """Chrome options for dash[testing] (it adds --headless, --no-sandbox, ... itself)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in (
        "--window-size=1280,900",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(arg)
    return options


@pytest.fixture(autouse=True)
def _require_chromedriver(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("browser") and not shutil.which("chromedriver"):
        pytest.fail(
            "browser test needs chromium + chromedriver: run `bash scripts/setup.sh`", pytrace=False
        )


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """test-output/ at the repo root (gitignored): screenshots and other artefacts."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, output_dir: Path) -> Callable[[str], Path]:
    def take(name: str) -> Path:
        duo = request.getfixturevalue("dash_duo")
        path = output_dir / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not duo.driver.save_screenshot(str(path)):
            raise RuntimeError(f"screenshot {path} failed")
        return path

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        for name in BROWSER_FIXTURES & funcargs.keys():
            try:
                target = OUTPUT_DIR / "failures" / (re.sub(r"[^\w.-]+", "_", item.name) + ".png")
                target.parent.mkdir(parents=True, exist_ok=True)
                funcargs[name].driver.save_screenshot(str(target))
                report.sections.append(("failure screenshot", str(target)))
            except Exception as e:  # the browser may be gone; never mask the real failure
                report.sections.append(("failure screenshot", f"not taken: {e}"))
    return report
