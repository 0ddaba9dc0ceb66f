"""A pipeline summary summed by SQLite, exact: each amount is also stored as whole
integers (amount_units.py) in columns under a covering index, so the summary is read from
the index alone.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from ..amount_units import parts, summed
from ..opportunity_reads import Figure

SUM_COLUMNS = ("amount_high", "amount_low", "amount_places")


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
