"""Delivery latency of live activity feeds with many subscribers on one server.

    .venv/bin/python bench/subscriptions.py [--parties 10000] [--graph URL]
        [--subscribers 1000] [--events 200] [--clients 2] [--idle 10000]

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

Prints deliveries and the median, p99 and maximum latency per scenario. The
server runs with --insecure-anonymous-admin, so every subscriber is one viewer
and equal subscriptions share one execution (fan-out: all 1,000 share one).

With --broker, two server processes share that Redis (--events): subscribers
connect to one, and the activities are recorded through the other.

Then --idle subscribers connect and hold without events, once all on one feed
and once each on a party of its own (every one its own execution); the server
process's resident memory (VmRSS) is read before they connect and once all are
live, and the difference per subscriber is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from registry import arguments, server_process
from websockets.asyncio.client import connect

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import DEFAULT_HIERARCHY_TYPES, Page, Party, PartyFilter, PartyKind
from contactgraph.graph.times import utcnow

FLAGS = (
    "--insecure-anonymous-admin",
    "--rate-limit",
    "0",
    "--max-subscriptions",
    "100000",
    "--max-subscriptions-per-viewer",
    "100000",
)

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

    connecting = asyncio.Semaphore(50)  # handshakes at once, as clients come and go

    async def subscriber(party: str, opened: asyncio.Event) -> None:
        url = f"ws://{address}/graphql"
        await connecting.acquire()
        async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            payload = {"query": FEED, "variables": {"id": party}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            connecting.release()
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
                ready = (await http.get("/readyz")).status_code == 200  # the broker too
                if ready and (await http.get("/healthz")).json()["subscribers"] >= subscribers:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server never held {subscribers} subscriptions")


async def publish(base: str, author: str, scenario: Scenario) -> dict:
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


@contextmanager
def holding(base: str, watched: list[str], clients: int, arrivals: list) -> Iterator[None]:
    """Client processes holding one subscription per watched party while the block runs;
    what they stamped is in `arrivals` after it."""
    address = base.removeprefix("http://")
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in range(clients)]
    stop = ctx.Event()
    out = ctx.Queue()
    shares = [watched[i::clients] for i in range(clients)]
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
    asyncio.run(until_ready(base, len(watched)))
    try:
        yield
    finally:
        stop.set()
        arrivals.extend(item for _ in processes for item in out.get(timeout=120))
        for process in processes:
            process.join(60)


def run(
    base: str, scenario: Scenario, author: str, clients: int, writer: str | None = None
) -> list[float]:
    """Latencies of the scenario's deliveries, its events recorded through `writer` (another
    server process sharing the broker) when given."""
    arrivals: list[tuple[str, float]] = []
    with holding(base, scenario.watched, clients, arrivals):
        sent = asyncio.run(publish(writer or base, author, scenario))
        time.sleep(1)
    return [(at - sent[summary]) * 1000 for summary, at in arrivals]


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


def idle(url: str, watched: list[str], clients: int) -> tuple[int, int, int]:
    """The server's resident KiB before and with `watched` idle subscribers, and how
    many executions they share."""
    with server_process(url, *FLAGS) as (base, server):
        asyncio.run(until_ready(base, 0))
        before = resident_kib(server.pid)
        with holding(base, watched, clients, []):
            time.sleep(2)
            after = resident_kib(server.pid)
            executions = httpx.get(f"{base}/healthz").json()["executions"]
    return before, after, executions


async def scenarios(
    url: str, subscribers: int, events: int, idlers: int
) -> tuple[str, list[Scenario], list[Scenario]]:
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
        everyone = await store.list_parties(PartyFilter(), Page(idlers), False)
        shared = Scenario("idle, one feed", [company] * idlers, [], 0)
        own = Scenario("idle, a feed each", [p.id for p in everyone.parties][:idlers], [], 0)
        return users[0].id, [spread, fan_out], [shared, own]
    finally:
        await store.close()


def own_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--idle", type=int, default=10_000, help="idle subscribers")
    parser.add_argument(
        "--broker",
        metavar="redis://HOST:PORT",
        help="two server processes on this Redis: subscribers on one, writes through the other",
    )


def main() -> None:
    args = arguments(__doc__, 10_000, 1, own_flags)
    author, timed, idlers = asyncio.run(
        scenarios(args.graph, args.subscribers, args.events, args.idle)
    )
    print(
        f"\n| {args.subscribers:,} subscribers, {args.events} events | deliveries "
        "| median ms | p99 ms | max ms |"
    )
    print("|---|---:|---:|---:|---:|")
    for scenario in timed:
        with ExitStack() as stack:
            flags = (*FLAGS, "--events", args.broker) if args.broker else FLAGS
            base, _ = stack.enter_context(server_process(args.graph, *flags))
            writer = None
            if args.broker:  # once the first has made the anonymous administrator
                asyncio.run(until_ready(base, 0))
                writer, _ = stack.enter_context(server_process(args.graph, *flags))
            latencies = sorted(run(base, scenario, author, args.clients, writer))
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        print(
            f"| {scenario.name} | {len(latencies):,} | {statistics.median(latencies):.1f} "
            f"| {p99:.1f} | {latencies[-1]:.1f} |"
        )
    if not args.idle:
        return
    print("\n| idle subscribers | held | executions | server MiB before | with them | KiB each |")
    print("|---|---:|---:|---:|---:|---:|")
    for scenario in idlers:
        before, after, executions = idle(args.graph, scenario.watched, args.clients)
        each = (after - before) / len(scenario.watched)
        print(
            f"| {scenario.name} | {len(scenario.watched):,} | {executions:,} "
            f"| {before / 1024:.0f} | {after / 1024:.0f} | {each:.1f} |"
        )


if __name__ == "__main__":
    main()
