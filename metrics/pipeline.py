"""Orchestration: load data, then recompute every stored result in the same transaction.

Loaders never import metrics; this module is where the two meet, so a load and the results it
implies land together or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, delete, insert

from data_loaders.db import commit_so_far, write_transaction
from data_loaders.dialect import engine_memory_for
from data_loaders.load import load_files, load_frames
from data_loaders.tables import EXTRACT_TABLES, dataset_info, metadata
from metrics import disclosure
from metrics.compute import refresh_results
from metrics.events import refresh_events
from metrics.inequality import refresh_inequality
from metrics.prepost import DEFAULT_WINDOW, refresh_flow, refresh_prepost, refresh_profile
from metrics.quality import refresh_quality

if TYPE_CHECKING:
    from data_loaders.demo import Size

Progress = Callable[[str], None]


def refresh_all(conn: Connection, progress: Progress | None = None,
                timings: dict[str, Any] | None = None, *, prepost_window: int = DEFAULT_WINDOW,
                policy: disclosure.DisclosurePolicy | None = None) -> dict[str, int]:
    """Recompute the stored results: indicators, their inequality indices, pre/post INT tables, data quality.

    `timings` (a dict, for the benchmark) receives per-scan and per-indicator times and the
    seconds spent on measures, inequality indices and pre/post. `prepost_window`: the configured
    pre/post window (settings.prepost_window_months, passed by the edges), stored beside 3, 6, 12.
    `policy` (resolved from the settings by the caller; default: the documented one) decides the
    stored suppression flags and is recorded in dataset_info, so the app can refuse flags worked
    out under another policy (disclosure.stale_policy)."""
    policy = policy or disclosure.DEFAULT_RULE
    with engine_memory_for(conn, "refreshing"):  # scans, writes and pre/post's queries alike (memory)
        return _refresh_all(conn, progress, timings, prepost_window, policy)


def _refresh_all(conn: Connection, progress: Progress | None, timings: dict[str, Any] | None,
                 prepost_window: int, policy: disclosure.DisclosurePolicy) -> dict[str, int]:
    started = time.perf_counter()
    counts = {"chart_event": refresh_events(conn)}  # INT go-lives from the loaded register
    counts["measure_result"] = refresh_results(conn, progress=progress, timings=timings, policy=policy)
    measures_s = time.perf_counter() - started
    if progress:
        progress("inequality (slope index, PHE simulation)")
    counts["inequality_result"] = refresh_inequality(conn, policy)
    inequality_s = time.perf_counter() - started - measures_s
    counts["prepost_result"] = refresh_prepost(conn, configured=prepost_window)
    counts["prepost_flow"] = refresh_flow(conn, configured=prepost_window)
    counts["caseload_profile_result"] = refresh_profile(conn)
    counts["quality_result"] = refresh_quality(conn)  # the Data page's and the pack's data-quality tables
    if timings is not None:
        timings.update(measures_s=round(measures_s, 3), inequality_s=round(inequality_s, 3),
                       prepost_s=round(time.perf_counter() - started - measures_s - inequality_s, 3))
    set_dataset_info(conn, {disclosure.POLICY_INFO_KEY: policy.fingerprint})
    return counts


def set_dataset_info(conn: Connection, facts: Mapping[str, str]) -> None:
    conn.execute(delete(dataset_info).where(dataset_info.c.key.in_(list(facts))))
    conn.execute(insert(dataset_info), [{"key": k, "value": str(v)} for k, v in facts.items()])


def build_demo(url: str, size: Size = "small", seed: int = 20240626, end: date | None = None,
               progress: Progress | None = None, *, prepost_window: int = DEFAULT_WINDOW,
               policy: disclosure.DisclosurePolicy | None = None) -> dict[str, int]:
    """Replace the whole database with a freshly generated, validated synthetic dataset.

    Tables stream from the generator one at a time: each is validated (a large one in parts),
    loaded and dropped before the next is made, so memory holds one table, never the whole dataset. Everything happens in
    one write transaction: a table failing validation leaves the database as it was.
    """
    from data_loaders import demo
    from data_loaders.reference import install_reference
    from data_loaders.validate import ExtractValidationError, validate_parts

    say = progress or (lambda _msg: None)
    counts: dict[str, int] = {}
    with write_transaction(url) as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
        say("loading reference data")
        install_reference(conn)
        say(f"generating {size} demo data")
        for name, frame in demo.generate_stream(size=size, seed=seed, end=end, progress=say):
            rows = len(frame) if isinstance(frame, pd.DataFrame) else sum(map(len, frame))
            say(f"loading {name} ({rows:,} rows, validated a part at a time)")
            try:
                load_frames(conn, {name: validate_parts(_extract(name), frame, f"demo:{name}")},
                            file_names={name: f"demo:{name}"})
            except ExtractValidationError as error:
                raise ValueError(f"generated demo data failed validation: {error}") from error
            counts[name] = rows
            del frame
            commit_so_far(conn)
        set_dataset_info(conn, demo.dataset_facts(size=size, seed=seed, end=end))
        say("computing measures")
        counts.update(refresh_all(conn, progress=lambda i: say(f"computing {i}"), prepost_window=prepost_window,
                                  policy=policy))
    return counts


def load_and_refresh(url: str, paths: list[str], extract: str | None = None, progress: bool = True, *,
                     data_dir: Path, prepost_window: int = DEFAULT_WINDOW,
                     policy: disclosure.DisclosurePolicy | None = None,
                     source_ends: dict | None = None):
    """Load extract files atomically and refresh the results inside the same transaction.

    The extracts the results cannot be computed without (REQUIRED_EXTRACTS) must have rows
    afterwards, or the load is rejected naming them (instead of a traceback from the refresh).
    """
    from data_loaders.extracts import REQUIRED_EXTRACTS

    return load_files(url, paths, extract=extract, progress=progress,
                      after_load=lambda conn: refresh_all(conn, prepost_window=prepost_window, policy=policy),
                      data_dir=data_dir, required=REQUIRED_EXTRACTS, source_ends=source_ends)


def _extract(name: str):
    from data_loaders.extracts import get_extract

    return get_extract(name)


__all__ = ["build_demo", "load_and_refresh", "refresh_all", "EXTRACT_TABLES"]
