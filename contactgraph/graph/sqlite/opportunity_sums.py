"""A pipeline summary summed by SQLite, exact: each amount is also stored as whole
integers that SQL can add without a float ever holding them.

An amount has at most MAX_PLACES decimal places and stays below MAX_AMOUNT, so in units
of 10^-MAX_PLACES it is below 10^19, past a 64-bit integer. It is split in two columns,
the units above and below 10^9: their sums overflow only past about 900 million
opportunities in one stage and currency. A third column keeps how many places were
given, so a sum reads as the same decimal the per-row sum in Python gives (300.30,
not 300.3000). A covering index answers the summary from the index alone.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from ..opportunities import MAX_PLACES
from ..opportunity_reads import Figure

_SPLIT = 10**9
SUM_COLUMNS = ("amount_high", "amount_low", "amount_places")


def parts(amount: Decimal) -> tuple[int, int, int]:
    """The amount as (high units, low units, places given)."""
    exponent = amount.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    units = int(amount.scaleb(MAX_PLACES))
    return units // _SPLIT, units % _SPLIT, places


def summed(high: int, low: int, places: int) -> Decimal:
    """The sum of amounts from their summed parts, with as many places as the most
    precise of them had."""
    total = Decimal(high * _SPLIT + low).scaleb(-MAX_PLACES)
    return total.quantize(Decimal(1).scaleb(-places))


def figures(conn: sqlite3.Connection, tests: list[str], params: dict[str, Any]) -> list[Figure]:
    """One figure per stage, currency and probability of the filtered opportunities."""
    rows = conn.execute(
        "SELECT stage_id, currency, probability, COUNT(*), SUM(amount_high), "
        "SUM(amount_low), MAX(amount_places) FROM opportunities o "
        f"WHERE {' AND '.join(tests)} GROUP BY stage_id, currency, probability",
        params,
    )
    return [Figure(r[0], r[1], summed(r[4], r[5], r[6]), r[2], r[3]) for r in rows]


def migrate(conn: sqlite3.Connection) -> None:
    """20: the amount's parts beside its text, filled for what is stored, and the
    summary's covering index."""
    for column in SUM_COLUMNS:
        conn.execute(f"ALTER TABLE opportunities ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    stored = conn.execute("SELECT id, amount FROM opportunities").fetchall()
    conn.executemany(
        "UPDATE opportunities SET amount_high = ?, amount_low = ?, amount_places = ? WHERE id = ?",
        [(*parts(Decimal(amount)), row_id) for row_id, amount in stored],
    )
    conn.execute(
        "CREATE INDEX opportunities_summary ON opportunities(pipeline_id, stage_id, currency, "
        "probability, amount_high, amount_low, amount_places, owner_id, close_key, "
        "organization_id)"
    )
