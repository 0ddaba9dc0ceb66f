"""The round-trip budget: nesting list fields D levels deep costs at most D + 1 calls."""

from __future__ import annotations

import base64

from client import GraphQL, serve
from factories import contact, org, record, user

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.seeds.synthetic import synthetic_batches

BUDGET_QUERY = """{ parties(first: 50) { edges { node { id children { id }
  timeline(first: 5) { edges { node { id } } } } } } }"""


async def round_trips(gql: GraphQL, query: str, variables: dict | None = None) -> tuple[int, dict]:
    """The store calls a query cost, as the server counts them, and its data."""
    response = await gql.raw(query, variables, **{"X-Debug-Round-Trips": "1"})
    body = response.json()
    assert "errors" not in body, body
    return body["extensions"]["roundTrips"], body["data"]


async def test_counter_is_reported_only_when_asked(gql: GraphQL) -> None:
    plain = (await gql.raw("{ parties { totalCount } }")).json()
    assert "extensions" not in plain
    count, _ = await round_trips(gql, "{ parties { totalCount } }")
    assert count == 1


EDGES = """fragment Edges on Party { all: relationships { ...Edge }
  knows: relationships(types: [KNOWS]) { ...Edge }
  incoming: relationships(direction: INCOMING) { ...Edge }
  outgoing: relationships(direction: OUTGOING, types: [MEMBER_OF, EMPLOYS]) { ...Edge }
  before: relationships(asOf: "2021-06-01T00:00:00Z") { ...Edge }
  ever: relationships(includeEnded: true) { ...Edge } }
fragment Edge on Relationship { id type fromId toId role since until properties }"""


async def test_a_create_and_a_link_answer_from_their_write(gql: GraphQL) -> None:
    """A new party's relationships, however its answer filters them, are what its write
    made: one store call, and what a read of them gives afterwards."""
    company, friend = await org(gql, "Acme"), await contact(gql, "Ada", "Lovelace")
    team = await org(gql, "Sales", parentId=company)
    new = {
        "lastName": "Berg",
        "parentId": team,
        "links": [
            {"type": "EMPLOYS", "fromId": company, "since": "2021-03-01T10:00:00+02:00"},
            {"type": "KNOWS", "toId": friend, "since": "2020-01-01T00:00:00Z", "role": "old"},
        ],
    }
    create = "mutation($i: CreateContactInput!) { createContact(input: $i) { id ...Edges } }"
    count, data = await round_trips(gql, create + EDGES, {"i": new})
    assert count == 1
    made = data["createContact"]
    read = "query($id: ID!) { party(id: $id) { id ...Edges } }"
    assert made == (await gql(read + EDGES, {"id": made["id"]}))["party"]
    assert [r["type"] for r in made["all"]] == ["KNOWS", "EMPLOYS", "MEMBER_OF"]
    assert made["all"][1]["since"] == "2021-03-01T08:00:00.000000+00:00"
    sizes = {name: len(made[name]) for name in ("knows", "incoming", "outgoing", "before")}
    assert sizes == {"knows": 1, "incoming": 1, "outgoing": 1, "before": 2}
    assert made["ever"] == made["all"]
    bare = 'mutation { createContact(input: {lastName: "Bare"}) { relationships { id } } }'
    assert await round_trips(gql, bare) == (1, {"createContact": {"relationships": []}})
    linked = "mutation($i: LinkInput!) { link(input: $i) { id fromId toId since } }"
    count, data = await round_trips(
        gql, linked, {"i": {"type": "KNOWS", "fromId": made["id"], "toId": company}}
    )
    assert count == 1 and data["link"]["toId"] == company


LINKED = """mutation($i: LinkInput!) { link(input: $i) { id
  from { id displayName version } to { id displayName version } } }"""
RECORDED = """mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id
  subjects { id displayName } author { id displayName } } }"""


async def test_a_link_and_an_activity_answer_their_parties_from_their_write(gql: GraphQL) -> None:
    """The ends of a new edge, and the author and subjects of a new activity, were read by
    the write that checked them: its answer names them without a read after it, as a read
    of them afterwards does."""
    company, person = await org(gql, "Acme"), await contact(gql, "Ada", "Lovelace")
    count, data = await round_trips(
        gql, LINKED, {"i": {"type": "EMPLOYS", "fromId": company, "toId": person}}
    )
    assert count == 1
    ends = "query($a: ID!, $b: ID!) { from: party(id: $a) { id displayName version } "
    ends += "to: party(id: $b) { id displayName version } }"
    read = await gql(ends, {"a": company, "b": person})
    assert {"from": data["link"]["from"], "to": data["link"]["to"]} == read
    author = await user(gql, "rita")
    new = {"type": "CALL", "summary": "call", "authorId": author, "subjectIds": [person, company]}
    count, data = await round_trips(gql, RECORDED, {"i": new})
    assert count == 1
    answer = data["recordActivity"]
    assert [s["displayName"] for s in answer["subjects"]] == ["Ada Lovelace", "Acme"]
    assert answer["author"] == {"id": author, "displayName": "Rita"}


async def test_fifty_parties_with_children_and_timelines_cost_three(gql: GraphQL) -> None:
    author = await user(gql, "anna")
    for i in range(60):
        unit = await org(gql, f"Unit {i}")
        person = await contact(gql, "Person", f"No{i}")
        await gql(
            "mutation($i: LinkInput!) { link(input: $i) { id } }",
            {"i": {"type": "EMPLOYS", "fromId": unit, "toId": person}},
        )
        await record(gql, author, [unit, person], f"2025-01-{i % 28 + 1:02d}T10:00:00Z")
    count, data = await round_trips(gql, BUDGET_QUERY)
    edges = data["parties"]["edges"]
    assert len(edges) == 50
    assert sum(len(e["node"]["children"]) for e in edges) >= 20
    assert sum(len(e["node"]["timeline"]["edges"]) for e in edges) >= 40
    assert count <= 3


TREE = """query($id: ID!) { party(id: $id) { id children { id kind children { id } } } }"""
HEIRS = "query($id: ID!) { party(id: $id) { children(types: [HEIR_OF]) { id } } }"


async def test_a_trees_people_have_no_children_to_read_but_their_heirs(gql: GraphQL) -> None:
    """Only an organization is a parent over PART_OF, EMPLOYS and MEMBER_OF (every write
    checks an edge's ends by kind), so the people of a tree are answered none without a
    read; over HEIR_OF a contact is a parent, and its heirs are read."""
    company = await org(gql, "Acme")
    person, heir = await contact(gql, "Ada", "Lovelace"), await contact(gql, "Byron", "King")
    for type_, child, parent in (("EMPLOYS", company, person), ("HEIR_OF", heir, person)):
        ends = {"fromId": child, "toId": parent}
        await gql(
            "mutation($i: LinkInput!) { link(input: $i) { id } }", {"i": {"type": type_, **ends}}
        )
    count, data = await round_trips(gql, TREE, {"id": company})
    assert data["party"]["children"] == [{"id": person, "kind": "CONTACT", "children": []}]
    assert count == 1  # its children, which read the party too
    count, data = await round_trips(gql, HEIRS, {"id": person})
    assert data["party"]["children"] == [{"id": heir}]
    assert count == 1


NESTED = {
    "descendants": "descendants(first: $first) { totalCount pageInfo { hasNextPage } "
    "edges { cursor node { depth parentId party { id displayName } } } }",
    "children": "children { id displayName }",
    "relationships": "relationships { id type fromId toId }",
    "timeline": "timeline(first: 5, includeDescendants: true) { edges { cursor node { id } } }",
}


def _asking(field: str) -> tuple[str, str]:
    """A query for a party and one of its fields, and the same through a fragment, which
    party(id:) reads on its own, as before."""
    head = "query($id: ID!, $first: Int)" if field == "descendants" else "query($id: ID!)"
    fields = f"id displayName {NESTED[field]}"
    return (
        f"{head} {{ party(id: $id) {{ {fields} }} }}",
        f"{head} {{ party(id: $id) {{ ...F }} }} fragment F on Party {{ {fields} }}",
    )


async def test_a_partys_nested_read_reads_the_party_too(gql: GraphQL) -> None:
    """`party(id:)` asking for its descendants, children, relationships or timeline is
    one store call, the field's read reading the party as well, with the answer of the two calls
    it took before; an unknown id is null, a merged id answers its survivor's, and
    arguments the field refuses are its error, in its place."""
    company = await org(gql, "Acme")
    team = await org(gql, "Sales", parentId=company)
    ada = await contact(gql, "Ada", "Lovelace", parentId=team)
    called = (await record(gql, await user(gql, "rita"), [ada], "2025-03-01T10:00:00Z"))["id"]
    answers = {}
    for field in NESTED:
        carried, uncarried = _asking(field)
        for first in (1, 5):
            variables = {"id": company} | ({"first": first} if field == "descendants" else {})
            count, answers[field] = await round_trips(gql, carried, variables)
            assert (await round_trips(gql, uncarried, variables)) == (2, answers[field])
            assert count == 1
        assert await round_trips(gql, carried, {"id": new_id()}) == (1, {"party": None})
    below = answers["descendants"]["party"]["descendants"]
    assert below["totalCount"] == 2
    assert [e["node"]["party"]["displayName"] for e in below["edges"]] == ["Sales", "Ada Lovelace"]
    assert answers["children"]["party"]["children"] == [{"id": team, "displayName": "Sales"}]
    assert [r["type"] for r in answers["relationships"]["party"]["relationships"]] == ["PART_OF"]
    assert [e["node"]["id"] for e in answers["timeline"]["party"]["timeline"]["edges"]] == [called]
    duplicate = await org(gql, "ACME")
    await gql(
        "mutation($s: ID!, $m: ID!) { mergeParties(survivorId: $s, mergedIds: [$m]) { dryRun } }",
        {"s": company, "m": duplicate},
    )
    carried, _ = _asking("descendants")
    _, merged = await round_trips(gql, carried, {"id": duplicate, "first": 5})
    assert merged == answers["descendants"]
    # refused before the read (maxDepth), and by the read (a cursor of another list): the
    # second costs the read that refused it and the party's, and is not read again
    cursor = base64.urlsafe_b64encode(b"x").decode()
    for arguments, calls in (("maxDepth: 0", 1), (f'after: "{cursor}"', 2)):
        field = f"descendants({arguments}) {{ totalCount }}"
        refused = f"query($id: ID!) {{ party(id: $id) {{ id {field} }} }}"
        body = (await gql.raw(refused, {"id": company}, **{"X-Debug-Round-Trips": "1"})).json()
        assert (body["data"], body["extensions"]["roundTrips"]) == ({"party": None}, calls)
        [error] = body["errors"]
        assert (error["path"], error["extensions"]["code"]) == (
            ["party", "descendants"],
            "BAD_USER_INPUT",
        )


async def test_fifty_parties_with_their_possible_duplicates_cost_three(gql: GraphQL) -> None:
    """The parties, the candidates of all of them (one loader call), the candidates' records
    (one more): however many parties and candidates."""
    for i in range(30):
        await org(gql, f"Acme Widgets {i} GmbH", phones=[{"number": f"+43 512 1002{i:02d}"}])
        await org(gql, f"ACME Widgets {i}", phones=[{"number": f"+43 512 1002{i:02d}"}])
    query = """{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { id
        possibleDuplicates { score signals party { id displayName } } } } } }"""
    count, data = await round_trips(gql, query)
    edges = data["parties"]["edges"]
    assert len(edges) == 50 and all(e["node"]["possibleDuplicates"] for e in edges)
    assert count == 3
    pairs = "{ duplicateCandidates(first: 50) { edges { node { party { id } other { id } } } } }"
    count, data = await round_trips(gql, pairs)
    assert len(data["duplicateCandidates"]["edges"]) == 30 and count == 2


async def test_budget_holds_on_a_synthetic_graph(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    store = open_store(url, create=True)
    await store.start()
    for batch in synthetic_batches(3000, seed=7):
        await store.load_batch(batch)
    await store.close()
    async for http in serve(Settings(create=True, graph_url=url)):
        gql = GraphQL(http)
        count, data = await round_trips(gql, BUDGET_QUERY)
        assert len(data["parties"]["edges"]) == 50
        assert count <= 3
        # one call per list field per level: parties; children + timeline; their children +
        # authors and subjects (one party loader); the last children. Never more with more rows.
        deep = """query($n: Int) { parties(first: $n, filter: {kinds: [ORGANIZATION]}) {
            edges { node { children { children { children { id } } }
            timeline(first: 5) { edges { node { author { id } subjects { id } } } } } } } }"""
        assert (await round_trips(gql, deep, {"n": 2}))[0] == 6
        count, data = await round_trips(gql, deep, {"n": 50})
        assert count == 6
        grandchildren = [
            g
            for e in data["parties"]["edges"]
            for c in e["node"]["children"]
            for g in c["children"]
        ]
        assert grandchildren, "the synthetic graph has units two levels down"
