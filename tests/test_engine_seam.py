"""The engine seam of docs/design.md, checked on the source: only data_loaders/dialect.py may know
which database engine it runs on.

A module elsewhere fails this test when it branches on the dialect (``conn.dialect.name``,
``.dialect.driver``, ``url.get_backend_name()``), imports a driver (duckdb, psycopg, sqlite3), or
has code text naming an engine (a string such as ``"duckdb:"`` or ``"postgresql"``; docstrings and
comments may name them). So adding an engine touches data_loaders/dialect.py and configuration only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEAM = ROOT / "data_loaders" / "dialect.py"
SKIP_DIRS = {".venv", "tests", "bench", "node_modules", ".git", "data", "scripts"}
ENGINE_WORD = re.compile(r"duckdb|postgres|psycopg|sqlite", re.IGNORECASE)
DRIVERS = ("duckdb", "duckdb_engine", "psycopg", "psycopg2", "sqlite3")
BRANCHING_ATTRS = {"get_backend_name", "get_driver_name", "drivername"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of string constants that are statements (docstrings and bare strings), not code."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def engine_knowledge(source: str) -> list[tuple[int, str]]:
    """(line, what) for every place the source knows which engine it is on."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if ENGINE_WORD.search(node.value):
                found.append((node.lineno, f"names an engine in {node.value[:40]!r}"))
        elif isinstance(node, ast.Attribute):
            if node.attr in BRANCHING_ATTRS:
                found.append((node.lineno, f"reads .{node.attr}"))
            elif node.attr in ("name", "driver") and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "dialect":
                found.append((node.lineno, f"branches on .dialect.{node.attr}"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, f"imports {a.name}") for a in node.names if a.name.split(".")[0] in DRIVERS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in DRIVERS:
            found.append((node.lineno, f"imports {node.module}"))
    return found


def _modules() -> list[Path]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP_DIRS or path == SEAM:
            continue
        out.append(path)
    return out


def test_the_checker_sees_each_kind_of_engine_knowledge() -> None:
    source = '''"""DuckDB is fine in a docstring."""
import duckdb
from psycopg import sql
def f(conn, url):
    # postgres in a comment is fine
    if conn.dialect.name == "x":
        return url.get_backend_name()
    return "duckdb:///file"
'''
    whats = sorted(what for _line, what in engine_knowledge(source))
    assert whats == sorted(["imports duckdb", "imports psycopg", "branches on .dialect.name",
                            "reads .get_backend_name", "names an engine in 'duckdb:///file'"])
    assert engine_knowledge('"""Only a docstring about PostgreSQL."""\nx = 1\n') == []


def test_the_seam_itself_is_seen_by_the_checker() -> None:
    """The seam does know the engines: the checker is not blind to how it does so."""
    assert engine_knowledge(SEAM.read_text(encoding="utf-8"))


def test_only_the_dialect_module_knows_the_engine() -> None:
    modules = _modules()
    assert len(modules) > 50  # the walk found the project
    problems = [f"{path.relative_to(ROOT)}:{line} {what}"
                for path in modules for line, what in engine_knowledge(path.read_text(encoding="utf-8"))]
    assert problems == [], "engine differences belong in data_loaders/dialect.py:\n" + "\n".join(problems)
