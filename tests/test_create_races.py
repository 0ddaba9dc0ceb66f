"""Contacts created into an organization while it moves under another parent or is
archived: each create lands whole or not at all, and what the hierarchy answers for it
(ancestors, descendants, counts, read from the closure on Neo4j) is what a walk of its
edges finds, whatever order the writes landed in, on both stores."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cable import Cable
from client import GraphQL, serve
from factories import link, org
from test_relationships import UNLINK

from contactgraph.config import Settings
from contactgraph.graph.neo4j import pending

CREATE = """mutation($input: CreateContactInput!) { createContact(input: $input) { id } }"""
ABOVE = "query($id: ID!) { party(id: $id) { ancestors { id } } }"
BELOW = "query($id: ID!) { party(id: $id) { descendants(first: 500) { totalCount } } }"
WALK = """query($id: ID!) { party(id: $id) {
  children { id children { id children { id } } } } }"""
ARCHIVE = "mutation($id: ID!) { archiveParty(id: $id) { id } }"
RESTORE = "mutation($id: ID!) { restoreParty(id: $id) { id } }"
COUNT = "{ parties(first: 1) { totalCount } }"
CREATES = 4  # creates racing each move or archive


@pytest.fixture
async def http(graph_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The suite's client, with room past the default rate: the creators go on until the
    moves are done, and under load a round's moves took 8 s and its creates 280 (each
    then read back), which ran into the default burst of 600."""
    async for client in serve(Settings(create=True, graph_url=graph_url, rate_burst=5_000)):
        yield client


async def walked_below(gql: GraphQL, party: str) -> set[str]:
    """The parties below `party` (three levels at most, as these tests build them), walked
    one level at a time from their current edges."""
    data = await gql(WALK, {"id": party})
    found: set[str] = set()
    level = data["party"]["children"]
    while level:
        found.update(p["id"] for p in level)
        level = [c for p in level for c in p.get("children", ())]
    return found


async def created(gql: GraphQL, unit: str, round_: int) -> list[Any]:
    return list(
        await asyncio.gather(
            *(
                gql.raw(CREATE, {"input": {"firstName": f"C{round_}-{i}", "parentId": unit}})
                for i in range(CREATES)
            )
        )
    )


async def creating(gql: GraphQL, unit: str, until: asyncio.Event) -> list[str]:
    """Contacts created into `unit` one after the other until `until` is set, and one more."""
    made: list[str] = []
    while not made or not until.is_set():
        data = await gql(CREATE, {"input": {"firstName": f"C{len(made)}", "parentId": unit}})
        made.append(data["createContact"]["id"])
    return made


async def moved(gql: GraphQL, edge: str, unit: str, roots: list[str], done: asyncio.Event) -> str:
    """Move `unit` from the edge it has to each of `roots` in turn, then set `done`; the
    last edge's id."""
    for parent in roots:
        await gql(UNLINK, {"id": edge})
        edge = str((await link(gql, "PART_OF", unit, parent))["id"])
    done.set()
    return edge


async def agree(
    gql: GraphQL, roots: list[str], unit: str, parent: str, made: list[str], new: list[str]
) -> None:
    """Each root's count of descendants is what a walk finds, which holds all `made` below
    `parent`; the `new` ones have `unit` and `parent` above them, no other."""
    for contact in new:
        above = await gql(ABOVE, {"id": contact})
        assert {p["id"] for p in above["party"]["ancestors"]} == {unit, parent}, contact
    for root in roots:
        walked = await walked_below(gql, root)
        counted = (await gql(BELOW, {"id": root}))["party"]["descendants"]["totalCount"]
        assert counted == len(walked), root
        assert set(made) <= walked if root == parent else not walked & set(made)


@contextlib.asynccontextmanager
async def create_held(
    neo4j_url: str, unit: str, given: dict[str, Any]
) -> AsyncIterator[asyncio.Task[Any]]:
    """A createContact of `given` by a server whose line to Neo4j holds back the answer to
    the create's first read: inside, that read has run and its answer waits; on leaving,
    the answer goes and the create is awaited."""
    with Cable.to(neo4j_url) as cable:
        async for far in serve(Settings(graph_url=f"bolt://127.0.0.1:{cable.port}")):
            held = GraphQL(far)
            await held(CREATE, {"input": {"firstName": "Warm", "parentId": unit}})
            cable.hold()
            cable.answered.clear()
            create = asyncio.create_task(held(CREATE, {"input": given}))
            assert await asyncio.to_thread(cable.answered.wait, 10)
            yield create
            cable.release()
            await create


async def test_creates_racing_moves_of_their_organization_hold_a_true_hierarchy(
    gql: GraphQL,
) -> None:
    """Creates keep coming while the organization moves, so that some read it before a
    move and write after it."""
    roots = [await org(gql, "North"), await org(gql, "South")]
    unit = await org(gql, "Sales")
    edge = str((await link(gql, "PART_OF", unit, roots[0]))["id"])
    made: list[str] = []
    for round_ in range(2):
        parent = roots[(round_ + 1) % 2]
        done = asyncio.Event()
        *makers, edge = await asyncio.gather(
            *(creating(gql, unit, done) for _ in range(CREATES)),
            moved(gql, edge, unit, [parent, roots[round_ % 2], parent], done),
        )
        new = [contact for maker in makers for contact in maker]
        made += new
        await agree(gql, roots, unit, parent, made, new)


async def test_creates_racing_an_archive_land_whole_or_not_at_all(gql: GraphQL) -> None:
    root = await org(gql, "Holding")
    unit = await org(gql, "Unit", parentId=root)
    before = (await gql(COUNT))["parties"]["totalCount"]
    made: list[str] = []
    for round_ in range(4):
        answers, _ = await asyncio.gather(created(gql, unit, round_), gql(ARCHIVE, {"id": unit}))
        bodies = [a.json() for a in answers]
        for body in bodies:
            if "errors" in body:  # it came after the archive: nothing of it was written
                assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
            else:
                made.append(body["data"]["createContact"]["id"])
        await gql(RESTORE, {"id": unit})
        counted = (await gql(BELOW, {"id": root}))["party"]["descendants"]["totalCount"]
        assert counted == len(await walked_below(gql, root)) == 1 + len(made)
        assert (await gql(COUNT))["parties"]["totalCount"] == before + len(made)
        for contact in made:
            above = await gql(ABOVE, {"id": contact})
            assert {p["id"] for p in above["party"]["ancestors"]} == {unit, root}


async def test_a_create_whose_organization_moved_after_its_first_read_is_written_again(
    neo4j_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Neo4j a create reads its organization before it locks it, with its write: the
    test holds Neo4j's answer to that read while it moves the organization (which the
    create must not keep waiting), then lets it go; the create finds the organization
    changed under its lock, rolls back and is written again below the new parent."""
    caplog.set_level(logging.DEBUG, logger="contactgraph.neo4j")
    # no flush of the new contacts' documents while the cable holds: its answer held too,
    # it would keep their locks, and what Neo4j answered would not be the create's read
    monkeypatch.setattr(pending, "DELAY", 3600.0)
    async for near in serve(Settings(create=True, graph_url=neo4j_url)):
        gql = GraphQL(near)
        north, south = await org(gql, "North"), await org(gql, "South")
        unit = await org(gql, "Sales")
        edge = str((await link(gql, "PART_OF", unit, north))["id"])
        late = {"firstName": "Late", "parentId": unit}
        async with create_held(neo4j_url, unit, late) as create:
            async with asyncio.timeout(10):  # not kept waiting by the create
                await moved(gql, edge, unit, [south], asyncio.Event())
            assert "written again" not in caplog.text
        made = create.result()["createContact"]["id"]
        assert "written again" in caplog.text
        above = await gql(ABOVE, {"id": made})
        assert {p["id"] for p in above["party"]["ancestors"]} == {unit, south}
        await agree(gql, [north, south], unit, south, [made], [made])


async def test_a_create_whose_category_changed_after_its_first_read_is_not_written_again(
    neo4j_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No lock a create takes holds the categories (a category's write takes the
    vocabulary's lock, and rewrites no party), so its write statement does not read them
    again: a category changed while Neo4j's answer to the create's first read is held
    does not roll the create back."""
    caplog.set_level(logging.DEBUG, logger="contactgraph.neo4j")
    async for near in serve(Settings(create=True, graph_url=neo4j_url)):
        gql = GraphQL(near)
        await gql('mutation { createCategory(input: {id: "members", name: "Members"}) { id } }')
        unit = await org(gql, "Sales")
        joining = {"firstName": "Late", "parentId": unit, "categoryId": "members"}
        async with create_held(neo4j_url, unit, joining) as create, asyncio.timeout(10):
            await gql(
                'mutation { updateCategory(id: "members", '
                'input: {description: "changed"}) { version } }'
            )
        made = create.result()["createContact"]["id"]
        assert "written again" not in caplog.text
        read = await gql("query($id: ID!) { party(id: $id) { category { id } } }", {"id": made})
        assert read["party"]["category"] == {"id": "members"}
