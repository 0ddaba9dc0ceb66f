"""Delivery latency of live activity feeds with many subscribers on one server.

    .venv/bin/python bench/subscriptions.py [--parties 10000] [--graph URL]
        [--subscribers 1000] [--events 200] [--clients 2]

Seeds an empty graph first (as bench/registry.py does) and starts
`contactgraph serve` on loopback. Client processes (--clients) open
--subscribers WebSocket connections (graphql-transport-ws), one
activityAdded subscription each, and stamp every message on arrival. The main
process then records --events activities over HTTP, 50 ms apart, and
stamps each just before sending its mutation; the latency of a delivery is
arrival minus that stamp (both CLOCK_MONOTONIC, shared by the processes). It
is an upper bound on commit-to-client: it includes the mutation's request
and its write. Two scenarios run:

- spread: every subscriber on a random organization with
  includeDescendants, each event on a random employee, so an event reaches
  the few dashboards above its subject;
- fan-out: every subscriber on the same company with includeDescendants,
  each event on a party below it, so every event goes to all of them
  (a fifth as many events, a second apart: each must reach everyone first).

Prints deliveries and the median, p99 and maximum latency per scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import statistics
import time
from dataclasses import dataclass

import httpx
from registry import arguments, serving
from websockets.asyncio.client import connect

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import DEFAULT_HIERARCHY_TYPES, Page, Party, PartyFilter, PartyKind
from contactgraph.graph.times import utcnow

FEED = """subscription($id: ID!) { activityAdded(subjectId: $id, includeDescendants: true) {
  id summary type occurredAt sourceId source { displayName } } }"""
RECORD = """mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }"""


@dataclass(frozen=True)
class Scenario:
    name: str
    watched: list[str]  # one party per subscriber
    subjects: list[str]  # one subject per event
    pause: float  # seconds between events, so each event's latency is its own


async def listen(address: str, parties: list[str], ready, stop, out) -> None:
    """Hold one subscription per party and stamp what arrives until told to stop."""
    arrivals: list[tuple[str, float]] = []

    async def subscriber(party: str, opened: asyncio.Event) -> None:
        url = f"ws://{address}/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            payload = {"query": FEED, "variables": {"id": party}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            opened.set()
            async for message in ws:
                at = time.monotonic()
                data = json.loads(message)
                if data["type"] == "next":
                    arrivals.append((data["payload"]["data"]["activityAdded"]["summary"], at))

    events = [asyncio.Event() for _ in parties]
    tasks = [asyncio.create_task(subscriber(p, e)) for p, e in zip(parties, events, strict=True)]
    opened = asyncio.ensure_future(asyncio.gather(*(e.wait() for e in events)))
    await asyncio.wait([opened, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done():
            task.result()  # a subscriber that could not connect fails the run here
    ready.set()
    await asyncio.to_thread(stop.wait)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put(arrivals)


def client_process(address: str, parties: list[str], ready, stop, out) -> None:
    asyncio.run(listen(address, parties, ready, stop, out))


async def until_ready(base: str, subscribers: int) -> None:
    """Wait until the server answers and holds `subscribers` subscriptions."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _ in range(3000):
            try:
                if (await http.get("/healthz")).json()["subscribers"] >= subscribers:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server never held {subscribers} subscriptions")


async def publish(base: str, author: str, scenario: Scenario) -> dict:
    await until_ready(base, len(scenario.watched))
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for number, subject in enumerate(scenario.subjects):
            summary = f"event {number}"
            variables = {
                "i": {
                    "type": "CALL",
                    "summary": summary,
                    "authorId": author,
                    "subjectIds": [subject],
                }
            }
            sent[summary] = time.monotonic()
            body = await http.post("/graphql", json={"query": RECORD, "variables": variables})
            assert "errors" not in body.json(), body.text
            await asyncio.sleep(scenario.pause)
    return sent


def run(base: str, scenario: Scenario, author: str, clients: int) -> list[float]:
    address = base.removeprefix("http://")
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in range(clients)]
    stop = ctx.Event()
    out = ctx.Queue()
    shares = [scenario.watched[i::clients] for i in range(clients)]
    processes = [
        ctx.Process(target=client_process, args=(address, share, flag, stop, out))
        for share, flag in zip(shares, ready, strict=True)
    ]
    asyncio.run(until_ready(base, 0))
    for process in processes:
        process.start()
    for flag, process in zip(ready, processes, strict=True):
        while not flag.wait(1):
            if not process.is_alive():
                raise RuntimeError("a client process failed; its error is above")
    sent = asyncio.run(publish(base, author, scenario))
    time.sleep(1)
    stop.set()
    arrivals = [item for _ in processes for item in out.get(timeout=120)]
    for process in processes:
        process.join(60)
    return [(at - sent[summary]) * 1000 for summary, at in arrivals]


async def scenarios(url: str, subscribers: int, events: int) -> tuple[str, list[Scenario]]:
    store = open_store(url)
    await store.start()
    try:
        rng = random.Random(9)

        async def listed(kind: PartyKind, first: int) -> list[Party]:
            page = await store.list_parties(PartyFilter(kinds=(kind,)), Page(first), False)
            return page.parties

        orgs = await listed(PartyKind.ORGANIZATION, 5000)
        users = await listed(PartyKind.USER, 1)
        now = utcnow()
        watched = [rng.choice(orgs).id for _ in range(subscribers)]
        staff = await store.children(list(dict.fromkeys(watched)), DEFAULT_HIERARCHY_TYPES, now)
        below = [child.id for found in staff.values() for child, _ in found]
        spread = Scenario("spread", watched, [rng.choice(below) for _ in range(events)], 0.05)
        sizes = {o.id: len(staff.get(o.id, ())) for o in orgs if o.id in staff}
        company = max(sizes, key=sizes.__getitem__)
        tree = (
            await store.descendants([company], DEFAULT_HIERARCHY_TYPES, 64, now, Page(5000), False)
        )[company]
        inside = [row.party.id for row in tree.rows]
        fan_out = Scenario(
            "fan-out",
            [company] * subscribers,
            [rng.choice(inside) for _ in range(max(1, events // 5))],
            1.0,
        )
        return users[0].id, [spread, fan_out]
    finally:
        await store.close()


def own_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--clients", type=int, default=2, help="client processes")


def main() -> None:
    args = arguments(__doc__, 10_000, 1, own_flags)
    author, chosen = asyncio.run(scenarios(args.graph, args.subscribers, args.events))
    print(
        f"\n| {args.subscribers:,} subscribers, {args.events} events | deliveries "
        "| median ms | p99 ms | max ms |"
    )
    print("|---|---:|---:|---:|---:|")
    for scenario in chosen:
        with serving(args.graph) as base:
            latencies = sorted(run(base, scenario, author, args.clients))
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        print(
            f"| {scenario.name} | {len(latencies):,} | {statistics.median(latencies):.1f} "
            f"| {p99:.1f} | {latencies[-1]:.1f} |"
        )


if __name__ == "__main__":
    main()
