r"""The Cypher statements one of bench/versus.py's read workloads runs on Neo4j, each
PROFILEd: its database hits (exact whatever the load, where wall-clock times are not),
and with --plan its operators with their rows and hits.

    .venv/bin/python bench/cypher_hits.py --graph "$NEO4J_URI" --only rollup [--plan]

The app runs in this process (httpx's ASGI transport) with --insecure-anonymous-admin's
viewer, over a graph seeded as versus.py's (`contactgraph seed --synthetic`). The
statements read while the workload's second request runs are recorded as the store runs
them (reads run each statement as its own transaction, graph/neo4j/session.py; a
background read that ran meanwhile, such as the overdue watch's, shows too), then run
again under PROFILE with the same parameters.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import neo4j
from read_cpu import READS
from versus import contactgraph_ops, pick, served_here

from contactgraph.graph.neo4j import session

Statement = tuple[str, dict[str, Any]]


def recording(into: list[Statement]) -> None:
    """Reads' statements recorded as they run."""
    run = session._AutoCommit.run

    async def recorded(
        self: session._AutoCommit, query: str, parameters: dict[str, Any] | None = None, **kw: Any
    ) -> neo4j.AsyncResult:
        into.append((query, {**(parameters or {}), **kw}))
        return await run(self, query, parameters, **kw)

    session._AutoCommit.run = recorded  # type: ignore[method-assign]


def hits(plan: dict[str, Any]) -> int:
    return int(plan.get("dbHits", 0)) + sum(hits(child) for child in plan.get("children", []))


def operators(plan: dict[str, Any], depth: int = 0) -> list[str]:
    line = f"{'  ' * depth}{plan['operatorType']} rows={plan.get('rows')} hits={plan.get('dbHits')}"
    return [line] + [
        row for child in plan.get("children", []) for row in operators(child, depth + 1)
    ]


async def main(args: argparse.Namespace) -> None:
    picks = await pick(args.graph)
    statements: list[Statement] = []
    recording(statements)
    ask = contactgraph_ops(picks)[args.only].ask
    async with served_here(args.graph, picks) as post:
        await ask(post, 0)  # warm: the statements of the second request are the ones
        statements.clear()
        await ask(post, 1)
    user, password = session._credentials()
    driver = neo4j.AsyncGraphDatabase.driver(
        args.graph, auth=(user, password), notifications_min_severity="OFF"
    )
    try:
        for query, parameters in statements:
            async with driver.session() as profiled:
                summary = await (await profiled.run(f"PROFILE {query}", parameters)).consume()
            assert summary.profile is not None
            print(f"{hits(summary.profile):>7,} db hits: {query[:150]}")
            if args.plan:
                print(
                    "\n".join(
                        f"        {row}"
                        for row in operators(summary.profile)
                        if "hits=0" not in row
                    )
                )
    finally:
        await driver.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True, help="a Neo4j graph seeded as versus.py's")
    parser.add_argument("--only", required=True, choices=READS, metavar="WORKLOAD")
    parser.add_argument("--plan", action="store_true", help="each statement's operators too")
    asyncio.run(main(parser.parse_args()))
