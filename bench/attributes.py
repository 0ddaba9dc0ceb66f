"""What a category's own fields cost: createContact with attributes against without, and
attribute-filter queries among 100,000 parties with attributes.

    .venv/bin/python bench/attributes.py [--parties 100000] [--runs 200] [--graph URL]

Loads `--parties` contacts of a category `bench-buyer` with five fields (a number, a
decimal, a date, a boolean, one of three options) through the store port in seed batches
(into a new SQLite file, or the Neo4j graph --graph names, emptied first), then serves
it with `contactgraph serve` and sends, in alternating order, createContact without a
category and createContact in the category with all five values (checked on write), and
then each filter query. Prints medians, p95s and the ratio in Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from history import wipe
from registry import percentiles, serving, wait_ready

from contactgraph.graph import categories
from contactgraph.graph.backends import open_store
from contactgraph.graph.model import (
    Batch,
    Category,
    FieldDef,
    FieldType,
    LegalForm,
    PartyKind,
)
from contactgraph.graph.records import new_party
from contactgraph.graph.times import utcnow

FIELDS = (
    FieldDef("score", FieldType.NUMBER),
    FieldDef("budget", FieldType.DECIMAL),
    FieldDef("since", FieldType.DATE),
    FieldDef("active", FieldType.BOOLEAN),
    FieldDef("tier", FieldType.ONE_OF, options=("gold", "silver", "bronze")),
)
CATEGORY = Category("bench-buyer", "Bench buyer", fields=FIELDS)
PLAIN = "mutation($n: String!) { createContact(input: {lastName: $n}) { id } }"
WITH = (
    "mutation($n: String!, $a: [AttributeInput!]!) { createContact(input: "
    '{lastName: $n, categoryId: "bench-buyer", attributes: $a}) { id } }'
)
LIST = "query($f: PartyFilter) { parties(filter: $f, first: 20) { edges { node { id } } } }"
QUERIES: dict[str, dict[str, Any]] = {
    "equals (one of)": {"attributes": [{"field": "tier", "equals": "gold"}]},
    "equals (number), rare": {"attributes": [{"field": "score", "equals": 4242}]},
    "range (number), 1 %": {"attributes": [{"field": "score", "min": 5000, "max": 5099}]},
    "range (date), 1 month": {
        "attributes": [{"field": "since", "min": "2020-03-01", "max": "2020-03-31"}]
    },
    "exists": {"attributes": [{"field": "budget", "exists": True}]},
}


def values(rng: random.Random) -> dict[str, Any]:
    return {
        "score": rng.randrange(10_000),
        "budget": f"{rng.randrange(100_000)}.{rng.randrange(100):02d}",
        "since": (date(2015, 1, 1) + timedelta(days=rng.randrange(3650))).isoformat(),
        "active": rng.random() < 0.5,
        "tier": rng.choice(FIELDS[4].options),
    }


async def load(url: str, parties: int) -> None:
    store = open_store(url, create=True)
    await store.start()
    try:
        await store.write_category(
            CATEGORY.id, lambda current: categories.created(CATEGORY, current), utcnow()
        )
        rng = random.Random(1)
        size = store.seed_batch_size
        started = time.perf_counter()
        for first in range(0, parties, size):
            batch = [
                new_party(
                    PartyKind.CONTACT,
                    None,
                    last_name=f"Buyer {n}",
                    legal_form=LegalForm.NATURAL_PERSON,
                    category_id=CATEGORY.id,
                    attributes=values(rng),
                )
                for n in range(first, min(parties, first + size))
            ]
            await store.load_batch(Batch(batch))
        print(f"loaded {parties} parties with attributes: {time.perf_counter() - started:.1f} s")
    finally:
        await store.close()


async def measure(base: str, runs: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(2)
    samples: dict[str, list[float]] = {"createContact": [], "createContact + 5 attributes": []}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await wait_ready(client)

        async def ask(query: str, variables: dict[str, Any]) -> float:
            started = time.perf_counter()
            body = (
                await client.post("/graphql", json={"query": query, "variables": variables})
            ).json()
            assert "errors" not in body, body
            return (time.perf_counter() - started) * 1000

        for run in range(runs + 1):
            given = [{"field": k, "value": v} for k, v in values(rng).items()]
            order = [("createContact", PLAIN, {"n": f"Plain {run}"})]
            order.append(("createContact + 5 attributes", WITH, {"n": f"With {run}", "a": given}))
            for name, query, variables in order if run % 2 else reversed(order):
                took = await ask(query, variables)
                if run:  # the first of each warms up
                    samples[name].append(took)
        for name, where in QUERIES.items():
            await ask(LIST, {"f": where})
            samples[name] = [await ask(LIST, {"f": where}) for _ in range(runs)]
    return {name: percentiles(found) for name, found in samples.items()}


def report(found: dict[str, tuple[float, float]]) -> None:
    print("| request | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, (p50, p95) in found.items():
        print(f"| {name} | {p50:.1f} | {p95:.1f} |")
    plain, typed = found["createContact"][0], found["createContact + 5 attributes"][0]
    print(f"\ncreateContact with 5 attributes / without: {typed / plain:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--graph", help="a Neo4j URL; default: a new SQLite file")
    parser.add_argument(
        "--without-index", action="store_true", help="SQLite: drop the attribute indexes first"
    )
    args = parser.parse_args()
    if args.graph:
        wipe(args.graph)
        url = args.graph
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'attributes.db'}"
    asyncio.run(load(url, args.parties))
    if args.without_index and url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for field in FIELDS:
                conn.execute(f"DROP INDEX party_attr_{field.name}")
    flags = ("--insecure-anonymous-admin", "--rate-limit", "0")
    with serving(url, *flags) as base:
        report(asyncio.run(measure(base, args.runs)))


if __name__ == "__main__":
    main()
