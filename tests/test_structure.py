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
