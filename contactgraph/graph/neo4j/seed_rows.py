"""A synthetic seed's batches as Neo4j writes them, made where they are generated: as on
the embedded store (graph/sqlite/seed_rows.py), the seed's generator runs in a process
of its own (seeds/pipeline.py), which checks each batch (graph/seed_check.py) and makes
the rows of its statements (parties, edges, activities, history), handed over as
marshal's bytes. The writer reads and locks only what the closure needs of the stored
graph (the rows of the parties the new ones hang under), and writes.

Checking and making rows in the writer's own process cost about a fifth of a
million-party seed: Neo4j waited while the client worked. Everything a user writes or
imports still goes through load_batch."""

from __future__ import annotations

import marshal
import pickle
from collections.abc import Mapping
from typing import Any

from .. import history as entry
from .. import rules
from ..levels import Level
from ..model import Batch, Category
from ..seed_check import SeedCheck
from . import closure, cypher, history, vocabulary, walks
from .cypher import Tx, Write


class Preparer:
    """Turns the generator's batches into statement rows, in order, in its process."""

    def __init__(
        self,
        categories: Mapping[str, Category],
        levels: Mapping[str, Level],
        region: str | None,
        actor: entry.Actor,
    ) -> None:
        self.check = SeedCheck(categories, levels, region)
        self.actor = actor

    def written(self, batch: Batch) -> None:
        self.check.written(batch)

    def __call__(self, batch: Batch) -> bytes:
        checked = self.check.checked(batch)
        rels = batch.relationships
        created = [p.id for p in checked.parties]
        children, edge_rows = closure.parts(rels)
        plan = closure.Plan.made(children, edge_rows, created)
        added = rules.acyclic_edges(rels)
        # the writer needs the edges themselves only to survey the closure or search for
        # cycles through stored parties (an edge from one): rarely, so they go pickled then
        needed = plan.doors is None or rules.may_meet_stored(added, set(created))
        rules.check_batch_acyclic(added, ())  # by construction, but cheap: among its own
        changes = entry.batch(checked.parties, rels, batch.activities, self.actor)
        writes = (
            cypher.new_parties(checked.parties, held=False),
            cypher.new_relationships(rels),
            cypher.new_activities(batch.activities),
            history.new_entries(changes),
        )
        references = rules.batch_references(batch)
        return marshal.dumps(
            (
                [(w.body, w.rows) for w in writes],
                created,
                children,
                edge_rows,
                sorted({rel.to_id for rel in added} & references),
                pickle.dumps(rels) if needed else None,
            )
        )


async def preparer(tx: Tx, region: str | None, actor: entry.Actor) -> Preparer:
    """What a seed's generator checks against: the graph's categories and levels."""
    return Preparer(await cypher.categories(tx), await vocabulary.read_levels(tx), region, actor)


async def write(tx: Tx, data: bytes, progress: str) -> None:
    """One batch Preparer made, in the caller's transaction, with the seed's note of how
    far it got. As load_batch does for a batch naming many stored parties, it locks the
    stored parties its hierarchy edges enter and those whose closure rows it extends."""
    writes, created, children, edge_rows, entered, pickled = marshal.loads(data)
    plan = closure.Plan.made(children, edge_rows, created)
    doors = plan.doors or []
    read = await cypher.preparing((), [*entered, *doors], doors=doors).run(tx)
    rels: list[Any] = [] if pickled is None else pickle.loads(pickled)
    checking = rules.may_meet_stored(rules.acyclic_edges(rels), set(created))
    if checking:
        await cypher.lock_hierarchy(tx)
        since = min(rel.since for rel in checking)
        above = await walks.acyclic_above(tx, [rel.to_id for rel in checking], since)
        rules.check_batch_acyclic(checking, above)
    parties, edges, activities, entries = (Write(body, rows) for body, rows in writes)
    reach = plan.writes(closure.held_rows(read.held, doors))
    await cypher.write(tx, parties, edges, *reach, activities, entries)
    if plan.doors is None:  # its edges reach below stored parties: after them
        await cypher.write(tx, *await closure.edges_changed(tx, rels, [*entered, *created]))
    await note(tx, progress)


async def note(tx: Tx, progress: str) -> None:
    """The seed's note of how far it got; none once it is done (`progress` empty)."""
    if progress:
        await tx.run("MERGE (m:Meta {key: 'seed'}) SET m.value = $value", value=progress)
    else:
        await tx.run("MATCH (m:Meta {key: 'seed'}) DELETE m")
