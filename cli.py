"""Command line, registered on the Dash app's Flask server: `flask --app app <command>`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask

from data_loaders.demo import DEMO_SIZES
from exports.pack import LOCALITY_PACKS, PLACES


def _echo_progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


def _echo_findings(url: str) -> None:
    """Rows kept but counted as data-quality findings (the Data page shows the same table)."""
    from data_loaders.db import read_engine
    from data_loaders.integrity import findings

    with read_engine(url).connect() as conn:
        found = [f for f in findings(conn) if f.count]
    if found:
        click.echo("Kept and counted on the Data page's data-quality table:")
    for f in found:
        click.echo(f"  {f.extract}.{f.column}: {f.count:,} of {f.total:,} {f.label}")


def audit(action: str, detail: dict[str, object], user: str | None = None, role: str = "cli") -> None:
    """Record a command in the audit log (default: the operating-system user who ran it, role `cli`)."""
    import getpass

    from data_loaders.audit import record
    from data_loaders.settings import load_settings

    record(load_settings().audit_url, user or getpass.getuser(), role, action, detail)


EXACT_REFUSED = ("--exact writes exact (undisclosed) values and is for data managers: pass --as USERNAME "
                 "(a data_manager account of `flask --app app user add`; the password is asked for, or read "
                 "with --password-stdin), or, where shell access itself is restricted to data managers, set "
                 "BSOL_CLI_ROLE=data_manager for this deployment.")


def exact_identity(what: str, as_user: str | None, password_stdin: bool) -> tuple[str, str]:
    """(user, role) allowed to write exact values, or exit 2 with a clear message (audited either way).

    Why: shell access is not data-manager access. An identity with the data_manager role is needed:
    a password account checked against the user store, or a deployment's BSOL_CLI_ROLE.
    """
    import getpass

    from data_loaders.accounts import verify
    from data_loaders.settings import load_settings

    settings = load_settings()
    if as_user:
        password = (sys.stdin.readline().rstrip("\r\n") if password_stdin
                    else click.prompt(f"Password for {as_user}", hide_input=True, err=True))
        account = verify(settings.audit_url, as_user, password)
        if account is not None and account.role == "data_manager":
            return account.username, account.role
        reason = "wrong password, unknown or disabled account" if account is None else f"role {account.role}"
        audit("export_exact_refused", {"what": what, "as": as_user, "reason": reason})
        click.echo(f"Refused: {as_user!r} is not a data manager ({reason}). {EXACT_REFUSED}", err=True)
        sys.exit(2)
    if settings.cli_role == "data_manager":
        return getpass.getuser(), "cli:data_manager"
    audit("export_exact_refused", {"what": what, "reason": f"no identity (BSOL_CLI_ROLE={settings.cli_role or ''})"})
    click.echo(f"Refused: {EXACT_REFUSED}", err=True)
    sys.exit(2)


def policy_of(settings: object):  # type: ignore[no-untyped-def]
    """The disclosure policy, resolved once from the settings at this edge and passed down."""
    from metrics.disclosure import DisclosurePolicy

    return DisclosurePolicy.from_settings(settings)


def refuse_stale(conn, settings: object) -> None:  # type: ignore[no-untyped-def]
    """Exit 2 if the stored suppression flags were worked out under another policy (run refresh)."""
    from data_loaders.db import read_dataset_info
    from metrics.disclosure import stale_policy

    problem = stale_policy(read_dataset_info(conn), policy_of(settings))
    if problem:
        click.echo(problem, err=True)
        sys.exit(2)


def exact_options(command):  # type: ignore[no-untyped-def]
    """--exact, --as and --password-stdin, shared by every command that can write exact values."""
    command = click.option("--password-stdin", is_flag=True, help="Read the --as account's password from stdin.")(command)
    command = click.option("--as", "as_user", default=None, metavar="USERNAME",
                           help="A data_manager account (password store) to authorise --exact.")(command)
    return click.option("--exact", is_flag=True, help="Write exact values (data managers only: needs --as or "
                        "BSOL_CLI_ROLE=data_manager; default applies disclosure control).")(command)


def register_commands(server: Flask) -> None:
    @server.cli.command("demo")
    @click.option("--size", type=click.Choice(DEMO_SIZES), default="small", show_default=True)
    @click.option("--seed", type=int, default=20240626, show_default=True)
    @click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="Last day of data (default: end of the latest complete month).")
    @click.option("--write-extracts", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Also write the generated extracts as CSV files to this folder.")
    def demo_command(size: str, seed: int, end, write_extracts: Path | None) -> None:
        """Build the synthetic BSol demo database (replaces all data)."""
        from data_loaders.settings import load_settings
        from metrics.pipeline import build_demo

        settings = load_settings()
        end_date = end.date() if end else None
        counts = build_demo(settings.database_url, size=size, seed=seed, end=end_date, progress=_echo_progress,
                            prepost_window=settings.prepost_window_months, policy=policy_of(settings))
        audit("load", {"demo": size, "seed": seed})
        if write_extracts:
            from data_loaders import demo

            demo.write_extracts(demo.generate(size=size, seed=seed, end=end_date), write_extracts)
            click.echo(f"extracts written to {write_extracts}")
        click.echo(f"demo ({size}) built: {counts.get('measure_result', 0):,} result rows "
                   f"in {settings.database_url}")

    @server.cli.command("load")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option("--extract", default=None, help="Extract name for every file (default: from file names).")
    @click.option("--data-end", "data_ends", multiple=True, metavar="EXTRACT=YYYY-MM-DD",
                  help="An extract's own data end when it lags the GP spine (repeatable; EXTRACT=none clears "
                       "an earlier declaration): its missing months are then missing, not zero.")
    def load_command(paths: tuple[Path, ...], extract: str | None, data_ends: tuple[str, ...]) -> None:
        """Validate and load extract files (CSV, XLSX, Parquet) atomically, then refresh results."""
        from data_loaders.load import parse_source_end
        from data_loaders.settings import load_settings
        from data_loaders.validate import ExtractValidationError
        from metrics.pipeline import load_and_refresh

        settings = load_settings()
        files = [str(p) for p in paths]
        try:
            source_ends = dict(parse_source_end(text) for text in data_ends)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--data-end") from None
        try:
            records = load_and_refresh(settings.database_url, files, extract=extract, data_dir=settings.data_dir,
                                       prepost_window=settings.prepost_window_months, policy=policy_of(settings),
                                       source_ends=source_ends)
        except ExtractValidationError as error:
            audit("load_rejected", {"files": files, "problems": error.total})
            click.echo(str(error), err=True)
            click.echo("Nothing was loaded: the database is unchanged.", err=True)
            sys.exit(2)
        audit("load", {"files": [{"file": r.file_name, "extract": r.extract, "rows": r.rows, "sha256": r.sha256}
                                 for r in records]})
        for r in records:
            click.echo(f"loaded {r.rows:,} rows into {r.extract} from {r.file_name}")
        _echo_findings(settings.database_url)

    @server.cli.command("measures")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @exact_options
    def measures_command(out: Path, exact: bool, as_user: str | None, password_stdin: bool) -> None:
        """Write the results table (one row per indicator, period, geography, breakdown, group)."""
        from data_loaders.db import database_exists, read_engine
        from data_loaders.settings import load_settings
        from exports.files import csv_bytes, write_bytes
        from metrics.results import for_display, read_results

        who = exact_identity("measures", as_user, password_stdin) if exact else (None, "cli")
        settings = load_settings()
        url = settings.database_url
        if not database_exists(url):
            click.echo("No data loaded: run `flask --app app demo` or `flask --app app load ...` first.", err=True)
            sys.exit(1)
        with read_engine(url).connect() as conn:
            if not exact:
                refuse_stale(conn, settings)
            frame = read_results(conn)
        if not exact:
            frame = for_display(frame, policy_of(settings))
        write_bytes(out, csv_bytes(frame))
        audit("export_exact" if exact else "export", {"what": "measures", "out": str(out), "rows": len(frame)}, *who)
        click.echo(f"wrote {len(frame):,} rows to {out}")

    @server.cli.command("pack")
    @click.option("--place", type=click.Choice([*PLACES, *LOCALITY_PACKS], case_sensitive=False),
                  default="bsol", show_default=True,
                  help="Whose committee the pack is for: BSol, a Place, or a locality (its LDP).")
    @click.option("--period", default=None,
                  help="Financial year (2024-25), quarter ('2024-25 Q2') or month (2024-06); "
                       "default: the latest complete quarter.")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Output .xlsx file (default: bsol-outcomes-pack-<place>-<period>.xlsx here).")
    def pack_command(place: str, period: str | None, out: Path | None) -> None:
        """Write the Excel committee pack (disclosure control applied; aggregates only)."""
        import time

        from data_loaders.db import database_exists, read_engine
        from data_loaders.settings import load_settings
        from exports.pack import pack_filename, resolve_period, write_pack

        settings = load_settings()
        url = settings.database_url
        if not database_exists(url):
            click.echo("No data loaded: run `flask --app app demo` or `flask --app app load ...` first.", err=True)
            sys.exit(1)
        started = time.perf_counter()
        with read_engine(url).connect() as conn:
            refuse_stale(conn, settings)
            try:
                resolved = resolve_period(conn, period)
            except ValueError as error:
                click.echo(str(error), err=True)
                sys.exit(2)
            target = out or Path(pack_filename(place, resolved))
            write_pack(conn, place, resolved.label, target, rule=policy_of(settings),
                       prepost_window=settings.prepost_window_months)
        audit("pack", {"place": place, "period": resolved.label, "out": str(target)})
        click.echo(f"wrote {target} ({place}, {resolved.label}) in {time.perf_counter() - started:.1f}s")

    @server.cli.command("prepost")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @click.option("--window-months", type=click.IntRange(min=1), default=None,
                  help="Window length before and after the index date (default: BSOL_PREPOST_MONTHS, 6).")
    @click.option("--cohort", type=click.Choice(["pilot", "all"]), default="pilot", show_default=True,
                  help="pilot = index dates Oct-Dec 2023 (the Implementation Plan's table); all = every eligible person.")
    @click.option("--layout", type=click.Choice(["plan", "tidy"]), default="plan", show_default=True,
                  help="plan = the plan's rows (pre/post/variance per INT); tidy = one row per team x activity with rates, rate ratios and the comparison cohort.")
    @exact_options
    def prepost_command(out: Path, window_months: int | None, cohort: str, layout: str, exact: bool,
                        as_user: str | None, password_stdin: bool) -> None:
        """Write the pre/post INT activity table (docs/prepost.md)."""
        import pandas as pd

        from data_loaders.db import database_exists, read_engine
        from data_loaders.settings import load_settings
        from exports.files import csv_bytes, write_bytes
        from metrics import prepost

        who = exact_identity("prepost", as_user, password_stdin) if exact else (None, "cli")
        settings = load_settings()
        url = settings.database_url
        if not database_exists(url):
            click.echo("No data loaded: run `flask --app app demo` or `flask --app app load ...` first.", err=True)
            sys.exit(1)
        window = window_months or settings.prepost_window_months
        with read_engine(url).connect() as conn:
            if not exact:
                refuse_stale(conn, settings)
            frame = prepost.read_prepost(conn, cohort, window)
            if frame.empty:  # a window that is not stored: compute it now (no comparison cohort)
                frame = prepost.compute_preset(conn, cohort, window, with_did=False)
        if frame.empty:
            click.echo(f"No one is eligible for the {cohort} cohort with a {window}-month window.", err=True)
            sys.exit(1)
        if not exact:
            frame = prepost.for_display(frame, policy_of(settings))
        if layout == "plan":
            frame = prepost.plan_layout(frame)
            for col in prepost.ACTIVITY_LABELS.values():
                frame[col] = [("[c]" if pd.isna(v) else f"{v:.0f}") for v in frame[col]]
        write_bytes(out, csv_bytes(frame))
        audit("export_exact" if exact else "export", {"what": "prepost", "out": str(out), "rows": len(frame),
                                                      "cohort": cohort, "window": window, "layout": layout}, *who)
        click.echo(f"wrote {len(frame):,} rows to {out} ({cohort}, {window} months, "
                   f"{'exact' if exact else 'disclosure control applied'})")

    @server.cli.command("refresh")
    def refresh_command() -> None:
        """Recompute every stored result from the loaded data."""
        from data_loaders.db import write_transaction
        from data_loaders.settings import load_settings
        from metrics.pipeline import refresh_all

        settings = load_settings()
        with write_transaction(settings.database_url) as conn:
            counts = refresh_all(conn, progress=_echo_progress, prepost_window=settings.prepost_window_months,
                                 policy=policy_of(settings))
        click.echo(f"refreshed: {counts}")

    @server.cli.group("db")
    def db_group() -> None:
        """Schema migrations (Alembic) of the stored tables; every load and refresh also runs them."""

    @db_group.command("upgrade")
    def db_upgrade() -> None:
        """Upgrade the stored tables and the audit tables to the newest revision, keeping their rows."""
        from data_loaders import migrate
        from data_loaders.audit import audit_engine
        from data_loaders.db import read_engine, write_transaction
        from data_loaders.settings import load_settings

        settings = load_settings()
        with write_transaction(settings.database_url):  # upgrades first, atomically
            pass
        with audit_engine(settings.audit_url).begin() as conn:
            migrate.upgrade(conn, "audit")
            audit_rev = migrate.current(conn, "audit")
        with read_engine(settings.database_url).connect() as conn:
            click.echo(f"stored tables at {migrate.current(conn, 'stored')}; audit tables at {audit_rev}")

    @server.cli.group("user")
    def user_group() -> None:
        """Local accounts for AUTH_MODE=password (kept beside the audit log)."""

    role_option = click.option("--role", type=click.Choice(["viewer", "analyst", "data_manager"]), default=None)
    password_option = click.option("--password-stdin", is_flag=True,
                                   help="Read the password from standard input (for scripts) instead of prompting.")

    def _password(from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def _account_change(action: str, username: str, change) -> None:
        from data_loaders.settings import load_settings

        try:
            change(load_settings().audit_url)
        except ValueError as error:
            click.echo(f"user {action}: {error}", err=True)
            sys.exit(2)
        audit(f"user_{action}", {"username": username})
        click.echo(f"user {username}: {action} done")

    @user_group.command("add")
    @click.argument("username")
    @role_option
    @click.option("--locality", default=None, help="Default view for an LDP chair (e.g. North); see README.")
    @password_option
    def user_add(username: str, role: str | None, locality: str | None, password_stdin: bool) -> None:
        """Add an account (role default: viewer)."""
        from data_loaders.accounts import add_user

        password = _password(password_stdin)
        _account_change("add", username, lambda url: add_user(url, username, password, role or "viewer", locality))

    @user_group.command("disable")
    @click.argument("username")
    def user_disable(username: str) -> None:
        """Disable an account (it can no longer sign in; `reset` re-enables it)."""
        from data_loaders.accounts import disable_user

        _account_change("disable", username, lambda url: disable_user(url, username))

    @user_group.command("reset")
    @click.argument("username")
    @role_option
    @password_option
    def user_reset(username: str, role: str | None, password_stdin: bool) -> None:
        """Set a new password (and optionally a new role); re-enables a disabled account."""
        from data_loaders.accounts import reset_user

        password = _password(password_stdin)
        _account_change("reset", username, lambda url: reset_user(url, username, password, role))

    @server.cli.command("data-dictionary")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/data-dictionary.md"),
                  show_default=True)
    @click.option("--check", is_flag=True, help="Fail if the file differs from the catalogue.")
    def dictionary_command(out: Path, check: bool) -> None:
        """Regenerate docs/data-dictionary.md from the extract catalogue."""
        from data_loaders.dictionary import render_data_dictionary

        text = render_data_dictionary()
        if check:
            if not out.exists() or out.read_text() != text:
                click.echo(f"{out} is out of date: run `flask --app app data-dictionary`", err=True)
                sys.exit(1)
            click.echo(f"{out} is up to date")
            return
        out.write_text(text)
        click.echo(f"wrote {out}")

    @server.cli.command("measures-doc")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/measures.md"),
                  show_default=True)
    def measures_doc_command(out: Path) -> None:
        """Regenerate docs/measures.md from the measure catalogue."""
        from metrics.docs import render_measures_doc

        out.write_text(render_measures_doc())
        click.echo(f"wrote {out}")


def today() -> date:
    return date.today()
