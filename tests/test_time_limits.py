"""Work that stops: the request time limit and a vanished client reach the store, on both
backends. A fan of 20,000 employees makes walking them to count them take far longer
than the limits set here (EMPLOYS alone: the default hierarchy's count is one range of
the closure)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from client import GraphQL, serve
from live import client_for, live_server
from test_metrics import SCRAPE_TOKEN, scrape, total

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Batch, LegalForm, PartyKind, Relationship, RelType
from contactgraph.graph.records import new_party
from contactgraph.graph.times import utcnow

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF = 20_000
PERSON = LegalForm.NATURAL_PERSON
LIGHT = "query($id: ID!) { party(id: $id) { displayName } }"
GIVEN_UP = 12  # requests whose clients go away at once
# seconds a light read right after them may take: milliseconds on an idle machine, 1.1 s
# seen in CI with both test processes and their Neo4j servers busy
LEFT_BEHIND = 2
COUNT = (
    "query($id: ID!) { party(id: $id) { descendants(first: 1, types: [EMPLOYS]) { totalCount } } }"
)


@pytest.fixture(scope="module")
def url(module_graph_url: str) -> str:
    return module_graph_url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(url: str) -> AsyncIterator[str]:
    store = open_store(url, create=True)
    await store.start()
    unit = new_party(PartyKind.ORGANIZATION, name="Hub", legal_form=LegalForm.LEGAL_PERSON)
    staff = [
        new_party(
            PartyKind.CONTACT, first_name="S", last_name=str(i), legal_form=LegalForm.NATURAL_PERSON
        )
        for i in range(STAFF)
    ]
    parties = [unit, *staff]
    for i in range(0, len(parties), store.seed_batch_size):
        await store.load_batch(Batch(parties[i : i + store.seed_batch_size]))
    rels = [Relationship(new_id(), RelType.EMPLOYS, unit.id, p.id, utcnow()) for p in staff]
    for i in range(0, len(rels), store.seed_batch_size):
        await store.load_batch(Batch(relationships=rels[i : i + store.seed_batch_size]))
    await store.close()
    yield unit.id


async def _planned(url: str, hub: str) -> None:
    """Ask this module's queries once without a limit: Neo4j plans a statement the first
    time it sees its text (1-3 s on a cold JVM), which would be stopped in the signing-in
    or the first read, before the walk the limits are tried on."""
    async for http in serve(Settings(graph_url=url)):
        gql = GraphQL(http)
        for query in (COUNT, LIGHT):
            assert (await gql.raw(query, {"id": hub})).status_code == 200


async def test_a_request_past_its_time_limit_stops_and_answers_timeout(url: str, hub: str) -> None:
    await _planned(url, hub)
    settings = Settings(graph_url=url, request_timeout=0.05, metrics_token=SCRAPE_TOKEN)
    # the scrape token is checked in memory: an administrator's scrape signs in, which a
    # loaded machine could not always do within the 50 ms limit
    scraper = {"authorization": f"Bearer {SCRAPE_TOKEN}"}
    async for http in serve(settings):
        gql = GraphQL(http)
        # signing in counts against the limit too: have the credential checked (and
        # cached) first, so the limit meets the walk below
        for _ in range(20):
            if (await gql.raw("{ viewer { id } }")).status_code == 200:
                break
        before = await scrape(http, **scraper)
        started = time.monotonic()
        response = await gql.raw(COUNT, {"id": hub})
        assert time.monotonic() - started < 2
        body = response.json()
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "TIMEOUT", error
        assert error["path"][0] == "party"
        # counted as a store error and as the operation's outcome (/metrics)
        after = await scrape(http, **scraper)
        errors = "contactgraph_store_errors_total"
        assert total(after, errors, code="TIMEOUT") - total(before, errors, code="TIMEOUT") == 1
        timed_out = {"outcome": "TIMEOUT", "operation": "anonymous"}
        operations = "contactgraph_graphql_operations_total"
        assert total(after, operations, **timed_out) - total(before, operations, **timed_out) == 1
        # the next request is not held up by the stopped one; under this test's 50 ms limit
        # a loaded machine can stop even a light read, so it may take a few tries
        for _ in range(5):
            light = (await gql.raw(LIGHT, {"id": hub})).json()
            if "errors" not in light:
                break
            assert light["errors"][0]["extensions"]["code"] == "TIMEOUT", light
        assert light["data"]["party"]["displayName"] == "Hub", light


async def test_clients_that_go_away_take_their_store_work_with_them(url: str, hub: str) -> None:
    async with live_server(Settings(graph_url=url)) as address:
        async with client_for(address, timeout=0.05) as impatient:

            async def give_up() -> None:
                with pytest.raises(httpx.TimeoutException):
                    await impatient.post(
                        "/graphql", json={"query": COUNT, "variables": {"id": hub}}
                    )

            await asyncio.gather(*(give_up() for _ in range(GIVEN_UP)))
        async with client_for(address, timeout=10) as http:
            started = time.monotonic()
            light = await GraphQL(http)(
                "query($id: ID!) { party(id: $id) { displayName } }", {"id": hub}
            )
            assert light["party"]["displayName"] == "Hub"
            assert time.monotonic() - started < LEFT_BEHIND


# several of the hub's fields wait on their loads together (schema/together.py)
SEVERAL = (
    "query($id: ID!) { party(id: $id) { displayName timeline(first: 1) { edges { node { id } } } "
    "children(types: [PART_OF]) { id } descendants(first: 1, types: [EMPLOYS]) { totalCount } } }"
)


async def test_several_pending_loads_stop_with_their_request(url: str, hub: str) -> None:
    """Past its time, the slow field answers TIMEOUT at its own path and nulls the party;
    cancelled by clients that go away, none of the loads holds the server up."""
    async for http in serve(Settings(graph_url=url, request_timeout=0.05)):
        gql = GraphQL(http)
        for _ in range(20):  # the credential checked and cached first, as above
            if (await gql.raw("{ viewer { id } }")).status_code == 200:
                break
        body = (await gql.raw(SEVERAL, {"id": hub})).json()
        assert body["data"] == {"party": None}, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "TIMEOUT", error
        # at the path of whichever read the limit met first (the walk's, mostly; on a
        # loaded machine another field's or the party's own), the others stopped with it
        assert error["path"][0] == "party" and len(error["path"]) <= 2, error
    async with live_server(Settings(graph_url=url)) as address:
        async with client_for(address, timeout=0.05) as impatient:

            async def give_up() -> None:
                with pytest.raises(httpx.TimeoutException):
                    await impatient.post(
                        "/graphql", json={"query": SEVERAL, "variables": {"id": hub}}
                    )

            await asyncio.gather(*(give_up() for _ in range(GIVEN_UP)))
        async with client_for(address, timeout=10) as http:
            started = time.monotonic()
            light = await GraphQL(http)(LIGHT, {"id": hub})
            assert light["party"]["displayName"] == "Hub"
            assert time.monotonic() - started < LEFT_BEHIND
