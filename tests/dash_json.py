"""Walking a Dash response or layout as JSON (component dicts {"type", "props"}, Plotly figures):
the page tests and the adversarial test read pages the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def components(obj: Any, kind: str | None = None) -> Iterator[dict]:
    """Every component (of type `kind`, if given) anywhere below `obj`, outermost first."""
    if isinstance(obj, dict):
        if "type" in obj and "props" in obj and (kind is None or obj["type"] == kind):
            yield obj
        for v in obj.values():
            yield from components(v, kind)
    elif isinstance(obj, list):
        for v in obj:
            yield from components(v, kind)


def figures(obj: Any) -> Iterator[dict]:
    """Every Plotly figure ({"data": [...], "layout": ...}) below `obj` (not looked inside)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("data"), list) and "layout" in obj:
            yield obj
            return
        for v in obj.values():
            yield from figures(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from figures(v)


def text(obj: Any) -> str:
    """The text a component shows (its children's, joined)."""
    if obj is None or isinstance(obj, bool):
        return ""
    if isinstance(obj, str | int | float):
        return str(obj)
    if isinstance(obj, list):
        return "".join(text(v) for v in obj)
    if isinstance(obj, dict):
        return text(obj.get("props", {}).get("children"))
    return ""
