"""Orchestration: load data, then recompute every stored result in the same transaction.

Loaders never import metrics; this module is where the two meet, so a load and the results it
implies land together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, delete, insert

from data_loaders.db import write_transaction
from data_loaders.load import load_files, load_frames
from data_loaders.tables import EXTRACT_TABLES, dataset_info, metadata
from metrics.compute import refresh_results
from metrics.inequality import refresh_inequality
from metrics.prepost import refresh_prepost

if TYPE_CHECKING:
    from data_loaders.demo import Size

Progress = Callable[[str], None]


def refresh_all(conn: Connection, progress: Progress | None = None) -> dict[str, int]:
    """Recompute the stored results: indicators, their inequality indices, then pre/post INT tables."""
    counts = {"measure_result": refresh_results(conn, progress=progress)}
    if progress:
        progress("inequality (slope index, PHE simulation)")
    counts["inequality_result"] = refresh_inequality(conn)
    counts["prepost_result"] = refresh_prepost(conn)
    return counts


def set_dataset_info(conn: Connection, facts: Mapping[str, str]) -> None:
    conn.execute(delete(dataset_info).where(dataset_info.c.key.in_(list(facts))))
    conn.execute(insert(dataset_info), [{"key": k, "value": str(v)} for k, v in facts.items()])


def build_demo(url: str, size: Size = "small", seed: int = 20240626, end: date | None = None,
               progress: Progress | None = None) -> dict[str, int]:
    """Replace the whole database with a freshly generated, validated synthetic dataset."""
    from data_loaders import demo
    from data_loaders.reference import install_reference
    from data_loaders.validate import validate_frame

    say = progress or (lambda _msg: None)
    say(f"generating {size} demo data")
    frames = demo.generate(size=size, seed=seed, end=end)
    validated: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        say(f"validating {name} ({len(frame):,} rows)")
        typed, problems = validate_frame(_extract(name), frame, f"demo:{name}")
        if problems:
            raise ValueError(f"generated demo data failed validation: {problems}")
        validated[name] = typed
    with write_transaction(url) as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
        say("loading reference data")
        install_reference(conn)
        say("loading demo extracts")
        load_frames(conn, validated, file_names={n: f"demo:{n}" for n in validated})
        set_dataset_info(conn, demo.dataset_facts(size=size, seed=seed, end=end))
        say("computing measures")
        counts = refresh_all(conn, progress=lambda i: say(f"computing {i}"))
    return {**{n: len(f) for n, f in validated.items()}, **counts}


def load_and_refresh(url: str, paths: list[str], extract: str | None = None, progress: bool = True):
    """Load extract files atomically and refresh the results inside the same transaction.

    The extracts the results cannot be computed without (REQUIRED_EXTRACTS) must have rows
    afterwards, or the load is rejected naming them (instead of a traceback from the refresh).
    """
    from data_loaders.extracts import REQUIRED_EXTRACTS

    return load_files(url, paths, extract=extract, progress=progress, after_load=refresh_all,
                      required=REQUIRED_EXTRACTS)


def _extract(name: str):
    from data_loaders.extracts import get_extract

    return get_extract(name)


__all__ = ["build_demo", "load_and_refresh", "refresh_all", "EXTRACT_TABLES"]
