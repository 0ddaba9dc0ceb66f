"""contactgraph beside the Neo4j GraphQL Library (issue 11): six workloads, one Neo4j graph.

The peer is bench/peer: @neo4j/graphql on Apollo Server, type definitions written over
contactgraph's own Neo4j data model (bench/peer/README.md). Both serve the same Neo4j at
once; every workload's answers must be the same before it is timed.

    # Neo4j 5.26 with the 20,000-party synthetic graph (Java 17 and Maven; Node 20 for the peer)
    eval "$(tools/neo4j-local/start --port 7697 --data /tmp/neo4j-versus-20k | sed 's/^/export /')"
    .venv/bin/contactgraph seed --synthetic 20000 --graph "$NEO4J_URI"
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --runs 30 --duration 10

    # 100,000 parties: seeding takes about three minutes
    eval "$(tools/neo4j-local/start --port 7698 --data /tmp/neo4j-versus-100k | sed 's/^/export /')"
    .venv/bin/contactgraph seed --synthetic 100000 --graph "$NEO4J_URI"
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --runs 30 --duration 10

    # the embedded store beside them (FILE is seeded with --parties and --seed when missing)
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --sqlite /tmp/versus-20k.db
    # beside an earlier revision: a worktree with its own virtualenv, in the same rotation
    git worktree add /tmp/cg-85a59b0 85a59b0 && python3 -m venv /tmp/cg-85a59b0/.venv
    /tmp/cg-85a59b0/.venv/bin/pip install -e /tmp/cg-85a59b0
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --baseline /tmp/cg-85a59b0
    # one process beside two on one port (serve --workers 2), live feeds through Redis
    eval "$(tools/redis-local/start --port 6391 --data /tmp/redis-versus | sed 's/^/export /')"
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --contactgraph-only --workers 2
    # contactgraph alone, one workload (no Node needed); the embedded store alone
    .venv/bin/python bench/versus.py --graph "$NEO4J_URI" --contactgraph-only --only tree
    .venv/bin/python bench/versus.py --sqlite /tmp/versus-20k.db --parties 20000

Credentials come from NEO4J_USER and NEO4J_PASSWORD (the lines `start` prints), for
contactgraph, the peer and the clean-up alike; an empty Neo4j is seeded with --parties.
`npm ci` runs in bench/peer when its node_modules is missing. Stop Neo4j with
`tools/neo4j-local/stop --data DIR`. PEER_TCP_NODELAY=0 runs the peer with Nagle's
algorithm on (bench/peer/README.md).

Each server is asked the same things: the largest organization (the largest subtree of
all companies, umbrella and home organizations), the first 50 organizations, the contact
with the most relationships (one of them ended, when any is) among the first 5,000, and
an organization outside all of these that new contacts join. contactgraph runs with
`--insecure-anonymous-admin` (no credential check: the peer has none), no rate limit,
and a page ceiling that fits every descendant.

Per workload: one warm-up request per server, then one with X-Debug-Round-Trips whose
answers, put in one shape (the peer's per-type child lists merged in contactgraph's
display order; relationships compared as sets, since the peer's come in one list per type
and direction), must be equal or the run stops; then --runs requests one at a time and
--duration seconds at --concurrency clients, each on its own keep-alive connection. Servers
take turns within every run and every 2-second slice of the throughput phase, so the noise
of shared cores falls on all of them. Creates tag their contacts `bench-versus`; the run
deletes tagged parties from Neo4j at its start and end, and serves a fresh copy of the
SQLite file, so every run reads the same graph. The synthetic ids depend on the day of
seeding: an SQLite file seeded on another day than the Neo4j graph holds other ids, and
its answers are then not compared with theirs.

With --rotations K the whole rotation of workloads runs K times, one after another, and
each cell is made of all K: the p50 and p95 of every request at concurrency 1 together,
the median of the K throughputs (one rotation's figures scatter by 10-20 % on a shared
machine; the spread of the K throughputs is printed under the table).

Prints a Markdown table: p50 and p95 ms at concurrency 1, ops/s at --concurrency, the
ratios to the peer (without it, to contactgraph on Neo4j), and the round trips
of one request: contactgraph's store calls (X-Debug-Round-Trips; one may run several
Cypher statements in its transaction) and the peer's Cypher statements (the sessions its
library opens, counted by bench/peer/server.mjs).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import traversals
from compare import commit, ready
from http1 import Connection
from registry import CLI, free_port, is_empty, percentiles, seed_synthetic, serving

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Direction,
    Page,
    PartyFilter,
    PartyKind,
    RelType,
)
from contactgraph.graph.neo4j.store import Neo4jStore
from contactgraph.graph.times import format_instant, utcnow

PEER = Path(__file__).resolve().parent / "peer"
TAG = "bench-versus"  # on every party a run creates: the clean-up deletes by it
SLICE = 2.0  # seconds of one server's turn in the throughput phase
# no credential check (the peer has none), no rate limit, time for the slowest answer at 16
CG_FLAGS = ("--insecure-anonymous-admin", "--rate-limit", "0", "--request-timeout", "120")
Data = Any
Post = Callable[[str, dict[str, Any]], Awaitable[Data]]

WORKLOADS = {
    "tree": "org tree 3 levels deep under the largest organization",
    "orgs": "50 organizations, each with its children and 5 newest activities",
    "descendants": "all descendants of the largest organization (id, depth)",
    "rollup": "first 50 of its roll-up timeline",
    "relationships": "one contact with its current relationships",
    "create": "create a contact and link it (cg: createContact, then link)",
    "create-filed": "the same, cg in one request (createContact with parentId)",
    "create-nested": "the same, cg in one request (createContact with links)",
}


@dataclass(frozen=True)
class Picks:
    """The parties the workloads ask about, found in one graph."""

    root: str  # the largest organization
    below: int  # parties below it
    contact: str  # whose relationships are read
    home: str  # the organization created contacts join: outside everything read


async def pick(url: str) -> Picks:
    """Found through the store port, so that both stores pick alike from the same graph."""
    store = open_store(url)
    await store.start()
    try:
        sizes = await traversals.root_sizes(store, 1_000_000)
        root = max(sizes, key=sizes.__getitem__)
        tree = (
            await store.descendants(
                [root], DEFAULT_HIERARCHY_TYPES, traversals.DEPTH, utcnow(), Page(1_000_000), False
            )
        )[root]
        orgs = PartyFilter(kinds=(PartyKind.ORGANIZATION,))
        first = (await store.list_parties(orgs, Page(3000), False)).parties
        read = {root, *(row.party.id for row in tree.rows), *(o.id for o in first[:50])}
        home = next(o.id for o in reversed(first) if o.id not in read)
        people = PartyFilter(kinds=(PartyKind.CONTACT,))
        contacts = [p.id for p in (await store.list_parties(people, Page(5000), False)).parties]
        edges = await store.relationships(contacts, list(RelType), Direction.BOTH, None)

        def richness(party_id: str) -> tuple[bool, int, str]:
            rels = edges.get(party_id, [])
            return any(r.until for r in rels), len(rels), party_id

        return Picks(root, len(tree.rows), max(contacts, key=richness), home)
    finally:
        await store.close()


@asynccontextmanager
async def served_here(graph: str, picks: Picks) -> AsyncIterator[Post]:
    """`post` to an app served in this process (httpx's ASGI transport: no sockets) with
    the viewer of --insecure-anonymous-admin, no rate limit and pages as large as the
    picked tree; a request the server refuses stops the bench."""
    settings = Settings(
        graph_url=graph,
        insecure_anonymous_admin=True,
        rate_limit=0,
        max_page_size=max(500, picks.below),
        allowed_hosts=("localhost",),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:

            async def post(query: str, variables: dict[str, Any]) -> Data:
                answer = await http.post("/graphql", json={"query": query, "variables": variables})
                body = answer.json()
                if "errors" in body:
                    raise SystemExit(f"the server refused: {body['errors']}")
                return body["data"]

            yield post


# -- what contactgraph is asked -------------------------------------------------

CG_TREE = (
    "query($id: ID!) { party(id: $id) { id displayName children { id displayName "
    "children { id displayName children { id displayName } } } } }"
)
CG_ORGS = (
    "{ parties(filter: {kinds: [ORGANIZATION]}, first: 50) { edges { node { id "
    "children { id displayName } timeline(first: 5) { edges { node { id } } } } } } }"
)
CG_DESCENDANTS = (
    "query($id: ID!, $first: Int!) { party(id: $id) { descendants(first: $first) { "
    "pageInfo { hasNextPage } edges { node { depth party { id } } } } } }"
)
CG_ROLLUP = (
    "query($id: ID!) { party(id: $id) { timeline(first: 50, includeDescendants: true) "
    "{ edges { node { id } } } } }"
)
CG_RELATIONSHIPS = "query($id: ID!) { party(id: $id) { relationships { id type fromId toId } } }"
CG_CREATE = (
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id displayName } }"
)
CG_LINK = "mutation($input: LinkInput!) { link(input: $input) { toId } }"
CG_CREATE_FILED = (
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id displayName "
    "relationships(types: [MEMBER_OF], direction: OUTGOING) { toId } } }"
)

# -- what the peer is asked (bench/peer/schema.graphql) ---------------------------

# an edge valid now, as contactgraph's valid_at, in the library's filter on edge properties
CURRENT = "(where: {edge: {since_LTE: $now, OR: [{until_EQ: null}, {until_GT: $now}]}})"
# an Organization's children: PART_OF in, EMPLOYS out, MEMBER_OF in
CHILDREN = ("units", "staff", "members")
# a Contact's edges: field, type, and whether the edge points at the contact
CONTACT_EDGES = (
    ("employers", "EMPLOYS", True),
    ("memberOf", "MEMBER_OF", False),
    ("knows", "KNOWS", False),
    ("knownBy", "KNOWS", True),
    ("heirOf", "HEIR_OF", False),
    ("heirs", "HEIR_OF", True),
    ("reportsTo", "REPORTS_TO", False),
    ("reports", "REPORTS_TO", True),
    ("responsibles", "RESPONSIBLE_FOR", True),
)


def peer_children(inner: str = "") -> str:
    """An organization's current children, one connection per type; `inner` is selected on
    those that are organizations."""
    more = f" ... on Organization {{ {inner} }}" if inner else ""
    return " ".join(
        f"{field}: {field}Connection{CURRENT} {{ edges {{ node {{ id displayName{more} }} }} }}"
        for field in CHILDREN
    )


PEER_TREE = (
    "query($id: ID!, $now: DateTime!) { organizations(where: {id_EQ: $id}) "
    f"{{ id displayName {peer_children(peer_children(peer_children()))} }} }}"
)
PEER_ORGS = (
    "query($now: DateTime!) { organizations(where: {archivedAt_EQ: null}, "
    f"sort: [{{id: ASC}}], limit: 50) {{ id {peer_children()} "
    "activities(limit: 5, sort: [{occurredAt: DESC}, {id: DESC}]) { id } } }"
)
PEER_DESCENDANTS = (
    "query($id: ID!) { organizations(where: {id_EQ: $id}) { descendants { id depth } } }"
)
PEER_ROLLUP = "query($id: ID!) { organizations(where: {id_EQ: $id}) { rollup(first: 50) { id } } }"
PEER_RELATIONSHIPS = (
    "query($id: ID!, $now: DateTime!) { contacts(where: {id_EQ: $id}) { id "
    + " ".join(
        f"{field}: {field}Connection{CURRENT} {{ edges {{ properties {{ id }} node {{ id }} }} }}"
        for field, _, _ in CONTACT_EDGES
    )
    + " } }"
)
PEER_CREATE = (
    "mutation($input: [ContactCreateInput!]!) { createContacts(input: $input) "
    "{ contacts { id displayName memberOf { id } } } }"
)


# -- answers in one shape ---------------------------------------------------------


def kids(node: Data) -> list[Data]:
    """The peer's children of an organization, merged from its per-type lists in
    contactgraph's display order (model.display_order: name case-folded, then id)."""
    found = [edge["node"] for field in CHILDREN for edge in node.get(field, {"edges": []})["edges"]]
    return sorted(found, key=lambda kid: (kid["displayName"].casefold(), kid["id"]))


def cg_tree(node: Data) -> list[Any]:
    return [node["id"], [cg_tree(kid) for kid in node.get("children", [])]]


def peer_tree(node: Data) -> list[Any]:
    return [node["id"], [peer_tree(kid) for kid in kids(node)]]


def cg_orgs(data: Data) -> list[Any]:
    return [
        [
            o["id"],
            [k["id"] for k in o["children"]],
            [a["node"]["id"] for a in o["timeline"]["edges"]],
        ]
        for o in (edge["node"] for edge in data["parties"]["edges"])
    ]


def peer_orgs(data: Data) -> list[Any]:
    return [
        [o["id"], [k["id"] for k in kids(o)], [a["id"] for a in o["activities"]]]
        for o in data["organizations"]
    ]


def cg_descendants(data: Data) -> list[Any]:
    page = data["party"]["descendants"]
    if page["pageInfo"]["hasNextPage"]:
        raise SystemExit("descendants: contactgraph's page did not hold them all")
    return [[e["node"]["party"]["id"], e["node"]["depth"]] for e in page["edges"]]


def peer_relationships(data: Data) -> list[Any]:
    (contact,) = data["contacts"]
    found = []
    for field, type_, inward in CONTACT_EDGES:
        for edge in contact[field]["edges"]:
            ends = [edge["node"]["id"], contact["id"]]
            found.append([edge["properties"]["id"], type_, *(ends if inward else ends[::-1])])
    return sorted(found)


@dataclass(frozen=True)
class Operation:
    """A workload as one API asks it (Post, the request's number), and how its answer takes
    the shape both APIs' answers share."""

    ask: Callable[[Post, int], Awaitable[Data]]
    normal: Callable[[Data], Any]


def read(query: str, variables: dict[str, Any], normal: Callable[[Data], Any]) -> Operation:
    async def ask(post: Post, number: int) -> Data:
        return await post(query, variables)

    return Operation(ask, normal)


def new_contact(number: int, **more: Any) -> dict[str, Any]:
    return {"firstName": "Versus", "lastName": f"Contact {number}", "tags": [TAG], **more}


def contactgraph_ops(picks: Picks) -> dict[str, Operation]:
    root = {"id": picks.root}

    async def create(post: Post, number: int) -> Data:
        made = (await post(CG_CREATE, {"input": new_contact(number)}))["createContact"]
        link = {"type": "MEMBER_OF", "fromId": made["id"], "toId": picks.home}
        linked = (await post(CG_LINK, {"input": link}))["link"]
        return [made["displayName"], [linked["toId"]]]

    async def create_filed(post: Post, number: int) -> Data:
        filed = new_contact(number, parentId=picks.home)
        made = (await post(CG_CREATE_FILED, {"input": filed}))["createContact"]
        return [made["displayName"], [rel["toId"] for rel in made["relationships"]]]

    async def create_nested(post: Post, number: int) -> Data:
        linked = new_contact(number, links=[{"type": "MEMBER_OF", "toId": picks.home}])
        made = (await post(CG_CREATE_FILED, {"input": linked}))["createContact"]
        return [made["displayName"], [rel["toId"] for rel in made["relationships"]]]

    return {
        "tree": read(CG_TREE, root, lambda data: cg_tree(data["party"])),
        "orgs": read(CG_ORGS, {}, cg_orgs),
        "descendants": read(CG_DESCENDANTS, {**root, "first": picks.below}, cg_descendants),
        "rollup": read(
            CG_ROLLUP,
            root,
            lambda data: [e["node"]["id"] for e in data["party"]["timeline"]["edges"]],
        ),
        "relationships": read(
            CG_RELATIONSHIPS,
            {"id": picks.contact},
            lambda data: sorted(
                [r["id"], r["type"], r["fromId"], r["toId"]] for r in data["party"]["relationships"]
            ),
        ),
        "create": Operation(create, lambda answer: answer),
        "create-filed": Operation(create_filed, lambda answer: answer),
        "create-nested": Operation(create_nested, lambda answer: answer),
    }


def peer_ops(picks: Picks, now: str) -> dict[str, Operation]:
    root = {"id": picks.root}

    async def create(post: Post, number: int) -> Data:
        member = {"connect": [{"where": {"node": {"id_EQ": picks.home}}}]}
        contact = new_contact(number, memberOf=member)
        contact["displayName"] = f"{contact['firstName']} {contact['lastName']}"
        (made,) = (await post(PEER_CREATE, {"input": [contact]}))["createContacts"]["contacts"]
        return [made["displayName"], [org["id"] for org in made["memberOf"]]]

    return {
        "tree": read(
            PEER_TREE, {**root, "now": now}, lambda data: peer_tree(data["organizations"][0])
        ),
        "orgs": read(PEER_ORGS, {"now": now}, peer_orgs),
        "descendants": read(
            PEER_DESCENDANTS,
            root,
            lambda data: [[d["id"], d["depth"]] for d in data["organizations"][0]["descendants"]],
        ),
        "rollup": read(
            PEER_ROLLUP, root, lambda data: [a["id"] for a in data["organizations"][0]["rollup"]]
        ),
        "relationships": read(
            PEER_RELATIONSHIPS, {"id": picks.contact, "now": now}, peer_relationships
        ),
        "create": Operation(create, lambda answer: answer),
        "create-filed": Operation(create, lambda answer: answer),
        "create-nested": Operation(create, lambda answer: answer),
    }


# -- servers --------------------------------------------------------------------


@contextmanager
def peer_serving(url: str) -> Iterator[str]:
    """bench/peer's server on a free loopback port over the Neo4j at `url`, while the block
    runs; its packages installed first (npm ci) when missing."""
    if not (PEER / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    port = free_port()
    server = subprocess.Popen(
        ["node", "server.mjs", str(port)],
        cwd=PEER,
        env={**os.environ, "NEO4J_URI": url},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if not server.stdout.readline().startswith("peer:"):  # printed once it listens
            raise SystemExit(f"bench/peer/server.mjs did not start (exit {server.wait()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def fresh_copy(seeded: Path, args: argparse.Namespace, stack: ExitStack) -> str:
    """A copy of the SQLite file, seeded first when missing: a run's creates stay in it."""
    if not seeded.exists():
        seed_synthetic(f"sqlite:///{seeded.resolve()}", args.parties, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="versus-"))
    stack.callback(shutil.rmtree, folder)
    for suffix in ("", "-wal"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", folder / f"graph.db{suffix}")
    return f"sqlite:///{folder / 'graph.db'}"


async def remove_created(url: str) -> int:
    """Delete the parties runs made (tagged TAG) with their edges and the closure rows into
    them (left, they would pile up in the index of their ancestors' rows), in transactions
    of 1,000."""
    store = open_store(url)
    assert isinstance(store, Neo4jStore)
    await store.start()
    try:
        async with store.driver.session() as session:
            result = await session.run(
                "MATCH (p:Party) WHERE $tag IN p.tags "
                "CALL (p) { OPTIONAL MATCH (p)<-[:REACHES]-(h:Reach) DETACH DELETE h, p } "
                "IN TRANSACTIONS OF 1000 ROWS RETURN count(p) AS n",
                tag=TAG,
            )
            return int((await result.single(strict=True))["n"])
    finally:
        await store.close()


# -- measuring ------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server to measure: its column's name, address, operations and the graph's picks."""

    name: str
    base: str
    ops: dict[str, Operation]
    picks: Picks


@dataclass
class Result:
    latency: dict[str, list[float]]  # ms at concurrency 1, by server
    throughputs: dict[str, list[float]]  # ops/s at --concurrency, one a rotation
    trips: dict[str, int]  # round trips of one operation
    operations: int  # all that were timed, for the load generator's cost

    def add(self, other: Result) -> None:
        """Another rotation's figures of the same workload."""
        for name, samples in other.latency.items():
            self.latency[name] += samples
            self.throughputs[name] += other.throughputs[name]
        self.operations += other.operations

    def throughput(self, name: str) -> float:
        return statistics.median(self.throughputs[name])


def poster(connection: Connection, trips: list[int] | None = None) -> Post:
    """GraphQL requests on one connection; with `trips`, each answer's round trips (asked
    for with X-Debug-Round-Trips) are added to it. An error stops the run."""
    headers = {"X-Debug-Round-Trips": "1"} if trips is not None else {}

    async def post(query: str, variables: dict[str, Any]) -> Data:
        body = {"query": query, "variables": variables}
        status, raw = await connection.post("/graphql", body, headers)
        answer = json.loads(raw)
        if status != 200 or "errors" in answer:
            raise SystemExit(f"{connection.host}:{connection.port}: {status} {answer}")
        if trips is not None:
            trips.append(answer.get("extensions", {}).get("roundTrips", 0))
        return answer["data"]

    return post


def turns(count: int, index: int) -> list[int]:
    """Indexes of `count` servers in rotating order: each goes first as often as the others."""
    return [(index + i) % count for i in range(count)]


def check(workload: str, servers: list[Server], answers: list[Any]) -> None:
    """Servers of the same graph must answer the same; when not, both answers go to a
    temporary folder and the run stops."""
    for server, answer in zip(servers[1:], answers[1:], strict=True):
        if server.picks == servers[0].picks and answer != answers[0]:
            folder = Path(tempfile.mkdtemp(prefix=f"versus-{workload}-"))
            for named, text in ((servers[0], answers[0]), (server, answer)):
                (folder / f"{named.name}.json").write_text(json.dumps(text, indent=1))
            raise SystemExit(
                f"{workload}: {server.name} answers differently from {servers[0].name} "
                f"(both, normalised, in {folder})"
            )


async def burst(op: Operation, posts: list[Post], seconds: float, numbers: Iterator[int]) -> int:
    """Operations done by all clients, each asking one after another, in `seconds`."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def client(post: Post) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await op.ask(post, next(numbers))
            done += 1

    await asyncio.gather(*(client(post) for post in posts))
    return done


async def measure(
    workload: str,
    servers: list[Server],
    clients: list[list[Connection]],
    args: argparse.Namespace,
    numbers: Iterator[int],
) -> Result:
    ops = [server.ops[workload] for server in servers]
    answers, trips = [], {}
    for server, op, mine in zip(servers, ops, clients, strict=True):
        await op.ask(poster(mine[0]), 0)  # warm-up; the peer's first request asks Neo4j's version
        counted: list[int] = []
        answers.append(op.normal(await op.ask(poster(mine[0], counted), 0)))
        trips[server.name] = sum(counted)
    check(workload, servers, answers)

    latency: list[list[float]] = [[] for _ in servers]
    for run in range(args.runs):
        for i in turns(len(servers), run):
            started = time.perf_counter()
            await ops[i].ask(poster(clients[i][0]), next(numbers))
            latency[i].append((time.perf_counter() - started) * 1000)

    done = [0 for _ in servers]
    spent = [0.0 for _ in servers]
    slices = max(1, round(args.duration / SLICE))
    for index in range(slices):
        for i in turns(len(servers), index):
            posts = [poster(client) for client in clients[i]]
            started = time.perf_counter()
            done[i] += await burst(ops[i], posts, args.duration / slices, numbers)
            spent[i] += time.perf_counter() - started
    return Result(
        {server.name: samples for server, samples in zip(servers, latency, strict=True)},
        {server.name: [n / t] for server, n, t in zip(servers, done, spent, strict=True)},
        trips,
        args.runs * len(servers) + sum(done),
    )


async def measure_all(
    servers: list[Server], args: argparse.Namespace
) -> tuple[dict[str, Result], float]:
    """Every workload on every server; and the load generator's CPU ms per operation."""
    numbers = itertools.count(1)
    results = {}
    for server in servers:
        if server.name != "peer":  # the peer answers once it has printed its address
            async with httpx.AsyncClient(base_url=server.base) as client:
                await ready(client)
    clients = [[Connection(server.base) for _ in range(args.concurrency)] for server in servers]
    cpu = time.process_time()
    for rotation in range(args.rotations):
        for workload in args.only or WORKLOADS:
            result = await measure(workload, servers, clients, args, numbers)
            if workload in results:
                results[workload].add(result)
            else:
                results[workload] = result
            print(f"measured ({rotation + 1}): {WORKLOADS[workload]}", file=sys.stderr)
    cpu = time.process_time() - cpu
    for connection in itertools.chain.from_iterable(clients):
        connection.close()
    operations = sum(result.operations for result in results.values())
    return results, cpu * 1000 / operations


def table(results: dict[str, Result], names: list[str], concurrency: int) -> None:
    """Markdown: latency and throughput per server, their ratios to the peer (else to the
    first server), and one operation's round trips."""
    reference = "peer" if "peer" in names else names[0]
    others = [name for name in names if name != reference] if len(names) > 1 else []
    head = [f"{name} p50 / p95 ms" for name in names]
    head += [f"{name}/{reference} p50" for name in others]
    head += [f"{name} ops/s @{concurrency}" for name in names]
    head += [f"{name}/{reference} ops/s" for name in others]
    head += ["round trips"]
    print(f"\n| workload | {' | '.join(head)} |")
    print(f"|---|{'---:|' * len(head)}")
    for workload, result in results.items():
        p50 = {name: percentiles(result.latency[name]) for name in names}
        ops = {name: result.throughput(name) for name in names}
        cells = [f"{p50[name][0]:.1f} / {p50[name][1]:.1f}" for name in names]
        cells += [f"{p50[name][0] / p50[reference][0]:.2f}" for name in others]
        cells += [f"{ops[name]:.0f}" for name in names]
        cells += [f"{ops[name] / ops[reference]:.2f}" for name in others]
        cells.append(", ".join(f"{name} {result.trips[name]}" for name in names))
        print(f"| {WORKLOADS[workload]} | {' | '.join(cells)} |")
    if any(len(samples) > 1 for r in results.values() for samples in r.throughputs.values()):
        print("\nops/s of each rotation:")
        for workload, result in results.items():
            spread = "; ".join(
                f"{name} " + ", ".join(f"{x:.0f}" for x in result.throughputs[name])
                for name in names
            )
            print(f"- {WORKLOADS[workload]}: {spread}")


def serve_contactgraph(
    url: str, stack: ExitStack, baseline: Path | None = None, workers: tuple[str, ...] = ()
) -> Server:
    """`contactgraph serve` of this checkout (or of the `baseline` checkout, its own
    .venv's) over `url`, with a page ceiling that fits every descendant of the largest
    organization; with `workers`, the flags that run several processes."""
    picks = asyncio.run(pick(url))
    ceiling = ["--max-page-size", str(max(500, picks.below))]
    cli = str(baseline / ".venv" / "bin" / "contactgraph") if baseline else CLI
    base = stack.enter_context(serving(url, *CG_FLAGS, *ceiling, *workers, cli=cli))
    name = "cg" if url.startswith(("bolt", "neo4j")) else "cg-sqlite"
    if baseline:
        name = "cg-before"
    if workers:
        name = f"cg-{workers[1]}w"
    print(f"{name}: largest organization {picks.root} ({picks.below:,} below), {picks}")
    return Server(name, base, contactgraph_ops(picks), picks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graph", help="the Neo4j both servers use: bolt://HOST:PORT")
    parser.add_argument("--sqlite", type=Path, metavar="FILE", help="contactgraph on this too")
    parser.add_argument("--parties", type=int, default=20_000, help="to seed an empty graph")
    parser.add_argument("--seed", type=int, default=1, help="the synthetic generator's seed")
    parser.add_argument("--runs", type=int, default=30, help="requests at concurrency 1")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at --concurrency")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rotations", type=int, default=1, help="run every workload this many times, in turn"
    )
    parser.add_argument("--only", action="append", choices=list(WORKLOADS), metavar="WORKLOAD")
    parser.add_argument("--contactgraph-only", action="store_true", help="no peer, no Node")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also an earlier revision on --graph: a checkout (git worktree) with its own .venv",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="also contactgraph on --graph with N processes (serve --workers N --events)",
    )
    parser.add_argument(
        "--events",
        default=os.environ.get("REDIS_URL"),
        metavar="redis://HOST:PORT",
        help="the Redis --workers shares live feeds through [default: REDIS_URL]",
    )
    args = parser.parse_args()
    if not args.graph and not args.sqlite:
        parser.error("give --graph, --sqlite or both")
    if args.workers and not (args.graph and args.events):
        parser.error("--workers runs on --graph and needs --events (tools/redis-local/start)")

    servers = []
    with ExitStack() as stack:
        if args.graph:
            if asyncio.run(is_empty(args.graph)):
                seed_synthetic(args.graph, args.parties, args.seed)
            if removed := asyncio.run(remove_created(args.graph)):
                print(f"removed {removed} parties an earlier run made")
            stack.callback(
                lambda: print(f"removed the {asyncio.run(remove_created(args.graph))} it made")
            )
            servers.append(serve_contactgraph(args.graph, stack))
            if args.baseline:
                servers.append(serve_contactgraph(args.graph, stack, args.baseline))
            if args.workers:
                flags = ("--workers", str(args.workers), "--events", args.events)
                servers.append(serve_contactgraph(args.graph, stack, workers=flags))
        if args.sqlite:
            servers.append(serve_contactgraph(fresh_copy(args.sqlite, args, stack), stack))
        if args.graph and not args.contactgraph_only:
            now = format_instant(utcnow())
            base = stack.enter_context(peer_serving(args.graph))
            picks = servers[0].picks
            servers.append(Server("peer", base, peer_ops(picks, now), picks))
        for server in servers[1:]:
            if server.picks != servers[0].picks:
                print(f"{server.name} serves another graph than {servers[0].name}: not compared")
        results, cpu = asyncio.run(measure_all(servers, args))
    print(
        f"\n{CLI} ({commit(PEER.parents[1])}); {args.runs} runs at concurrency 1, "
        f"{args.duration:g} s at {args.concurrency}, {args.rotations} rotation(s); "
        f"the load generator spent {cpu:.2f} ms CPU per operation"
    )
    table(results, [server.name for server in servers], args.concurrency)


if __name__ == "__main__":
    main()
