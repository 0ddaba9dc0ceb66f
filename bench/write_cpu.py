r"""CPU time of a write, in the server and in Neo4j (issue 11, third slice): on a machine
shared with other work, wall-clock latency moves with everyone's load; the processor time
each side spends on one request moves far less.

    .venv/bin/python bench/write_cpu.py --graph "$NEO4J_URI" \
        --neo4j-pid "$(cat DIR/neo4j-local.pid)" [--requests 300] [--clients 1 --clients 16] \
        [--profile FILE]

The app runs in this process (httpx's ASGI transport: no sockets, so the client's share
is small and counted with the server's) with --insecure-anonymous-admin's viewer and no
rate limit, over a graph seeded as bench/versus.py's (`contactgraph seed --synthetic`).
Each round sends --requests createContact mutations with a MEMBER_OF link to one
organization (bench/versus.py's "createContact with links") from --clients clients, and
prints the p50 latency, the CPU milliseconds per request of this process and of Neo4j
(its index updates awaited, /proc), and requests per second. The contacts it makes are
tagged as bench/versus.py's and deleted at the end. With --profile, the rounds run under
the standard library's profiler counting this process's CPU time (not the wall clock,
which would count the waits for Neo4j), its statistics go to FILE (pstats) and the
functions that spent most of it themselves are printed (the figures of such a run
include the profiler's own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import time

import httpx
import server_cpu
from fulltext_writes import REFRESH
from versus import TAG, remove_created

from contactgraph.app import create_app
from contactgraph.config import Settings

CREATE = (
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id displayName "
    "relationships(types: [MEMBER_OF], direction: OUTGOING) { toId } } }"
)


async def _round(http: httpx.AsyncClient, home: str, requests: int, clients: int) -> list[float]:
    numbers = iter(range(requests))
    times: list[float] = []

    async def client() -> None:
        for number in numbers:
            contact = {"firstName": "Cpu", "lastName": f"Contact {number}", "tags": [TAG]}
            contact["links"] = [{"type": "MEMBER_OF", "toId": home}]
            start = time.perf_counter()
            sent = {"query": CREATE, "variables": {"input": contact}}
            answer = (await http.post("/graphql", json=sent)).json()
            times.append((time.perf_counter() - start) * 1000)
            assert "errors" not in answer, answer

    await asyncio.gather(*(client() for _ in range(clients)))
    return times


async def main(args: argparse.Namespace) -> None:
    settings = Settings(graph_url=args.graph, insecure_anonymous_admin=True, rate_limit=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        driver = app.state.store.driver
        records, _, _ = await driver.execute_query(
            "MATCH (o:Organization) RETURN o.id AS id ORDER BY o.id SKIP 100 LIMIT 1"
        )
        home = records[0]["id"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            await _round(http, home, 20, 1)  # warm
            print(
                "| clients | p50 ms | server CPU ms/request | Neo4j CPU ms/request | requests/s |"
            )
            print("|---:|---:|---:|---:|---:|")
            profile = cProfile.Profile(time.process_time)
            for clients in args.clients or [1, 16]:
                await driver.execute_query(REFRESH)
                ours, theirs = time.process_time(), server_cpu.seconds(args.neo4j_pid)
                start = time.perf_counter()
                if args.profile:
                    profile.enable()
                times = await _round(http, home, args.requests, clients)
                profile.disable()
                await driver.execute_query(REFRESH)  # the index updates it queued count too
                wall = time.perf_counter() - start
                ours, theirs = (
                    time.process_time() - ours,
                    server_cpu.seconds(args.neo4j_pid) - theirs,
                )
                print(
                    f"| {clients} | {statistics.median(times):.1f} "
                    f"| {ours * 1000 / args.requests:.2f} | {theirs * 1000 / args.requests:.2f} "
                    f"| {args.requests / wall:.0f} |"
                )
    await remove_created(args.graph)
    if args.profile:
        profile.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--neo4j-pid", type=int, required=True, help="the Neo4j process")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, action="append")
    parser.add_argument("--profile", help="write the rounds' CPU profile (pstats) to this file")
    asyncio.run(main(parser.parse_args()))
