r"""CPU time of a write, in the server and in Neo4j (issue 11, third slice): on a machine
shared with other work, wall-clock latency moves with everyone's load; the processor time
each side spends on one request moves far less.

    .venv/bin/python bench/write_cpu.py --graph "$NEO4J_URI" \
        --neo4j-pid "$(cat DIR/neo4j-local.pid)" [--workload create] [--requests 300] \
        [--clients 1 --clients 16] [--profile FILE]
    .venv/bin/python bench/write_cpu.py --graph sqlite:///FILE [--workload create] ...

The app runs in this process (httpx's ASGI transport: no sockets, so the client's share
is small and counted with the server's) with --insecure-anonymous-admin's viewer and no
rate limit, over a graph seeded as bench/versus.py's (`contactgraph seed --synthetic`).
Each round sends --requests mutations of one --workload from --clients clients:

- create: createContact with a MEMBER_OF link to one organization (bench/versus.py's
  "createContact with links"), its relationships in the answer; with --organizations N,
  to N organizations in turn, so that concurrent creates do not wait for one's lock;
- link: a MEMBER_OF link of a contact to that organization, its ends' names in the answer;
- record: recordActivity (a CALL) about a contact, its subjects and author in the answer;
- record-process: the same about a contact whose category's process opens a step on it
  (bench/processes.py's);
- unlink: the end of a contact's MEMBER_OF link to that organization.

The contacts and links the last four act on are made before the round, untimed. It
prints the p50 latency, the CPU milliseconds per request of this process and of Neo4j
(its pending full-text documents flushed and index updates awaited, /proc), requests
per second, and the statements and transactions (commits, read ones included) the
driver ran per request, counted on its transaction class: exact whatever the load. The
contacts it makes are tagged as bench/versus.py's and deleted at the end on Neo4j. On
SQLite (a file seeded as bench/versus.py's) the store works in this process, whose CPU
is then all of it, and the contacts stay. With --profile, the rounds run under
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
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import server_cpu
from fulltext_writes import REFRESH
from neo4j._async.work.transaction import AsyncTransactionBase
from processes import _category, _process
from versus import TAG, remove_created

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.ids import new_id

CREATE = (
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id displayName "
    "relationships(types: [MEMBER_OF], direction: OUTGOING) { toId } } }"
)
LINK = (
    "mutation($input: LinkInput!) { link(input: $input) { id from { displayName } "
    "to { displayName } } }"
)
RECORD = (
    "mutation($input: RecordActivityInput!) { recordActivity(input: $input) { id "
    "subjects { displayName } author { displayName } } }"
)
UNLINK = "mutation($id: ID!) { unlink(id: $id) { id until } }"
COUNTED = ("statements", "transactions")
WORKLOADS = ("create", "link", "record", "record-process", "unlink")
Variables = dict[str, Any]
Post = Callable[[str, Variables], Awaitable[Variables]]


def _counting(counts: Counter[str]) -> None:
    """Count each statement and commit the driver's transactions run in `counts`."""

    def counted(call: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Any]:
        async def count(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return await call(self, *args, **kwargs)

        return count

    AsyncTransactionBase.run = counted(AsyncTransactionBase.run, "statements")  # type: ignore[method-assign]
    AsyncTransactionBase._commit = counted(AsyncTransactionBase._commit, "transactions")  # type: ignore[method-assign]


def _contact(number: int, **more: Any) -> Variables:
    return {"firstName": "Cpu", "lastName": f"Contact {number}", "tags": [TAG], **more}


async def _contacts(post: Post, count: int, **more: Any) -> list[str]:
    made = [await post(CREATE, {"input": _contact(n, **more)}) for n in range(count)]
    return [m["createContact"]["id"] for m in made]


async def _processed(app: Any, post: Post, count: int) -> list[str]:
    """Contacts of a new category whose process opens a step on each recorded AGREEMENT."""
    viewer = (await post("{ viewer { id } }", {}))["viewer"]["id"]
    key = f"cpu-{new_id()[-8:].lower()}"
    await _category(app.state.store, key, _process(viewer))
    return await _contacts(post, count, categoryId=key, legalForm="NATURAL_PERSON")


async def prepared(
    workload: str, app: Any, post: Post, homes: list[str], count: int
) -> tuple[str, list[Variables]]:
    """The document of the workload and the variables of each of its requests, after
    making what they act on."""
    home = homes[0]
    if workload == "create":
        joined = [[{"type": "MEMBER_OF", "toId": home}] for home in homes]
        return CREATE, [{"input": _contact(n, links=joined[n % len(homes)])} for n in range(count)]
    if workload == "link":
        ends = await _contacts(post, count)
        return LINK, [{"input": {"type": "MEMBER_OF", "fromId": c, "toId": home}} for c in ends]
    if workload in ("record", "record-process"):
        made = await (
            _processed(app, post, count) if workload != "record" else _contacts(post, count)
        )
        kind = "AGREEMENT" if workload == "record-process" else "CALL"
        return RECORD, [
            {"input": {"type": kind, "summary": "cpu", "subjectIds": [c]}} for c in made
        ]
    ends = await _contacts(post, count, links=[{"type": "MEMBER_OF", "toId": home}])
    edges = []
    for party in ends:
        read = await post(
            "query($id: ID!) { party(id: $id) { relationships { id } } }", {"id": party}
        )
        edges.append({"id": read["party"]["relationships"][0]["id"]})
    return UNLINK, edges


async def _round(post: Post, document: str, requests: list[Variables], clients: int) -> list[float]:
    sent = iter(requests)
    times: list[float] = []

    async def client() -> None:
        for variables in sent:
            start = time.perf_counter()
            await post(document, variables)
            times.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return times


class Neo4jSide:
    """What a round needs of Neo4j: the organization its links go to, its index updates
    awaited, and its process's CPU seconds."""

    def __init__(self, store: Any, pid: int) -> None:
        self.store, self.driver, self.pid = store, store.driver, pid

    async def homes(self, count: int) -> list[str]:
        records, _, _ = await self.driver.execute_query(
            "MATCH (o:Organization) RETURN o.id AS id ORDER BY o.id SKIP 100 LIMIT $n", n=count
        )
        return [str(record["id"]) for record in records]

    async def settle(self) -> None:
        """The documents of the parties still pending flushed (graph/neo4j/pending.py; a
        revision before it has no flush_pending), and the queued index updates applied."""
        flush = getattr(self.store, "flush_pending", None)
        while flush is not None and await flush():
            pass
        await self.driver.execute_query(REFRESH)

    def cpu(self) -> float:
        return server_cpu.seconds(self.pid)


class SqliteSide:
    """The same of a SQLite file, which works in this process."""

    def __init__(self, url: str) -> None:
        self.path = urlparse(url).path

    async def homes(self, count: int) -> list[str]:
        with sqlite3.connect(self.path) as conn:
            found = conn.execute(
                "SELECT id FROM parties WHERE kind = 'ORGANIZATION' ORDER BY id LIMIT ? OFFSET 100",
                (count,),
            ).fetchall()
        return [str(row[0]) for row in found]

    async def settle(self) -> None:
        return None

    def cpu(self) -> float:
        return 0.0


async def main(args: argparse.Namespace) -> None:
    settings = Settings(graph_url=args.graph, insecure_anonymous_admin=True, rate_limit=0)
    app = create_app(settings)
    on_sqlite = args.graph.startswith("sqlite:")
    if not on_sqlite and args.neo4j_pid is None:
        raise SystemExit("--neo4j-pid: the Neo4j process, whose CPU is measured too")
    async with app.router.lifespan_context(app):
        side = SqliteSide(args.graph) if on_sqlite else Neo4jSide(app.state.store, args.neo4j_pid)
        homes = await side.homes(args.organizations)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:

            async def post(document: str, variables: Variables) -> Variables:
                answer = (
                    await http.post("/graphql", json={"query": document, "variables": variables})
                ).json()
                assert "errors" not in answer, answer
                return answer["data"]

            rounds = args.clients or [1, 16]
            count = 20 + args.requests * len(rounds)
            document, requests = await prepared(args.workload, app, post, homes, count)
            await _round(post, document, requests[:20], 1)  # warm
            print(
                "| clients | p50 ms | server CPU ms/request | Neo4j CPU ms/request | requests/s "
                "| statements/request | transactions/request |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|")
            counts: Counter[str] = Counter()
            _counting(counts)
            profile = cProfile.Profile(time.process_time)
            for at, clients in enumerate(rounds):
                mine = requests[20 + at * args.requests : 20 + (at + 1) * args.requests]
                await side.settle()
                ours, theirs = time.process_time(), side.cpu()
                counts.clear()
                start = time.perf_counter()
                if args.profile:
                    profile.enable()
                times = await _round(post, document, mine, clients)
                profile.disable()
                ran = dict(counts)
                await side.settle()  # the index updates it queued count too
                wall = time.perf_counter() - start
                ours, theirs = time.process_time() - ours, side.cpu() - theirs
                # Neo4j's CPU and the driver's statements and transactions: none on SQLite
                theirs_ms = f"{theirs * 1000 / args.requests:.2f}"
                ran_per = [f"{ran.get(n, 0) / args.requests:.2f}" for n in COUNTED]
                neo4j = ["-"] * 3 if on_sqlite else [theirs_ms, *ran_per]
                print(
                    f"| {clients} | {statistics.median(times):.1f} "
                    f"| {ours * 1000 / args.requests:.2f} | {neo4j[0]} "
                    f"| {args.requests / wall:.0f} | {neo4j[1]} | {neo4j[2]} |"
                )
    if not on_sqlite:
        await remove_created(args.graph)
    if args.profile:
        profile.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--neo4j-pid", type=int, help="the Neo4j process (not on SQLite)")
    parser.add_argument("--workload", choices=WORKLOADS, default="create")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--organizations",
        type=int,
        default=1,
        help="create: link the contacts to this many organizations in turn (one: all contend "
        "for its lock)",
    )
    parser.add_argument("--clients", type=int, action="append")
    parser.add_argument("--profile", help="write the rounds' CPU profile (pstats) to this file")
    asyncio.run(main(parser.parse_args()))
