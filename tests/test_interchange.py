"""`contactgraph export` and `import` as a user runs them: a graph moved from SQLite to Neo4j
(through `backup`) and back keeps every record, id, version, history entry and merge, and
answers every query as before; a dump with a bad line, or a graph not empty, is refused
naming the line and why, with nothing written."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from access import bearer
from client import GraphQL, serve
from factories import contact, link, org, record
from test_cli import CLI, run

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.interchange.format import VERSION
from contactgraph.graph.shipped_categories import DEFAULT_CATEGORIES

PAST = "2024-06-01T00:00:00Z"
PARTIES = """{ parties(filter: {includeArchived: true}, first: 500) { totalCount edges { node {
  id kind displayName version createdAt updatedAt archivedAt mergedInto mergedFrom tags
  externalIds { source key }
  category { id name version levels fields { name type default options } documents { name } }
  attributes { field type text boolean date options }
  emails { address label } phones { number e164 }
  addresses { street city country } fiscal { vatNumber taxCode country }
  ... on Organization { name unitType legalForm level { id name rank } }
  ... on Contact { firstName lastName }
  ... on User { username grants { role scopeId scopeKind } } } } } }"""
RELATIONSHIPS = """query($id: ID!, $asOf: DateTime) { party(id: $id) {
  past: relationships(asOf: $asOf) { id type role since until properties fromId toId }
  all: relationships(includeEnded: true) { id type since until } } }"""
ROLLUP = """query($id: ID!) { party(id: $id) {
  timeline(first: 25, includeDescendants: true) { pageInfo { hasNextPage endCursor }
    edges { cursor node { id type summary occurredAt sourceId subjectIds authorId } } } } }"""
HISTORY = """query($id: ID!) { node(id: $id) { ... on Party { history(first: 100) { edges {
  node { id at kind actorId requestId subjectIds version fields { field before after } }
} } } } }"""
SALES = """{ pipelines { id name version stages { id name order probability outcome } }
  opportunities(first: 100) { edges { node { id title amount currency status version
    expectedCloseDate source organization { id } owner { id } contacts { id } stage { id }
    stageHistory { stageId at byId } } } } }"""
RUNS = """query($id: ID!) { party(id: $id) { ... on Organization { leadStatus }
  ... on Contact { leadStatus } processes { id processId categoryId
  categoryVersion startedAt done steps { id stepId title state openedAt dueAt doneAt
  doneById } } } }"""
MERGED = """query($id: ID!) { node(id: $id) { id } party(id: $id) { id mergedFrom version
  snapshot(asOf: "2000-01-01T00:00:00Z") { displayName } } }"""


async def _client(url: str, secret: str) -> AsyncIterator[GraphQL]:
    """The app on a graph, signed in with a token the graph already holds: reading it
    writes nothing, so graphs compared stay equal."""
    app = create_app(Settings(graph_url=url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://localhost",
            headers=bearer(secret),
        ) as http,
    ):
        yield GraphQL(http)


async def _answers(url: str, secret: str, merged_away: str) -> list[Any]:
    """What a client reads of the graph: every party, the relationships of each as of a
    past date and ended ones, roll-up timelines, histories, and a merged-away id."""
    async for gql in _client(url, secret):
        parties = await gql(PARTIES)
        ids = [edge["node"]["id"] for edge in parties["parties"]["edges"]]
        orgs = [
            e["node"]["id"]
            for e in parties["parties"]["edges"]
            if e["node"]["kind"] == "ORGANIZATION"
        ]
        found: list[Any] = [parties]
        for party_id in ids[:60]:
            found.append(await gql(RELATIONSHIPS, {"id": party_id, "asOf": PAST}))
            found.append(await gql(HISTORY, {"id": party_id}))
            found.append(await gql(RUNS, {"id": party_id}))
        for org_id in orgs[:8]:
            found.append(await gql(ROLLUP, {"id": org_id}))
        found.append(await gql(SALES))
        found.append(await gql(MERGED, {"id": merged_away}))
        return found
    raise AssertionError("unreachable")


async def _edits(url: str) -> tuple[str, str]:
    """Writes a seed does not make, through GraphQL: a merge, an ended relationship, an
    update and an activity. The signed-in administrator's secret, and the merged-away id."""
    async for http in serve(Settings(graph_url=url)):
        gql = GraphQL(http)
        me = (await gql("{ viewer { id } }"))["viewer"]["id"]
        await gql(
            'mutation($processes: JSON) { createLevel(input: {id: "REGION", name: "Region", '
            'rank: 150}) { id } createCategory(input: {id: "exported", name: "Exported", '
            'levels: ["REGION"], fields: [{name: "since", type: DATE}, {name: "tier", '
            'type: MANY_OF, options: ["a", "b"], default: ["b"]}], documents: [{name: "Deed"}], '
            "processes: $processes}) { id } }",
            {"processes": [_welcome(me)]},
        )
        keeper = await org(
            gql,
            "Interchange Holding",
            tags=["moved"],
            externalIds=[{"source": "sap", "key": "1"}],
            level="REGION",
            categoryId="exported",
            attributes=[{"field": "since", "value": "2020-02-02"}],
        )
        twin = await org(gql, "Interchange Holding GmbH")
        person = await contact(gql, "Ida", "Export", emails=[{"address": "ida@example.com"}])
        ended = await link(gql, "EMPLOYS", twin, person, since="2023-01-01T00:00:00Z")
        await gql(
            'mutation($id: ID!) { unlink(id: $id, until: "2025-01-01T00:00:00Z") { id } }',
            {"id": ended["id"]},
        )
        await link(gql, "EMPLOYS", keeper, person, since="2024-01-01T00:00:00Z")
        await gql(
            'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["moved", "kept"]}) { id } }',
            {"id": keeper},
        )
        await record(gql, me, [person], "2024-03-01T10:00:00Z", summary="exported call")
        await record(gql, me, [keeper], "2024-03-02T10:00:00Z", summary="welcome call")
        await _deal(gql, keeper, me)
        await gql(
            "mutation($s: ID!, $m: [ID!]!) { mergeParties(survivorId: $s, mergedIds: $m) "
            "{ survivor { id } } }",
            {"s": keeper, "m": [twin]},
        )
        secret = http.headers["Authorization"].removeprefix("Bearer ")
        return secret, twin
    raise AssertionError("unreachable")


def _welcome(user_id: str) -> dict[str, Any]:
    """A process a party entering the category starts: a call, which one recorded closes."""
    return {
        "id": "welcome",
        "name": "Welcome",
        "trigger": {"on": "ENTERED"},
        "steps": [
            {
                "id": "call",
                "title": "Call them",
                "dueDays": 7,
                "satisfiedBy": {"activityType": "CALL"},
                "assignee": {"rule": "USER", "userId": user_id},
            }
        ],
    }


async def _deal(gql: GraphQL, organization_id: str, owner_id: str) -> None:
    """A pipeline, and a deal in it moved once: a stage history of two."""
    pipeline = (
        await gql(
            'mutation { createPipeline(name: "Moved", stages: ['
            '{name: "Open", order: 1, probability: 30, outcome: OPEN}, '
            '{name: "Won", order: 2, probability: 100, outcome: WON}]) { id stages { id } } }'
        )
    )["createPipeline"]
    stages = pipeline["stages"]
    made = await gql(
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }",
        {
            "input": {
                "title": "Moved deal",
                "organizationId": organization_id,
                "ownerId": owner_id,
                "pipelineId": pipeline["id"],
                "stageId": stages[0]["id"],
                "amount": "12.50",
                "currency": "EUR",
            }
        },
    )
    await gql(
        "mutation($id: ID!, $s: ID!) { moveOpportunity(id: $id, stageId: $s) { id } }",
        {"id": made["createOpportunity"]["id"], "s": stages[1]["id"]},
    )


def _records(path: Path) -> list[str]:
    """A dump's lines after its header (whose time and source differ by design)."""
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "contactgraph-jsonl"
    return lines[1:]


def _ok(result: Any) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seed", [["--demo"], ["--synthetic", "2000"]], ids=["demo", "synthetic"])
async def test_a_graph_moves_to_neo4j_and_back_unchanged(
    seed: list[str], neo4j_url: str, tmp_path: Path
) -> None:
    first, last = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'last.db'}"
    _ok(await asyncio.to_thread(run, "seed", *seed, "--graph", first))
    secret, merged_away = await _edits(first)

    dumped, backed, again = (tmp_path / name for name in ("a.jsonl", "b.jsonl", "c.jsonl"))
    _ok(await asyncio.to_thread(run, "export", "--with-grants", "--graph", first, str(dumped)))
    _ok(await asyncio.to_thread(run, "import", "--graph", neo4j_url, str(dumped)))
    backup = await asyncio.to_thread(run, "backup", "--graph", neo4j_url, str(backed))
    _ok(backup)
    assert "backed up" in backup.stdout
    with backed.open("rb") as stream:  # standard input, as in a pipe
        piped = await asyncio.to_thread(
            lambda: subprocess.run(
                [*CLI, "import", "--graph", last, "-"],
                stdin=stream,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )
    _ok(piped)
    exported = await asyncio.to_thread(run, "export", "--with-grants", "--graph", last)
    _ok(exported)
    again.write_text(exported.stdout)

    records = _records(dumped)
    assert records == _records(backed) == _records(again)
    assert '"external_ids":[{"source":"sap","key":"1"}]' in dumped.read_text()
    if seed == ["--demo"]:  # planned work travels with its schedule
        assert '"status":"PLANNED","version":1,"schedule":{' in dumped.read_text()
        assert '"recurrence":"FREQ=WEEKLY;COUNT=12"' in dumped.read_text()
    kinds = {json.loads(line)["type"] for line in records}
    assert kinds == {
        "level",
        "category",
        "party",
        "relationship",
        "activity",
        "pipeline",
        "opportunity",
        "step",
        "grant",
        "token",
        "change",
    }
    step = next(json.loads(line)["record"] for line in records if '"type":"step"' in line)
    assert step["done_by_id"] is not None and step["step"]["id"] == "call"
    assert '"stages":[{"stage_id"' in dumped.read_text()  # a deal's stage history
    assert '"attributes":{"since":"2020-02-02","tier":["b"]}' in dumped.read_text()
    assert secret not in dumped.read_text()  # tokens travel as the hashes the graph holds
    assert json.loads(backed.read_text().splitlines()[0])["source"] == "neo4j"

    answers = [await _answers(url, secret, merged_away) for url in (first, neo4j_url, last)]
    assert answers[0] == answers[1] == answers[2]
    merged = answers[0][-1]
    assert merged["node"]["id"] != merged_away and merged_away in merged["party"]["mergedFrom"]


async def test_without_grants_a_dump_holds_no_grants_tokens_or_their_history(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    _ok(await asyncio.to_thread(run, "seed", "--demo", "--graph", url))
    plain = await asyncio.to_thread(run, "export", "--graph", url)
    full = await asyncio.to_thread(run, "export", "--graph", url, "--with-grants")
    _ok(plain)
    _ok(full)

    def kinds(text: str) -> set[str]:
        found = set()
        for line in text.splitlines()[1:]:
            item = json.loads(line)
            found.add(item["record"].get("kind") if item["type"] == "change" else item["type"])
        return found

    assert {"grant", "ROLE_GRANTED"} <= kinds(full.stdout)
    assert not {"grant", "token", "ROLE_GRANTED", "TOKEN_CREATED"} & kinds(plain.stdout)
    assert json.loads(plain.stdout.splitlines()[0])["with_grants"] is False


@pytest.fixture(scope="module")
def demo_dump(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The demo's dump with grants, as lines."""
    where = tmp_path_factory.mktemp("dump")
    url = f"sqlite:///{where / 'demo.db'}"
    _ok(run("seed", "--demo", "--graph", url))
    exported = run("export", "--with-grants", "--graph", url)
    _ok(exported)
    return exported.stdout.splitlines()


def _first(lines: list[str], kind: str) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line)["type"] == kind)


def _edit(lines: list[str], index: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    item = json.loads(lines[index])
    change(item)
    return [*lines[:index], json.dumps(item), *lines[index + 1 :]]


def _bad_dumps(lines: list[str]) -> list[tuple[str, list[str], int, str]]:
    """(case, dump, the line named, what the message says)."""
    party, rel, act, deal = (
        _first(lines, k) for k in ("party", "relationship", "activity", "opportunity")
    )
    users = [
        i
        for i, line in enumerate(lines)
        if json.loads(line)["type"] == "party" and json.loads(line)["record"]["kind"] == "USER"
    ]

    def renamed(item: dict[str, Any]) -> None:
        item["record"]["username"] = json.loads(lines[users[0]])["record"]["username"]

    return [
        ("malformed", [*lines[:party], "{not json", *lines[party:]], party + 1, "JSON"),
        (
            "unknown type",
            _edit(lines, party, lambda item: item.update(type="robot")),
            party + 1,
            "unknown type 'robot'",
        ),
        (
            "wrong version",
            _edit(lines, 0, lambda item: item.update(version=99)),
            1,
            "format version 99",
        ),
        (
            "missing reference",
            _edit(lines, rel, lambda item: item["record"].update(from_id="no-such-party")),
            rel + 1,
            "no-such-party is not a party of the dump",
        ),
        (
            "duplicate party",
            [*lines[: party + 1], lines[party], *lines[party + 1 :]],
            party + 2,
            "duplicate party",
        ),
        (
            "duplicate activity",
            [*lines[: act + 1], lines[act], *lines[act + 1 :]],
            act + 2,
            "duplicate activity",
        ),
        (
            "sections out of order",
            [*lines[: rel + 1], lines[party], *lines[rel + 1 :]],
            rel + 2,
            "sections come in the order",
        ),
        (
            "time without offset",
            _edit(lines, rel, lambda item: item["record"].update(since="2020-01-01T00:00:00")),
            rel + 1,
            "since has no UTC offset",
        ),
        ("no header", lines[1:], 1, "header"),
        (
            "deal in no pipeline",
            _edit(lines, deal, lambda item: item["record"].update(pipeline_id="no-pipeline")),
            deal + 1,
            "pipeline no-pipeline is not a pipeline of the dump",
        ),
        (
            "deal at no stage",
            _edit(lines, deal, lambda item: item["record"].update(stage_id="no-stage")),
            deal + 1,
            "stage no-stage is not a stage of",
        ),
        (
            "misspelt field",
            _edit(lines, rel, lambda item: item["record"].update(unitl=None)),
            rel + 1,
            "a relationship has no field unitl",
        ),
        (
            "unknown role",
            _edit(lines, _first(lines, "grant"), lambda item: item["record"].update(role="god")),
            _first(lines, "grant") + 1,
            "role 'god' does not exist",
        ),
        # checks pass; the store refuses the second user of one name, batches after the first
        # are committed on Neo4j, then deleted
        ("taken username", _edit(lines, users[-1], renamed), 0, "username"),
    ]


async def _untouched(url: str) -> None:
    """No party, history entry or closure row: nothing of a refused dump was written."""
    store = open_store(url)
    await store.start()
    try:
        assert await store.is_empty()
        assert await store.change_page(None, 1) == []
        assert await store.activity_page(None, 1) == []
        assert await store.relationship_page(None, 1) == []
        assert await store.opportunity_page(None, 1) == []
        assert await store.pipelines(None) == {}
        assert not await store.clear_unfinished_import()
        assert sorted(await store.get_categories(None)) == sorted(c.id for c in DEFAULT_CATEGORIES)
    finally:
        await store.close()


async def test_bad_dumps_are_refused_by_line_and_write_nothing(
    graph_url: str, demo_dump: list[str], tmp_path: Path
) -> None:
    """Every case is checked, then imported; checks read the file alone and write
    nothing, so they run at once (each is a process that starts), the imports in turn."""
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    cases = _bad_dumps(demo_dump)
    paths = [tmp_path / f"{case}.jsonl" for case, *_ in cases]
    for path, (_, lines, _, _) in zip(paths, cases, strict=True):
        path.write_text("\n".join(lines) + "\n")

    def importing(path: Path, *args: str) -> Awaitable[subprocess.CompletedProcess[str]]:
        return asyncio.to_thread(run, "import", *args, "--graph", graph_url, str(path))

    checks = await asyncio.gather(*(importing(path, "--check") for path in paths))
    for path, (case, _, line, reason), checked in zip(paths, cases, checks, strict=True):
        if case == "taken username":
            assert checked.returncode == 0, (case, checked.stderr)
        else:
            _refused(checked, case, line, reason)
        _refused(await importing(path, "--batch-size", "10"), case, line, reason)
        await _untouched(graph_url)


def _refused(done: subprocess.CompletedProcess[str], case: str, line: int, reason: str) -> None:
    assert done.returncode == 1, (case, done.stdout)
    assert reason in done.stderr, (case, done.stderr)
    if line:
        assert f"line {line}:" in done.stderr, (case, done.stderr)
    assert "Traceback" not in done.stderr


async def test_a_version_1_dump_imports_as_parties_without_external_ids(
    graph_url: str, demo_dump: list[str], tmp_path: Path
) -> None:
    """Dumps written before external ids existed: version 1, no external_ids field, and
    none of version 3's: no level lines, categories without definitions, parties
    without attributes. They read as the built-in levels, bare categories, and parties
    without either."""
    typed = [(json.loads(line)["type"], line) for line in demo_dump]
    old = [line for kind, line in typed if kind != "level"]
    old = _edit(old, 0, lambda item: item.update(version=1))
    later = ("kinds", "fields", "documents", "version", "archived_at", "any_level_order")
    for index, line in enumerate(old):
        kind = json.loads(line)["type"]
        if kind == "party":
            old = _edit(old, index, lambda item: item["record"].pop("external_ids"))
            old = _edit(old, index, lambda item: item["record"].pop("attributes"))
        elif kind == "category":
            old = _edit(old, index, lambda item: [item["record"].pop(k) for k in later])
    path = tmp_path / "v1.jsonl"
    path.write_text("\n".join(old) + "\n")
    _ok(await asyncio.to_thread(run, "import", "--graph", graph_url, str(path)))
    exported = await asyncio.to_thread(run, "export", "--with-grants", "--graph", graph_url)
    _ok(exported)
    assert json.loads(exported.stdout.splitlines()[0])["version"] == VERSION

    def bare(line: str) -> str:
        item = json.loads(line)
        if item["type"] == "party":
            item["record"]["attributes"] = {}
        return json.dumps(item) if item["type"] != "category" else ""

    again = [bare(line) for line in exported.stdout.splitlines()[1:]]
    assert again == [bare(line) for line in demo_dump[1:]]


async def test_an_import_refuses_a_graph_that_holds_parties(
    graph_url: str, demo_dump: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "demo.jsonl"
    path.write_text("\n".join(demo_dump) + "\n")
    checked = await asyncio.to_thread(run, "import", "--check", str(path))
    _ok(checked)
    assert "it checks" in checked.stdout and "41 party lines" in checked.stdout
    _ok(await asyncio.to_thread(run, "import", "--graph", graph_url, str(path)))
    again = await asyncio.to_thread(run, "import", "--graph", graph_url, str(path))
    assert again.returncode == 1 and "already holds parties" in again.stderr
    assert "Traceback" not in again.stderr
    exported = await asyncio.to_thread(run, "export", "--with-grants", "--graph", graph_url)
    _ok(exported)
    assert exported.stdout.splitlines()[1:] == demo_dump[1:]  # the first import, once
    missing = await asyncio.to_thread(run, "import", "--graph", graph_url, str(tmp_path / "no"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    taken = await asyncio.to_thread(run, "export", "--graph", graph_url, str(path))
    assert taken.returncode == 1 and "exists" in taken.stderr
    assert path.read_text().splitlines() == demo_dump
