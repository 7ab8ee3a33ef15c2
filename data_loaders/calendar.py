"""The programme's calendar: where the data start and how months are added, once for every layer.

Why here: the demo generator (data_loaders), the measures and pre/post rules (metrics) and the packs
(exports) all count months from the same start, and data_loaders is the layer all of them may
import. Five copies of month arithmetic and three of the start date used to live in those modules.
"""

from __future__ import annotations

from datetime import date, timedelta

DATA_START = date(2023, 4, 1)
"""First day of data: April 2023 (the plan's baseline year 2023-24)."""


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb),
    as pandas DateOffset and the SQL add_months of data_loaders.dialect do."""
    m = day.month - 1 + months
    y, m = day.year + m // 12, m % 12 + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(day.day, last))
