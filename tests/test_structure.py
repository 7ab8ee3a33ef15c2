"""The one-way flow of docs/design.md, checked on the source: a module importing against it fails.

data_loaders -> metrics -> stored results -> callbacks -> layouts. Every import counts, including
ones inside functions (a lazy import is still a dependency). Callbacks may import layouts: they
call the layout functions with the data they read. app.py and cli.py are the edges and may wire
anything together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

UI = ("dash", "flask", "flask_caching", "layouts", "callbacks", "app", "cli", "access")
# package -> module prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "data_loaders": (*UI, "metrics", "exports"),
    "metrics": (*UI, "exports"),
    "exports": UI,
    "layouts": ("callbacks", "app", "cli", "exports", "sqlalchemy", "flask_caching", "data_loaders.db",
                "data_loaders.load", "data_loaders.bulk", "data_loaders.tables"),
    "callbacks": ("app", "cli"),
}


def imports_of(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import in the source, at any depth. `from x import y` yields both
    x and x.y (y may be a module). Relative imports keep their dots (the project uses none)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]  # from x import y
    return found


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(package: str, path: Path, source: str) -> list[str]:
    """One message per import statement and forbidden prefix."""
    seen: dict[tuple[int, str], str] = {}
    for line, module in imports_of(source):
        for prefix in FORBIDDEN[package]:
            if _matches(module, prefix):
                seen.setdefault((line, prefix), module)
    return [f"{path.relative_to(ROOT)}:{line} imports {module} ({package} never imports {prefix})"
            for (line, prefix), module in seen.items()]


def test_the_checker_sees_nested_and_from_imports(tmp_path: Path) -> None:
    source = "import os\ndef f():\n    from callbacks import data\n    import sqlalchemy as sa\n"
    fake = ROOT / "layouts" / "fake.py"
    found = violations("layouts", fake, source)
    assert found == ["layouts/fake.py:3 imports callbacks (layouts never imports callbacks)",
                     "layouts/fake.py:4 imports sqlalchemy (layouts never imports sqlalchemy)"]
    assert violations("layouts", fake, "from data_loaders.extracts import LOCALITIES\n") == []
    assert violations("layouts", fake, "from data_loaders import db\n") == [
        "layouts/fake.py:1 imports data_loaders.db (layouts never imports data_loaders.db)"]
    assert violations("metrics", fake, "import dashboard\n") == []  # a prefix is a whole name


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_against_the_flow(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    problems = [v for path in files for v in violations(package, path, path.read_text(encoding="utf-8"))]
    assert not problems, "imports against the flow (docs/design.md):\n" + "\n".join(problems)


# --------------------------------------------------------------------------- settings at the edges
# Settings are resolved once, by the edges (app.py, cli.py), and passed down as arguments: below
# them nothing reads the environment or builds a Settings object. data_loaders/settings.py is
# where the environment is parsed (the edges call it), so it is the one module allowed.
SETTINGS_READERS = ("data_loaders", "metrics", "exports", "layouts")
SETTINGS_MODULE = ROOT / "data_loaders" / "settings.py"
READS = {"environ", "getenv", "environb", "getenvb", "load_settings", "load_auth_settings", "Settings",
         "AuthSettings", "configured_rule"}


def settings_reads(path: Path, source: str) -> list[str]:
    """One message per use of the environment or the settings loader (os.environ, os.getenv,
    load_settings(), Settings(...)) outside the settings module. Type hints naming Settings are
    fine: only calls and environment reads count."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        name = ""
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "getenvb"):
            name = node.attr
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            name = next((a.name for a in node.names if a.name in ("environ", "getenv")), "")
        if name in READS:
            found.append((node.lineno, name))
    return [f"{path.relative_to(ROOT)}:{line} reads settings ({name}): pass them down from app.py / cli.py"
            for line, name in sorted(found)]


def test_the_settings_checker_sees_environment_and_loader(tmp_path: Path) -> None:
    fake = ROOT / "metrics" / "fake.py"
    source = ("import os\nfrom os import getenv\ndef f(settings: Settings):\n    a = os.environ.get('X')\n"
              "    from data_loaders.settings import load_settings\n    return load_settings().data_dir\n"
              "def g():\n    return Settings(data_dir=1)\n")
    assert [m.split(" reads")[0] for m in settings_reads(fake, source)] == [
        "metrics/fake.py:2", "metrics/fake.py:4", "metrics/fake.py:6", "metrics/fake.py:8"]
    assert settings_reads(fake, "def f(settings: Settings) -> int:\n    return settings.port\n") == []


# Reads still being moved out, by file, while the work is under way (issue 11; the owner in the
# comment). An entry that is no longer needed fails the test, so the list can only shrink.
PENDING: dict[str, str] = {}


@pytest.mark.parametrize("package", SETTINGS_READERS)
def test_settings_are_read_only_at_the_edges(package: str) -> None:
    problems, pending = [], set()
    for path in sorted((ROOT / package).rglob("*.py")):
        found = settings_reads(path, path.read_text(encoding="utf-8")) if path != SETTINGS_MODULE else []
        if str(path.relative_to(ROOT)) in PENDING:
            pending |= {str(path.relative_to(ROOT))} if found else set()
        else:
            problems += found
    assert not problems, "settings read below the edges (docs/design.md):\n" + "\n".join(problems)
    done = {p for p in PENDING if p.startswith(package + "/")} - pending
    assert not done, f"no longer reading settings: take them off PENDING: {sorted(done)}"


# --------------------------------------------------------------------------- vocabulary once
# Each of these is defined in one module; a second definition elsewhere fails (issue 11: the copies
# had drifted). Importing the name is fine; assigning it, or defining the helper again, is not.
VOCABULARY_HOME = {"DATA_START": "data_loaders/calendar.py", "add_months": "data_loaders/calendar.py",
                   "_add_months": "data_loaders/calendar.py", "IMD_LABELS": "metrics/dimensions.py",
                   "SEX_LABELS": "metrics/dimensions.py", "AGE_BANDS": "metrics/dimensions.py",
                   "ETHNIC_GROUPS": "data_loaders/extracts.py"}
# Group labels written out as text: only their home may spell them.
LABEL_HOME = {"Q1 (most deprived)": "metrics/dimensions.py", "Q5 (least deprived)": "metrics/dimensions.py",
              "Female": "metrics/dimensions.py", "15-44": "metrics/dimensions.py", "85+": "metrics/dimensions.py"}
APP_PACKAGES = ("data_loaders", "metrics", "exports", "layouts", "callbacks")


def vocabulary_copies(rel: str, source: str) -> list[str]:
    """A definition (module-level assignment or def) of a vocabulary name, or a group label spelt
    out, outside its home."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        elif isinstance(node, ast.FunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and LABEL_HOME.get(node.value, rel) != rel:
            found.append((node.lineno, f"spells the label {node.value!r} (use {LABEL_HOME[node.value]})"))
        for name in names:
            if VOCABULARY_HOME.get(name, rel) != rel:
                found.append((node.lineno, f"defines {name} again (it lives in {VOCABULARY_HOME[name]})"))
    return [f"{rel}:{line} {what}" for line, what in sorted(found)]


def test_the_vocabulary_checker_sees_copies() -> None:
    source = "DATA_START = 1\ndef _add_months(d, m):\n    return d\nX = {'F': 'Female'}\nfrom a import SEX_LABELS\n"
    assert vocabulary_copies("exports/fake.py", source) == [
        "exports/fake.py:1 defines DATA_START again (it lives in data_loaders/calendar.py)",
        "exports/fake.py:2 defines _add_months again (it lives in data_loaders/calendar.py)",
        "exports/fake.py:4 spells the label 'Female' (use metrics/dimensions.py)"]
    assert vocabulary_copies("data_loaders/calendar.py", "DATA_START = 1\n") == []


def test_vocabulary_is_defined_once() -> None:
    problems = [m for package in APP_PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                for m in vocabulary_copies(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))]
    assert not problems, "a second definition of shared vocabulary:\n" + "\n".join(problems)


# Functions that read patient-level tables (pages read what the refresh stored instead).
LIVE_PATIENT_READS = ("caseload_profile", "cohort_flow", "compute_preset", "comparison_cohort", "prepost_table",
                      "refresh_results", "refresh_prepost", "refresh_flow", "refresh_profile")


def live_reads(source: str) -> list[tuple[int, str]]:
    """(line, name) of every call of a patient-level reader, as a name or an attribute (pp.cohort_flow)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in LIVE_PATIENT_READS:
                found.append((node.lineno, name))
    return found


def test_the_live_read_checker_sees_attribute_and_name_calls() -> None:
    source = "from metrics import prepost\ndef f(c):\n    prepost.caseload_profile(c, 'BSol')\n    return read_profile(c)\n"
    assert live_reads(source) == [(3, "caseload_profile")]
    assert live_reads("cohort_flow(conn, 6)\n") == [(1, "cohort_flow")]


def test_pages_and_downloads_never_read_patient_level_tables() -> None:
    """docs/design.md: pages, downloads and packs read precomputed results only (the caseload profile
    and cohort flow too)."""
    bad = [f"{path.relative_to(ROOT)}:{line} calls {name}"
           for folder in ("callbacks", "layouts", "exports") for path in sorted((ROOT / folder).rglob("*.py"))
           for line, name in live_reads(path.read_text(encoding="utf-8"))]
    assert bad == []
