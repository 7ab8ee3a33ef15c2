"""How much of the locality view is hidden: `[c]` cells per locality at quarterly level.

Issue 15's done-when: the first view a newcomer gets shows values, not `[c]`, for every locality at
quarterly level. This counts, over the stored results as they may be shown (the one disclosure
rule, `metrics.results.for_display`), the locality x quarterly cells (no breakdown) of every
indicator reported quarterly that are suppressed or missing: in each locality's latest quarter (what
its scorecard shows) and in all quarters.

    .venv/bin/python -m bench.coverage duckdb:////tmp/bsol-bench/full/bsol.duckdb
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from metrics.catalogue import INDICATORS
from metrics.results import for_display, read_results


def locality_coverage(conn: Connection) -> dict[str, Any]:
    """Per locality: quarterly cells shown / hidden ([c]) / missing, latest quarter and all quarters."""
    localities = sorted(r[0] for r in conn.execute(text("SELECT DISTINCT locality FROM practice")).all())
    wanted = [i.id for i in INDICATORS if "quarter" in i.frequency]
    shown = for_display(read_results(conn, wanted, period_type="quarter", geography_level="locality",
                                     breakdown="none"))
    hidden = shown["suppressed"].fillna(False).astype(bool) | shown["value"].isna()
    shown = shown.assign(hidden=hidden)
    # the scorecard shows each locality's own latest quarter (metrics.results.scorecard)
    latest = shown.groupby(["indicator_id", "geography"])["period_start"].transform("max") == shown["period_start"]
    out: dict[str, Any] = {"indicators": len(wanted), "localities": {}}
    for loc in localities:
        rows = shown[shown["geography"] == loc]
        last = rows[latest[rows.index]]
        out["localities"][loc] = {
            "latest_shown": int((~last["hidden"]).sum()),
            "latest_hidden": sorted(last.loc[last["hidden"], "indicator_id"]),
            "latest_missing": sorted(set(wanted) - set(last["indicator_id"])),
            "all_quarters_cells": int(len(rows)),
            "all_quarters_hidden": int(rows["hidden"].sum()),
        }
    out["latest_hidden_total"] = sum(len(v["latest_hidden"]) + len(v["latest_missing"])
                                     for v in out["localities"].values())
    return out


def main(argv: list[str] | None = None) -> None:
    from data_loaders.db import read_engine

    url = (argv or sys.argv[1:])[0]
    with read_engine(url).connect() as conn:
        print(json.dumps(locality_coverage(conn), indent=1))


if __name__ == "__main__":
    pd.set_option("mode.copy_on_write", True)
    main()
