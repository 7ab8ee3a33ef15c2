"""metrics/dimensions.py is the one list of breakdowns and levels: everything else agrees with it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from data_loaders.dialect import make_engine
from data_loaders.tables import measure_result
from layouts import filters as flt
from metrics import compute, dimensions
from metrics.catalogue import INDICATORS
from metrics.docs import breakdown_text


def test_registry_lists_derive_from_the_records() -> None:
    assert dimensions.BREAKDOWN_KEYS == ("imd_quintile", "ethnicity", "sex", "age_band")
    assert flt.BREAKDOWNS == ("sex", "age_band", "imd_quintile", "ethnicity")  # the filter's order
    assert compute.BREAKDOWN_DIMS == dimensions.BREAKDOWN_KEYS
    assert dimensions.BREAKDOWN_LABELS == {"none": "None", "imd_quintile": "IMD quintile",
                                           "ethnicity": "Ethnic group", "sex": "Sex", "age_band": "Age band"}
    assert dimensions.BREAKDOWN_LEVELS == ("bsol", "place", "locality")
    for ind in INDICATORS:
        assert set(ind.breakdowns) <= set(dimensions.BREAKDOWN_KEYS), ind.id
    sample = next(i for i in INDICATORS if i.breakdowns == dimensions.BREAKDOWN_KEYS)
    assert breakdown_text(sample) == ("BSol, place, locality, neighbourhood, practice; by IMD quintile, "
                                      "ethnic group, sex, age band (BSol, place, locality)")


def test_stored_results_use_only_registered_levels_and_breakdowns(kat_db: Path) -> None:
    engine = make_engine(f"duckdb:///{kat_db}")
    try:
        with engine.connect() as conn:
            pairs = set(conn.execute(sa.select(measure_result.c.geography_level, measure_result.c.breakdown)
                                     .distinct()).all())
    finally:
        engine.dispose()
    levels = {level for level, _ in pairs}
    assert levels == set(dimensions.LEVEL_KEYS)
    assert {b for _, b in pairs} == {dimensions.NO_BREAKDOWN, *dimensions.BREAKDOWN_KEYS}
    broken_down = {level for level, b in pairs if b != dimensions.NO_BREAKDOWN}
    assert broken_down == set(dimensions.BREAKDOWN_LEVELS)
