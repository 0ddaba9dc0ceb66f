"""Where a write's time goes on Neo4j, statement by statement (issue 11, third slice).

    .venv/bin/python bench/write_statements.py --graph "$NEO4J_URI" [--runs 40]

Calls the store as a createContact does (create_party), a createContact with a MEMBER_OF
link (load_batch, as create_filed makes it), a link of a contact just made, a
recordActivity about a contact whose category has no process and about one whose
category's process opens a step (bench/processes.py's), an unlink of a MEMBER_OF and of a
KNOWS edge just made, and an updateParty of a contact's tags, one at a time on a graph
seeded as bench/versus.py's, and times each statement the store runs in its transaction
(from one `tx.run` to the next; the driver's transaction class patched for it) and the
commit. Prints, per call, the median total and the median of each statement with how
many times a call runs it. The parties it makes are tagged as bench/versus.py's and
deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from neo4j._async.work.transaction import AsyncTransactionBase
from processes import _agreement, _category, _process
from versus import TAG, remove_created

from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Batch, LegalForm, Party, PartyKind, Relationship, RelType
from contactgraph.graph.neo4j.store import Neo4jStore
from contactgraph.graph.records import new_party
from contactgraph.graph.times import utcnow

marks: list[tuple[str, float]] = []


def _marking(call: Callable[..., Awaitable[Any]], label: str | None) -> Callable[..., Any]:
    """`call`, noting when it starts: as `label`, or as the statement it is given."""

    async def marked(self: Any, *args: Any, **kwargs: Any) -> Any:
        marks.append((label or " ".join(str(args[0]).split())[:60], time.perf_counter()))
        return await call(self, *args, **kwargs)

    return marked


def _contact(number: int) -> Party:
    return new_party(
        PartyKind.CONTACT,
        first_name="Statement",
        last_name=f"Contact {number}",
        legal_form=LegalForm.NATURAL_PERSON,
        tags=(TAG,),
    )


async def main(args: argparse.Namespace) -> None:
    store = open_store(args.graph)
    assert isinstance(store, Neo4jStore)
    await store.start()
    records, _, _ = await store.driver.execute_query(
        "MATCH (o:Organization) RETURN o.id AS id ORDER BY o.id SKIP 100 LIMIT 1"
    )
    home = records[0]["id"]

    author = new_party(
        PartyKind.USER,
        "Statement Author",
        username=f"statements-{new_id()}",
        legal_form=LegalForm.NATURAL_PERSON,
        tags=(TAG,),
    )
    await store.load_batch(Batch([author], [], []))
    processed = f"statements-{new_id()[-8:].lower()}"
    await _category(store, processed, _process(author.id))

    def member(party: Party) -> Relationship:
        return Relationship(new_id(), RelType.MEMBER_OF, party.id, home, utcnow())

    async def nothing(party: Party) -> None:
        return None

    async def create(party: Party) -> None:
        await store.create_party(party)

    async def link(party: Party) -> None:
        await store.link(member(party))

    async def batch(party: Party) -> None:
        await store.load_batch(Batch([party], [member(party)], [], processes=True))

    async def record(party: Party) -> None:
        await store.record_activity(_agreement(author.id, party.id))

    async def create_processed(party: Party) -> None:
        await store.create_party(replace(party, category_id=processed))

    edges: dict[str, str] = {}

    async def linked(party: Party) -> None:
        await create(party)
        edges[party.id] = (await store.link(member(party))).id

    async def known(party: Party) -> None:
        await create(party)
        rel = Relationship(new_id(), RelType.KNOWS, party.id, author.id, utcnow())
        edges[party.id] = (await store.link(rel)).id

    async def update(party: Party) -> None:
        await store.update_party(party.id, {"tags": (TAG, "updated")}, None, utcnow())

    async def unlink(party: Party) -> None:
        await store.unlink(edges[party.id], utcnow())

    # each call after its setup, which is not timed
    calls: dict[str, tuple[Callable[[Party], Awaitable[None]], ...]] = {
        "create_party (createContact)": (nothing, create),
        "load_batch (createContact with links)": (nothing, batch),
        "link (a contact just made)": (create, link),
        "record_activity (no process)": (create, record),
        "record_activity (its process opens a step)": (create_processed, record),
        "unlink (MEMBER_OF)": (linked, unlink),
        "unlink (KNOWS)": (known, unlink),
        "update_party (the tags of a contact just made)": (create, update),
    }
    AsyncTransactionBase.run = _marking(AsyncTransactionBase.run, None)  # type: ignore[method-assign]
    AsyncTransactionBase._commit = _marking(AsyncTransactionBase._commit, "COMMIT")  # type: ignore[method-assign]
    totals: dict[str, list[float]] = defaultdict(list)
    steps: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for number in range(args.runs + 3):  # the first three warm up
        for name, (setup, call) in calls.items():
            party = _contact(number)
            await setup(party)
            marks.clear()
            start = time.perf_counter()
            await call(party)
            end = time.perf_counter()
            if number >= 3:
                totals[name].append((end - start) * 1000)
                points = [("(before the first statement)", start), *marks, ("", end)]
                for (label, at), (_, then) in itertools.pairwise(points):
                    steps[name][label].append((then - at) * 1000)
    for name, times in totals.items():
        print(f"\n{name}: {statistics.median(times):.2f} ms")
        for label, spent in steps[name].items():
            print(f"  {statistics.median(spent):6.2f} ms  x{len(spent) // len(times)}  {label}")
    await store.close()
    await remove_created(args.graph)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(main(parser.parse_args()))
