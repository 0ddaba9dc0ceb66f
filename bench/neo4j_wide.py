"""The two reads of a 1,000,000-party Neo4j graph that took longest after a seed:
descendants of a 100,000-member group with totalCount, and a name search that 2 % of
the parties match, timed at the store port with the Neo4j server's CPU per call.

    NEO4J_PASSWORD=... .venv/bin/python bench/neo4j_wide.py --graph bolt://127.0.0.1:7720 \
        --pid-file DATA/neo4j-local.pid [--parties 1000000] [--runs 20]

The graph is built in minutes rather than seeded in half an hour: a unit, its edge and a
contact are written through the store, then cloned by Cypher with the store's own
properties (the group: units PART_OF the holding, one in 50 also PART_OF a sibling, so
reached at two depths at once; the rest contacts, one in 50 named Keller), and the
store builds the closure from the edges at start, as for a graph stored before it
existed. The graph is WIPED first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from neo4j import Driver, GraphDatabase
from neo4j.time import DateTime
from registry import percentiles

from contactgraph.graph import model
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

GROUP = 100_000
SHARED_EVERY = 50  # one member in this many is also below a sibling
NAMED_EVERY = 50  # one party in this many is a Keller
TYPES = model.DEFAULT_HIERARCHY_TYPES


def server_cpu_ms(pid_file: Path | None) -> Callable[[], float]:
    """The Neo4j process's CPU time so far (user + system), or nothing without its pid."""
    if pid_file is None:
        return lambda: 0.0
    pid = int(pid_file.read_text())
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / tick

    return read


def run(driver: Driver, statement: str, **params: Any) -> None:
    """One statement in a transaction of its own (CALL ... IN TRANSACTIONS needs that)."""
    with driver.session() as session:
        session.run(statement, params).consume()


async def build(url: str, parties: int) -> str:
    """Wipe the graph, build it, return the holding's id."""
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    with GraphDatabase.driver(url, auth=auth) as driver:
        run(driver, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS")
        store = open_store(url, create=True)
        await store.start()
        legal = model.LegalForm.LEGAL_PERSON
        holding = new_party(model.PartyKind.ORGANIZATION, name="Holding", legal_form=legal)
        unit = new_party(model.PartyKind.ORGANIZATION, name="Unit", legal_form=legal)
        person = new_party(
            model.PartyKind.CONTACT,
            first_name="Anna",
            last_name="Keller",
            legal_form=model.LegalForm.NATURAL_PERSON,
        )
        tie = model.Relationship(new_id(), model.RelType.PART_OF, unit.id, holding.id, utcnow())
        await store.load_batch(model.Batch([holding, unit, person], [tie]))
        await store.close()
        records, _, _ = driver.execute_query(
            "MATCH (u:Party {id: $unit})-[r]->() MATCH (p:Party {id: $person}) "
            "RETURN properties(u) AS u, properties(r) AS r, properties(p) AS p",
            unit=unit.id,
            person=person.id,
        )
        # the clones' properties, each with an id of its own (ids are unique at once); times
        # go back at a fixed offset, as stored, not in the zone the driver read them in
        made = {
            key: {
                **{
                    name: value.to_native().astimezone(UTC)
                    if isinstance(value, DateTime)
                    else value
                    for name, value in records[0][key].items()
                },
                "id": None,
            }
            for key in ("u", "r", "p")
        }
        # the group: units PART_OF the holding, one in SHARED_EVERY also below a sibling
        run(
            driver,
            "MATCH (h:Party {id: $holding}) UNWIND range(2, $group) AS i "
            "CALL (h) { CREATE (u:Party:Organization)-[r:PART_OF]->(h) SET u = $unit, "
            "u.id = randomUUID(), r = $edge, r.id = randomUUID() } IN TRANSACTIONS OF 20000 ROWS",
            holding=holding.id,
            group=GROUP,
            unit=made["u"],
            edge=made["r"],
        )
        run(
            driver,
            "MATCH (u:Party)-[:PART_OF]->(:Party {id: $holding}) "
            "WITH collect(u) AS units UNWIND range(1, size(units) - 1, $every) AS i "
            "WITH units[i] AS u, units[i - 1] AS sibling "
            "CREATE (u)-[r:PART_OF]->(sibling) SET r = $edge, r.id = randomUUID()",
            holding=holding.id,
            every=SHARED_EVERY,
            edge=made["r"],
        )
        # everyone else a contact, one in NAMED_EVERY a Keller
        run(
            driver,
            "UNWIND range($group + 3, $n) AS i CALL (i) { CREATE (p:Party:Contact) "
            "SET p = $person, p.id = randomUUID(), p.search = CASE WHEN i % $named = 0 "
            "THEN 'anna keller' ELSE 'name' + toString(i % 997) + ' other' END } "
            "IN TRANSACTIONS OF 20000 ROWS",
            group=GROUP,
            n=parties,
            person=made["p"],
            named=NAMED_EVERY,
        )
        # the closure of these edges, built by the store at start
        run(driver, "MATCH (h:Reach) CALL (h) { DETACH DELETE h } IN TRANSACTIONS")
        run(driver, "MATCH (m:Meta {key: 'closure'}) DELETE m")
    started = time.perf_counter()
    store = open_store(url, create=True)
    await store.start()
    await store.close()
    print(f"closure built at start in {time.perf_counter() - started:.1f} s")
    return holding.id


async def timed(
    runs: int, call: Callable[[], Awaitable[object]], cpu: Callable[[], float]
) -> tuple[float, float, float]:
    await call()  # warm caches once
    samples = []
    spent = cpu()
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    median, p95 = percentiles(samples)
    return median, p95, (cpu() - spent) / runs


async def measure(store: GraphStore, holding: str, runs: int, cpu: Callable[[], float]) -> None:
    now = utcnow()
    below = await store.descendants([holding], TYPES, 64, now, model.Page(100), True)
    found = await store.list_parties(model.PartyFilter(search="keller"), model.Page(50), True)
    print(f"group of {below[holding].total_count:,}, {found.total_count:,} Kellers")
    rows = {
        "descendants of the group (page of 100 + totalCount)": lambda: store.descendants(
            [holding], TYPES, 64, now, model.Page(100), True
        ),
        "parties(search: name, first: 50) with totalCount": lambda: store.list_parties(
            model.PartyFilter(search="keller"), model.Page(50), True
        ),
    }
    print("\n| read | store median | store p95 | Neo4j CPU per call |\n|---|---:|---:|---:|")
    for name, call in rows.items():
        median, p95, spent = await timed(runs, call, cpu)
        print(f"| {name} | {median:.1f} | {p95:.1f} | {spent:.1f} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True, help="bolt://host:port of a Neo4j to WIPE")
    parser.add_argument("--pid-file", type=Path, help="the Neo4j server's pid, for its CPU")
    parser.add_argument("--parties", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--holding", help="measure a graph built before, by its holding's id")
    args = parser.parse_args()
    holding = args.holding or await build(args.graph, args.parties)
    print(f"holding {holding}")
    started = time.perf_counter()
    store = open_store(args.graph)
    await store.start()  # rebuilds a closure of an older layout
    print(f"store started in {time.perf_counter() - started:.1f} s")
    try:
        await measure(store, holding, args.runs, server_cpu_ms(args.pid_file))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
