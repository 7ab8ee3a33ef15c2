"""Cached reads of stored results for the pages: never raw rows, never a recompute on a click.

Cache keys include the data version, so a load that lands is visible on the next request.
"""

from __future__ import annotations

import pandas as pd
from flask_caching import Cache

from data_loaders.db import data_version, database_exists, read_dataset_info, read_engine
from data_loaders.settings import load_settings
from metrics import results

cache = Cache()


def _url() -> str:
    return load_settings().database_url


def version() -> str:
    return data_version(_url())


@cache.memoize()
def _results(version_key: str, indicator_ids: tuple[str, ...] | None, period_type: str | None,
             geography_level: str | None, geographies: tuple[str, ...] | None, breakdown: str | None) -> pd.DataFrame:
    with read_engine(_url()).connect() as conn:
        frame = results.read_results(conn, list(indicator_ids) if indicator_ids else None, period_type,
                                     geography_level, list(geographies) if geographies else None, breakdown)
    return results.for_display(frame)


def display_results(indicator_ids: list[str] | None = None, period_type: str | None = None,
                    geography_level: str | None = None, geographies: list[str] | None = None,
                    breakdown: str | None = None) -> pd.DataFrame:
    """Results after disclosure control, as every page and download must show them."""
    return _results(version(), tuple(indicator_ids) if indicator_ids else None, period_type, geography_level,
                    tuple(geographies) if geographies else None, breakdown)


@cache.memoize()
def _scorecard(version_key: str, level: str, geography: str, period_type: str | None) -> list[results.ScorecardRow]:
    with read_engine(_url()).connect() as conn:
        return results.scorecard(conn, level, geography, period_type)


def scorecard(level: str = "bsol", geography: str = "BSol", period_type: str | None = None) -> list[results.ScorecardRow]:
    return _scorecard(version(), level, geography, period_type)


def dataset_info() -> dict[str, str]:
    url = _url()
    return read_dataset_info(url) if database_exists(url) else {}


def is_demo() -> bool:
    return dataset_info().get("is_demo", "").lower() == "true"
