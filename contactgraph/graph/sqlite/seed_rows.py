"""A synthetic seed's batches as the embedded store writes them, made where they are
generated: the seed's generator runs in a process of its own (seeds/pipeline.py),
which checks each batch (graph/seed_check.py), makes its rows and history entries,
and hands over plain tuples as marshal's bytes; the writer only runs its statements.
Handing over the records themselves cost the writer more to unpickle than the
generator to make them, and pickling the tuples four times what marshal takes.

Only the generator's own batches come this way: everything a user writes or imports
still goes through load_batch, checked in the writer's transaction against the
stored graph (unique codes, cycles)."""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Mapping
from typing import NamedTuple

from .. import history as entry
from ..closure import changed_edges
from ..levels import Level
from ..model import Batch, Category
from ..seed_check import SeedCheck
from . import closure, history, records
from .rows import relationship_params


class SeedRows(NamedTuple):
    parties: records.PartyRows
    relationships: list[tuple[object, ...]]
    edges: list[tuple[str, str]]  # (parent, child) of the closure's edges among them
    activities: records.ActivityRows
    history: history.EntryRows


class Preparer:
    """Turns the generator's batches into SeedRows, in order, in the generator's process."""

    def __init__(
        self,
        categories: Mapping[str, Category],
        levels: Mapping[str, Level],
        region: str | None,
        actor: entry.Actor,
        first_entry: int,
    ) -> None:
        self.check = SeedCheck(categories, levels, region)
        self.actor = actor
        self.next_entry = first_entry

    def written(self, batch: Batch) -> None:
        self.check.written(batch)

    def __call__(self, batch: Batch) -> bytes:
        checked = self.check.checked(batch)
        changes = entry.batch(checked.parties, batch.relationships, batch.activities, self.actor)
        entries = history.entry_rows(changes, self.next_entry)
        self.next_entry += len(entries.entries)
        parties = records.party_rows(checked.parties)
        activities = records.activity_rows(batch.activities)
        # rows of tables keyed by party in key order: the writer then fills each index
        # page once, where a million parties' random ids rewrote pages all over the file
        parties = parties._replace(keys=sorted(parties.keys))
        activities = activities._replace(
            people=sorted(activities.people), subjects=sorted(activities.subjects)
        )
        entries = entries._replace(subjects=sorted(entries.subjects))
        relationships = [relationship_params(r) for r in batch.relationships]
        edges = changed_edges(batch.relationships)
        # plain tuples and lists only: what marshal writes
        return marshal.dumps(
            (tuple(parties), relationships, edges, tuple(activities), tuple(entries))
        )


def unpacked(data: bytes) -> SeedRows:
    """The rows Preparer packed."""
    parties, relationships, edges, activities, entries = marshal.loads(data)
    return SeedRows(
        records.PartyRows(*parties),
        relationships,
        edges,
        records.ActivityRows(*activities),
        history.EntryRows(*entries),
    )


def preparer(conn: sqlite3.Connection, region: str | None, actor: entry.Actor) -> Preparer:
    """What a seed's generator checks against, and where the history goes on from."""
    categories, levels = records.categories(conn, None), records.levels(conn)
    return Preparer(categories, levels, region, actor, history.next_seq(conn))


def write(conn: sqlite3.Connection, data: bytes, progress: str) -> None:
    """One batch Preparer made, in the caller's transaction, with the seed's note of how
    far it got."""
    rows = unpacked(data)
    records.write_parties(conn, rows.parties)
    conn.executemany(records.INSERT_REL, rows.relationships)
    closure.pairs_changed(conn, rows.edges)
    records.write_activities(conn, rows.activities)
    history.write(conn, rows.history)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seed', ?)", (progress,))
