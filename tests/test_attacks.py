"""Every attack that once took the server down, replayed against `contactgraph serve` on
loopback, on both stores, while a probe keeps asking a trivial question.

Each attack gets a coded error or a correct answer within its bound; the probe, which
asks every 25 ms throughout, never waits a second (blocked, it waited 14-112 s); the
server's peak memory stays far below what one attack used to take (15 GB); and at the
end SIGTERM stops it within
its grace period, with a subscriber and a request still open. The graph is the demo
plus two sets of layered diamonds: 40 layers of 3 units, each PART_OF every unit above it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphs import BACKENDS, wipe
from live import LEGACY_WS, SECRETS, TRANSPORT_WS, Subscriber, client_for
from test_cli import CLI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    Batch,
    LegalForm,
    Party,
    PartyKind,
    Relationship,
    RelType,
)
from contactgraph.graph.records import new_party
from contactgraph.graph.times import utcnow
from contactgraph.seeds.demo import add_demo_fields, demo_batch

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]

LIMITS = Settings()
LAYERS = 40
BOUND = 2.0  # seconds any attack may take to be answered; unbounded they took 10 s to hours
PROBE_EVERY = 0.025
# Seconds the trivial question may wait, whatever the attacks do: a blocked server made
# it wait 14-112 s; on two cores shared with Neo4j and the attacks it waits up to ~0.1 s.
PROBE_BOUND = 1.0
MEMORY_BOUND = 1 << 30  # bytes of peak resident memory; one attack used to take 15 GB
GRACE = 3.0


@dataclass
class Diamonds:
    top: Party = field(default_factory=lambda: _unit("Diamond top"))
    bottom: Party = field(default_factory=lambda: _unit("Diamond bottom"))
    clerk: Party = field(
        default_factory=lambda: new_party(
            PartyKind.CONTACT, first_name="Clara", last_name="Clerk", legal_form=_PERSON
        )
    )
    boss: Party = field(
        default_factory=lambda: new_party(
            PartyKind.CONTACT, first_name="Bert", last_name="Boss", legal_form=_PERSON
        )
    )

    def batch(self) -> Batch:
        layers = [[_unit(f"D{i}-{j}") for j in range(3)] for i in range(LAYERS)]
        rels, above = [], [self.top]
        for layer in [*layers, [self.bottom]]:
            rels += [_edge(RelType.PART_OF, unit, parent) for unit in layer for parent in above]
            above = layer
        rels.append(_edge(RelType.EMPLOYS, self.bottom, self.clerk, role="Clerk"))
        rels.append(_edge(RelType.EMPLOYS, self.top, self.boss, role="Managing Director"))
        everyone = [self.top, self.bottom, self.clerk, self.boss, *itertools.chain(*layers)]
        return Batch(everyone, rels)


_PERSON = LegalForm.NATURAL_PERSON


def _unit(name: str) -> Party:
    return new_party(PartyKind.ORGANIZATION, name=name, legal_form=LegalForm.LEGAL_PERSON)


def _edge(kind: RelType, source: Party, target: Party, **values: Any) -> Relationship:
    return Relationship(new_id(), kind, source.id, target.id, utcnow(), **values)


@dataclass
class Server:
    process: subprocess.Popen[str]
    address: str
    http: httpx.AsyncClient
    diamonds: Diamonds
    twin: Diamonds  # the same shape, walked first: see the walks' test
    author: str
    waits: list[float] = field(default_factory=list)

    async def ask(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        body = {"query": query, "variables": variables or {}}
        return await self.http.post("/graphql", json=body)

    def peak_memory(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM for the server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('attacks') / 'graph.db'}"
    wipe(request.getfixturevalue("neo4j_driver"))
    return os.environ["NEO4J_URI"]


async def _probe(server: Server, party: str) -> None:
    """Ask the trivial question every PROBE_EVERY seconds, noting each wait."""
    while True:
        started = time.monotonic()
        response = await server.ask(LIGHT, {"id": party})
        assert response.json()["data"]["party"]["id"] == party
        server.waits.append(time.monotonic() - started)
        await asyncio.sleep(PROBE_EVERY)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(url: str) -> AsyncIterator[Server]:
    diamonds, twin = Diamonds(), Diamonds()
    store = open_store(url, create=True)
    await store.start()
    await add_demo_fields(store)
    demo = demo_batch()
    await store.load_batch(demo)
    await store.load_batch(diamonds.batch())
    await store.load_batch(twin.batch())
    await store.close()
    author = next(p.id for p in demo.parties if p.kind is PartyKind.USER)
    # an operator's administrator, made as the README says: users and tokens from the CLI
    graph = ["--graph", url]
    subprocess.run([*CLI, "user", "create", "ops", "--role", "admin", *graph], check=True)  # noqa: ASYNC221
    minted = subprocess.run(  # noqa: ASYNC221 - before the server starts
        [*CLI, "token", "create", "--user", "ops", *graph],
        check=True,
        capture_output=True,
        text=True,
    )
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
        [
            *CLI,
            "serve",
            "--graph",
            url,
            "--port",
            str(port),
            "--ws-init-timeout",
            "1",
            "--shutdown-grace",
            str(GRACE),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    address = f"127.0.0.1:{port}"
    SECRETS[address] = minted.stdout.strip()
    async with client_for(address, timeout=30) as http:
        for _ in range(300):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        served = Server(process, address, http, diamonds, twin, author)
        probe = asyncio.create_task(_probe(served, diamonds.top.id))
        try:
            yield served
        finally:
            probe.cancel()
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


LIGHT = "query($id: ID!) { party(id: $id) { id displayName } }"


async def within_bound(attack: Awaitable[Any]) -> Any:
    started = time.monotonic()
    result = await attack
    assert time.monotonic() - started < BOUND, f"answered after {time.monotonic() - started} s"
    return result


def coded(response: httpx.Response, code: str) -> dict[str, Any]:
    assert "Traceback" not in response.text
    errors = response.json()["errors"]
    assert errors and all(e["extensions"]["code"] == code for e in errors), errors
    return errors[0]


def _on_parties(selection: str) -> str:
    return f"{{ parties {{ edges {{ node {{ {selection} }} }} }} }}"


# -- documents ----------------------------------------------------------------------------


async def test_documents_that_multiply_work_are_refused(server: Server) -> None:
    nested = "relationships { from { " * 50 + "id" + " } }" * 50
    response = await within_bound(
        server.ask(f"{{ parties {{ edges {{ node {{ {nested} }} }} }} }}")
    )
    assert coded(response, "LIMIT_EXCEEDED")["extensions"]["limit"] == LIMITS.max_query_depth
    nine = "relationships { from { " * 8 + "id" + " } }" * 8
    response = await within_bound(server.ask(_on_parties(nine)))
    assert coded(response, "LIMIT_EXCEEDED")["extensions"]["cost"] > LIMITS.max_cost
    for field_text in (
        "network(depth: 3) { nodes { displayName } }",
        "timeline(first: 500, includeDescendants: true) { edges { node { id } } }",
    ):
        aliased = " ".join(f"a{i}: {field_text}" for i in range(1000))
        response = await within_bound(
            server.ask(f"{{ parties {{ edges {{ node {{ {aliased} }} }} }} }}")
        )
        coded(response, "LIMIT_EXCEEDED")
    repeated = "{ parties { edges { node { " + "id " * 4_000 + "} } } }"
    coded(await within_bound(server.ask(repeated)), "LIMIT_EXCEEDED")
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    fragments = await within_bound(
        server.ask(f"{{ ...F0 }} {chain} fragment F30 on Query {{ a: __typename }}")
    )
    assert fragments.json()["data"] == {"a": "Query"}


async def _announce_100_mb(address: str) -> bytes:
    """A request that declares a 100 MB body and sends two bytes of it: the answer must
    come at once, without the server waiting for (or holding) the rest."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {SECRETS[address]}\r\n"
        f"Content-Length: {100 * 2**20}\r\n\r\n{{}}"
    )
    writer.write(head.encode())
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status


async def test_bodies_that_cost_memory_are_refused(server: Server) -> None:
    assert (await within_bound(_announce_100_mb(server.address))).startswith(b"HTTP/1.1 413")
    ten_mb = json.dumps({"query": "{ x }", "variables": {"v": "x" * 10**7}})
    response = await within_bound(
        server.http.post("/graphql", content=ten_mb, headers={"content-type": "application/json"})
    )
    assert response.status_code == 413
    repeated = json.dumps({"query": "{ " + "id " * 300_000 + "}"})
    response = await within_bound(
        server.http.post("/graphql", content=repeated, headers={"content-type": "application/json"})
    )
    coded(response, "LIMIT_EXCEEDED")  # past --max-document-length, never parsed
    deep = "[" * 1000 + "]" * 1000
    response = await within_bound(
        server.http.post(
            "/graphql",
            content=f'{{"query": "{{ x }}", "variables": {{"v": {deep}}}}}',
            headers={"content-type": "application/json"},
        )
    )
    assert response.status_code == 400
    coded(response, "BAD_REQUEST")
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = '{"query": "{ x }", "variables": {"v": ' + literal + "}}"
        response = await server.http.post(
            "/graphql", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        coded(response, "BAD_REQUEST")


SEARCH = "query($s: String) { parties(search: $s) { edges { node { displayName } } } }"
CREATE_ORG = """mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id version } }"""


async def test_hostile_values_are_refused_and_write_nothing(server: Server) -> None:
    for words in (200_000, 100):
        response = await within_bound(server.ask(SEARCH, {"s": " ".join(["word"] * words)}))
        assert response.status_code in (200, 413)
        coded(response, "BAD_USER_INPUT" if response.status_code == 200 else "LIMIT_EXCEEDED")
    # four searches whose clients give up at once hold nobody up (the probe tells)
    async with client_for(server.address, timeout=0.01) as gone:
        for _ in range(4):
            with suppress(httpx.TimeoutException):
                await gone.post("/graphql", json={"query": SEARCH, "variables": {"s": "a " * 50}})
    for value in ({"name": "x" * 10**6}, {"name": "Tagged", "tags": ["a\x00b"]}):
        response = await within_bound(server.ask(CREATE_ORG, {"input": value}))
        coded(response, "BAD_USER_INPUT")
    user = 'mutation($u: String!) { createUser(input: {username: $u, displayName: "A"}) { id } }'
    coded(await server.ask(user, {"u": "anna.keller\n"}), "BAD_USER_INPUT")
    made = (await server.ask(CREATE_ORG, {"input": {"name": "Unchanged"}})).json()
    party = made["data"]["createOrganization"]
    update = "mutation($id: ID!) { updateParty(id: $id, input: {}) { version } }"
    after = (await server.ask(update, {"id": party["id"]})).json()
    assert after["data"]["updateParty"]["version"] == party["version"]
    forged = 'query($id: ID!) { party(id: $id) { descendants(after: "Zm9yZ2Vk") { totalCount } } }'
    coded(await server.ask(forged, {"id": server.diamonds.top.id}), "BAD_USER_INPUT")
    found = (await server.ask(SEARCH, {"s": "Tagged"})).json()
    assert found["data"]["parties"]["edges"] == []


# -- walks over diamonds -------------------------------------------------------------------

WALKS = """query($top: ID!, $bottom: ID!) {
  top: party(id: $top) {
    descendants(first: 1) { totalCount }
    units: timeline(includeDescendants: true, hierarchyTypes: [PART_OF]) {
      edges { node { summary } } }
  }
  bottom: party(id: $bottom) { ancestors { id } }
  contactPerson(organizationId: $bottom, role: "managing director") {
    person { displayName } distance }
}"""


RECORD = """mutation($author: ID!, $bottom: ID!) { recordActivity(input: {type: NOTE,
  summary: "at the bottom", subjectIds: [$bottom], authorId: $author}) { id } }"""


async def _walk(server: Server, diamonds: Diamonds, bound: float) -> dict[str, Any]:
    ids = {"top": diamonds.top.id, "bottom": diamonds.bottom.id}
    started = time.monotonic()
    recorded = await server.ask(RECORD, {"author": server.author, **ids})
    assert "errors" not in recorded.json(), recorded.json()
    data = (await server.ask(WALKS, ids)).json()["data"]
    assert time.monotonic() - started < bound, f"answered after {time.monotonic() - started} s"
    return dict(data)


async def test_walks_over_diamonds_are_answered_correctly_and_quickly(server: Server) -> None:
    # Neo4j plans a statement the first time it sees its text: 1-3 s a statement on a
    # cold JVM sharing two cores, whatever the graph. The twin pays that (and, were the
    # walks exponential, would not be answered either), so the bound is the walk's own.
    await _walk(server, server.twin, bound=30.0)
    data = await _walk(server, server.diamonds, bound=BOUND)
    assert data["top"]["descendants"]["totalCount"] == 3 * LAYERS + 3  # units, bottom, people
    assert [e["node"]["summary"] for e in data["top"]["units"]["edges"]] == ["at the bottom"]
    assert len(data["bottom"]["ancestors"]) == 3 * LAYERS + 1
    person = data["contactPerson"]
    assert person == {"person": {"displayName": "Bert Boss"}, "distance": LAYERS + 1}

    # four at once once occupied every reader and left /readyz hanging
    ids = {"top": server.diamonds.top.id, "bottom": server.diamonds.bottom.id}
    started = time.monotonic()
    walks = [asyncio.ensure_future(server.ask(WALKS, ids)) for _ in range(4)]
    ready = await server.http.get("/readyz")
    assert ready.status_code == 200 and time.monotonic() - started < 1.0
    for answer in await asyncio.gather(*walks):
        assert answer.json()["data"]["top"]["descendants"]["totalCount"] == 3 * LAYERS + 3


# -- sockets and hosts ---------------------------------------------------------------------


async def test_greedy_and_silent_sockets_are_bounded(server: Server) -> None:
    async with connect(f"ws://{server.address}/graphql", subprotocols=[LEGACY_WS]) as silent:
        with pytest.raises(ConnectionClosed):
            while True:  # never initialised: closed once --ws-init-timeout passes
                await asyncio.wait_for(silent.recv(), 5)
    feed = "subscription($id: ID!) { activityAdded(subjectId: $id) { id } }"
    async with Subscriber.connect(server.address, TRANSPORT_WS) as greedy:
        for _ in range(LIMITS.max_operations_per_socket):
            await greedy.subscribe(feed, {"id": server.diamonds.top.id})
        one_more = await greedy.subscribe(feed, {"id": server.diamonds.top.id})
        refused = await greedy.next(one_more)
        assert refused["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_a_rebinding_host_is_refused(server: Server) -> None:
    host, port = server.address.split(":")
    rebound = await server.http.post(
        "/graphql", json={"query": LIGHT}, headers={"Host": "rebind.example"}
    )
    assert rebound.status_code == 400
    with pytest.raises(InvalidStatus):
        async with connect(
            f"ws://rebind.example:{port}/graphql",
            subprotocols=[TRANSPORT_WS],
            host=host,
            port=int(port),
        ):
            pass


# -- what the attacks left behind ----------------------------------------------------------


async def test_the_probe_never_waited_and_memory_stayed_bounded(server: Server) -> None:
    assert len(server.waits) > 20
    slowest = max(server.waits)
    assert slowest < PROBE_BOUND, sorted(server.waits)[-5:]
    assert server.peak_memory() < MEMORY_BOUND


async def test_sigterm_stops_the_server_within_its_grace(server: Server) -> None:
    async with Subscriber.connect(server.address, TRANSPORT_WS) as listener:
        await listener.subscribe(
            "subscription($id: ID!) { activityAdded(subjectId: $id) { id } }",
            {"id": server.diamonds.top.id},
        )
        pending = asyncio.ensure_future(
            server.ask(WALKS, {"top": server.diamonds.top.id, "bottom": server.diamonds.bottom.id})
        )
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(server.process.communicate, timeout=GRACE + 15)
        assert time.monotonic() - started < GRACE + 5, output
        assert "Traceback" not in output
        pending.cancel()
