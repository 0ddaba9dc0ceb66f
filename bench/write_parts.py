r"""What each part of a create costs Neo4j's own CPU (issue 11): the statements of one
createContact with a MEMBER_OF link, replayed with the raw driver in variants that leave
a part out.

    .venv/bin/python bench/write_parts.py --graph "$NEO4J_URI" \
        --neo4j-pid "$(cat DIR/neo4j-local.pid)" [--requests 400] [--turns 3]

It runs the app in this process once (as bench/write_cpu.py does, on a graph seeded as
bench/versus.py's) and records the statements of one create, then replays them, each
time with new ids, one managed transaction a create at one client, --requests times per
variant, the variants in turns. Per variant: p50 ms, and Neo4j's CPU ms per create
(/proc, its full-text updates awaited), split by thread: Bolt workers (the statements and
the commit, range index updates included), IndexUpdating (the eventually consistent
full-text index's queued updates, a new Lucene segment and reader each), and threads
that ended meanwhile (Lucene's merges). The variants are not behaviour the server may
have: they show what a part costs. The parties made are tagged as bench/versus.py's;
their closure rows and CREATED history entries are deleted with them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import server_cpu
from neo4j import AsyncGraphDatabase
from neo4j._async.work.transaction import AsyncTransactionBase
from versus import TAG
from write_cpu import CREATE, Neo4jSide

from contactgraph.app import create_app
from contactgraph.config import Settings

Statement = tuple[str, dict[str, Any]]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOCK = "SET p._lock = true REMOVE p._lock"
FULLTEXT = ("search", "fiscal_search", "email_keys", "dup_keys")


def _without_call(statement: Statement, label: str) -> Statement:
    """The write statement without its unit subquery that creates `label` nodes."""
    query, params = statement
    calls = re.findall(r"CALL \(\) \{ .*? \}(?= CALL \(\) \{|$)", query)
    kept = [call for call in calls if f":{label}" not in call]
    return "CYPHER replan=skip " + " ".join(kept), params


def _no_fulltext(statement: Statement) -> Statement:
    query, params = statement
    rows = json.loads(json.dumps(params))
    for key in FULLTEXT:
        rows["rows0"][0]["props"].pop(key, None)
    return query, rows


Variant = Callable[[list[Statement]], list[Statement]]
VARIANTS: dict[str, Variant] = {
    "as written": lambda plan: plan,
    # removing a property the node lacks takes the lock too, if Neo4j knows the key
    "the lock by REMOVE alone": lambda plan: [
        (plan[0][0].replace(LOCK, "REMOVE p._lock"), plan[0][1]),
        *plan[1:],
    ],
    "no lock": lambda plan: [
        (re.sub(r"CALL \(\) \{ UNWIND \$locked .*? \} ", "", plan[0][0]), plan[0][1]),
        *plan[1:],
    ],
    "no full-text properties": lambda plan: [*plan[:-1], _no_fulltext(plan[-1])],
    "no closure rows": lambda plan: [*plan[:-1], _without_call(plan[-1], "Reach")],
    "no history entries": lambda plan: [*plan[:-1], _without_call(plan[-1], "Change")],
}


async def captured(url: str) -> list[Statement]:
    """The statements of one createContact with a link, run by the app in this process."""
    statements: list[Statement] = []
    run = AsyncTransactionBase.run

    async def recording(self: Any, query: str, parameters: Any = None, **kwargs: Any) -> Any:
        statements.append((query, {**(parameters or {}), **kwargs}))
        return await run(self, query, parameters, **kwargs)

    app = create_app(Settings(graph_url=url, insecure_anonymous_admin=True, rate_limit=0))
    async with app.router.lifespan_context(app):
        home = await Neo4jSide(app.state.store, 0).home()
        variables = {"firstName": "Parts", "lastName": "Bench", "tags": [TAG]}
        variables["links"] = [{"type": "MEMBER_OF", "toId": home}]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            AsyncTransactionBase.run = recording  # type: ignore[method-assign]
            try:
                answer = await http.post(
                    "/graphql", json={"query": CREATE, "variables": {"input": variables}}
                )
            finally:
                AsyncTransactionBase.run = run  # type: ignore[method-assign]
            assert "errors" not in answer.json(), answer.json()
    return statements


def _threads(pid: int) -> Counter[str]:
    """CPU seconds of each live thread of `pid` by name (digits dropped)."""
    ticks, found = os.sysconf("SC_CLK_TCK"), Counter[str]()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = re.sub(r"\d+", "N", text[text.index("(") + 1 : text.rindex(")")])
        fields = text.rsplit(")", 1)[1].split()
        found[name, task] += (int(fields[11]) + int(fields[12])) / ticks
    return Counter({key[0] + "\0" + key[1]: value for key, value in found.items()})


def _by_name(before: Counter[str], after: Counter[str]) -> Counter[str]:
    spent: Counter[str] = Counter()
    for key, value in after.items():
        spent[key.split("\0")[0]] += value - before.get(key, 0.0)
    return spent


async def main(args: argparse.Namespace) -> None:
    plan = await captured(args.graph)
    made = set(UUID.findall(json.dumps(plan))) - set(UUID.findall(json.dumps(plan[0][1])))
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    parties: list[str] = []
    async with AsyncGraphDatabase.driver(
        args.graph, auth=auth, notifications_min_severity="OFF"
    ) as driver:

        async def create(statements: list[Statement]) -> float:
            new = {old: str(uuid.uuid4()) for old in made}
            parties.append(new[plan[-1][1]["rows0"][0]["props"]["id"]])

            async def work(tx: Any) -> None:
                for query, params in statements:
                    fresh = UUID.sub(lambda m: new.get(m[0], m[0]), json.dumps(params))
                    await (await tx.run(query, json.loads(fresh))).consume()

            start = time.perf_counter()
            async with driver.session() as session:
                await session.execute_write(work)
            return (time.perf_counter() - start) * 1000

        refresh = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()"
        print(
            "| turn | variant | p50 ms | Neo4j CPU ms/create | Bolt workers | IndexUpdating "
            "| ended threads (merges) |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|")
        for variant in VARIANTS.values():  # warm
            for _ in range(20):
                await create(variant(plan))
        for turn in range(args.turns):
            for name, variant in VARIANTS.items():
                statements = variant(plan)
                await driver.execute_query(refresh)
                before, cpu = _threads(args.neo4j_pid), server_cpu.seconds(args.neo4j_pid)
                times = [await create(statements) for _ in range(args.requests)]
                await driver.execute_query(refresh)  # its queued full-text updates count too
                spent = _by_name(before, _threads(args.neo4j_pid))
                total = (server_cpu.seconds(args.neo4j_pid) - cpu) * 1000 / args.requests
                per = {key: value * 1000 / args.requests for key, value in spent.items()}
                bolt = sum(value for key, value in per.items() if "Bolt" in key)
                print(
                    f"| {turn} | {name} | {statistics.median(times):.2f} | {total:.2f} "
                    f"| {bolt:.2f} | {per.get('neoNj.IndexUpda', 0.0):.2f} "
                    f"| {total - sum(per.values()):.2f} |"
                )
        await driver.execute_query(
            "UNWIND $ids AS id MATCH (:Party {id: id})<-[:REACHES]-(h:Reach) DETACH DELETE h",
            ids=parties,
        )
        await driver.execute_query(  # the CREATED entries; the LINKED ones stay
            "UNWIND $ids AS id MATCH (c:Change {party_id: id}) DETACH DELETE c", ids=parties
        )
        await driver.execute_query(
            "UNWIND $ids AS id MATCH (p:Party {id: id}) DETACH DELETE p", ids=parties
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--neo4j-pid", type=int, required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--turns", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
