"""A real, throwaway PostgreSQL server for tests (Debian's `postgresql` package).

    with PgServer() as server:
        server.url  # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

The data directory and the unix socket live in one temp dir that is deleted on stop. As root,
initdb / pg_ctl run as the `postgres` user via `runuser` (PostgreSQL refuses to run as root);
as any other user they run directly. Durability is switched off (fsync etc.): it is a test server.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = (
    "Install it with `bash scripts/setup.sh` (apt-get install postgresql), or point the tests "
    "at an existing server with BSOL_TEST_PG_URL=postgresql+psycopg://USER@HOST:PORT/DB."
)


class PgUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server could not start."""


def find_bindir() -> Path:
    """Newest /usr/lib/postgresql/*/bin holding initdb + pg_ctl, else the ones on PATH."""

    def version_key(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    if os.environ.get("BSOL_TEST_PG_BINDIR"):  # explicit choice, e.g. a non-Debian install
        candidates = [os.environ["BSOL_TEST_PG_BINDIR"]]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(str(Path(on_path).parent))
    for d in candidates:
        if all(os.access(Path(d, exe), os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return Path(d)
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        f"{', '.join(candidates) or '/usr/lib/postgresql/*/bin or on PATH'}. " + INSTALL_HINT
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """Start with `start()` (or `with PgServer() as s:`); `stop()` is idempotent."""

    SETTINGS = {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
        "log_min_messages": "warning",
    }

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        self.tmpdir: Path | None = None
        self.port: int | None = None
        self._running = False

    # ------------------------------------------------------------------ helpers
    @property
    def datadir(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "data"

    @property
    def logfile(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmpdir,  # postgres must be able to read its cwd
        )

    def _log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    # ---------------------------------------------------------------- lifecycle
    def start(self, attempts: int = 3) -> PgServer:
        if self.as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as e:
                raise PgUnavailable(
                    "running as root but there is no `postgres` user. " + INSTALL_HINT
                ) from e
        # /tmp (not $TMPDIR, which may sit under an unreadable home) and a short path: the
        # unix socket path must stay under ~100 bytes.
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.tmpdir = Path(tempfile.mkdtemp(prefix="bsol-pg-", dir=base))
        atexit.register(self.stop)
        if self.as_root:
            os.chown(self.tmpdir, pw.pw_uid, pw.pw_gid)

        r = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        if r.returncode != 0:
            self.stop()
            raise PgUnavailable(f"initdb failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

        last_error = ""
        for _ in range(attempts):  # retry on a port lost to a race with another process
            self.port = free_port()
            opts = [f"-p {self.port}", f"-k {self.tmpdir}"]
            opts += [f"-c {k}={v}" for k, v in self.SETTINGS.items()]
            r = self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(opts),
                "start",
                timeout=90,
            )
            if r.returncode == 0:
                self._running = True
                self._opts = opts
                return self
            last_error = (
                f"pg_ctl start failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                f"server log:\n{self._log_tail()}"
            )
            time.sleep(0.2)
        self.stop()
        raise PgUnavailable(last_error)

    def stop(self) -> None:
        if self._running:
            self._running = False
            r = self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
            if r.returncode != 0:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def pause(self) -> None:
        """Stop the server but keep its data (an outage); `resume()` starts it again on the same port."""
        r = self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        if r.returncode != 0:
            raise PgUnavailable(f"pg_ctl stop failed: {r.stderr}")

    def resume(self) -> None:
        r = self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60",
                      "-o", " ".join(self._opts), "start", timeout=90)
        if r.returncode != 0:
            raise PgUnavailable(f"pg_ctl start failed: {r.stderr}\n{self._log_tail()}")

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # manual check: python tests/pg_server.py
    t0 = time.monotonic()
    with PgServer() as s:
        print(s.url, f"started in {time.monotonic() - t0:.1f}s")
