"""Typed, dated relationships: endpoint rules, history, asOf reads, children."""

from __future__ import annotations

import asyncio

import pytest
from client import GraphQL
from factories import contact, link, org, user

RELS = """
query($id: ID!, $types: [RelType!], $dir: Direction, $asOf: DateTime, $ended: Boolean) {
  party(id: $id) {
    relationships(types: $types, direction: $dir, asOf: $asOf, includeEnded: $ended) {
      id type role since until properties from { id displayName } to { id displayName }
    }
  }
}"""
CHILDREN = """
query($id: ID!, $types: [RelType!], $asOf: DateTime) {
  party(id: $id) { children(types: $types, asOf: $asOf) { id displayName } }
}"""
UNLINK = "mutation($id: ID!, $until: DateTime) { unlink(id: $id, until: $until) { id until } }"


async def rels(gql: GraphQL, party: str, **args: object) -> list[dict]:
    return (await gql(RELS, {"id": party, **args}))["party"]["relationships"]


async def children(gql: GraphQL, party: str, **args: object) -> list[str]:
    data = await gql(CHILDREN, {"id": party, **args})
    return [c["displayName"] for c in data["party"]["children"]]


async def test_link_reads_from_both_ends(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    person = await contact(gql, "Jana", "Petersen")
    created = await link(
        gql,
        "EMPLOYS",
        company,
        person,
        role="Head of Fleet",
        since="2024-03-01T09:00:00+01:00",
        properties={"share": "80%"},
    )
    assert created["since"] == "2024-03-01T08:00:00.000000+00:00"  # stored and returned in UTC
    assert created["until"] is None
    [out] = await rels(gql, company, dir="OUTGOING")
    [inc] = await rels(gql, person, dir="INCOMING")
    assert out == inc
    assert out["from"]["displayName"] == "Acme" and out["to"]["displayName"] == "Jana Petersen"
    assert out["role"] == "Head of Fleet" and out["properties"] == {"share": "80%"}
    assert await rels(gql, company, dir="INCOMING") == []
    assert await rels(gql, person, types=["KNOWS"]) == []


@pytest.mark.parametrize(
    ("rel_type", "source", "target"),
    [
        ("PART_OF", "org", "org"),
        ("EMPLOYS", "org", "contact"),
        ("EMPLOYS", "org", "user"),
        ("MEMBER_OF", "contact", "org"),
        ("MEMBER_OF", "org", "org"),
        ("MEMBER_OF", "user", "org"),
        ("HEIR_OF", "contact", "contact"),
        ("REPORTS_TO", "contact", "user"),
        ("REPORTS_TO", "user", "contact"),
        ("RESPONSIBLE_FOR", "user", "org"),
        ("RESPONSIBLE_FOR", "user", "contact"),
        ("KNOWS", "org", "user"),
        ("KNOWS", "contact", "contact"),
    ],
)
async def test_allowed_endpoints(gql: GraphQL, rel_type: str, source: str, target: str) -> None:
    made = {
        "org": [await org(gql, "Org A"), await org(gql, "Org B")],
        "contact": [await contact(gql, "C", "One"), await contact(gql, "C", "Two")],
        "user": [await user(gql, "user.one"), await user(gql, "user.two")],
    }
    created = await link(gql, rel_type, made[source][0], made[target][1])
    assert created["type"] == rel_type


@pytest.mark.parametrize(
    ("rel_type", "source", "target"),
    [
        ("PART_OF", "contact", "org"),
        ("PART_OF", "org", "contact"),
        ("EMPLOYS", "contact", "contact"),
        ("EMPLOYS", "org", "org"),
        ("MEMBER_OF", "contact", "contact"),
        ("HEIR_OF", "user", "contact"),
        ("HEIR_OF", "contact", "org"),
        ("REPORTS_TO", "org", "contact"),
        ("RESPONSIBLE_FOR", "contact", "org"),
        ("RESPONSIBLE_FOR", "org", "org"),
    ],
)
async def test_refused_endpoints(gql: GraphQL, rel_type: str, source: str, target: str) -> None:
    made = {
        "org": [await org(gql, "Org A"), await org(gql, "Org B")],
        "contact": [await contact(gql, "C", "One"), await contact(gql, "C", "Two")],
        "user": [await user(gql, "user.one")],
    }
    error = await gql.error(
        "mutation($i: LinkInput!) { link(input: $i) { id } }",
        {"i": {"type": rel_type, "fromId": made[source][0], "toId": made[target][-1]}},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert rel_type in error["message"]
    assert await rels(gql, made[source][0], ended=True) == []


async def test_unlink_keeps_history_for_as_of_reads(gql: GraphQL) -> None:
    hamburg = await org(gql, "Hamburg", unitType="BRANCH")
    munich = await org(gql, "Munich", unitType="BRANCH")
    procurement = await org(gql, "Procurement", unitType="DEPARTMENT")
    old = await link(gql, "PART_OF", procurement, hamburg, since="2020-01-01T00:00:00Z")
    ended = await gql(UNLINK, {"id": old["id"], "until": "2025-06-01T00:00:00Z"})
    assert ended["unlink"]["until"] == "2025-06-01T00:00:00.000000+00:00"
    await link(gql, "PART_OF", procurement, munich, since="2025-06-01T00:00:00Z")

    assert await children(gql, hamburg) == []
    assert await children(gql, munich) == ["Procurement"]
    assert await children(gql, hamburg, asOf="2024-01-01T00:00:00Z") == ["Procurement"]
    assert await children(gql, munich, asOf="2024-01-01T00:00:00Z") == []
    # until is exclusive, since inclusive: at the handover instant only the new edge holds
    assert await children(gql, hamburg, asOf="2025-06-01T00:00:00Z") == []
    assert await children(gql, munich, asOf="2025-06-01T00:00:00Z") == ["Procurement"]
    assert await children(gql, hamburg, asOf="2019-12-31T23:59:59Z") == []

    current = await rels(gql, procurement)
    assert [r["to"]["displayName"] for r in current] == ["Munich"]
    history = await rels(gql, procurement, ended=True)
    assert [(r["to"]["displayName"], r["until"] is None) for r in history] == [
        ("Hamburg", False),
        ("Munich", True),
    ]
    past = await rels(gql, procurement, asOf="2022-02-02T12:00:00+05:00")
    assert [r["to"]["displayName"] for r in past] == ["Hamburg"]


async def test_children_follow_each_types_parent_end(gql: GraphQL) -> None:
    company = await org(gql, "Acme", unitType="COMPANY")
    branch = await org(gql, "Acme Branch", unitType="BRANCH")
    club = await org(gql, "Club", legalForm="ASSOCIATION")
    worker = await contact(gql, "Wendy", "Worker")
    member = await contact(gql, "Max", "Member")
    deceased = await contact(gql, "Walter", "Kramer")
    heir = await contact(gql, "Ingrid", "Kramer")
    await link(gql, "PART_OF", branch, company)  # parent is the `to` end
    await link(gql, "EMPLOYS", branch, worker)  # parent is the `from` end
    await link(gql, "MEMBER_OF", member, club)
    await link(gql, "MEMBER_OF", club, company)
    await link(gql, "HEIR_OF", heir, deceased)
    await link(gql, "KNOWS", worker, member)

    assert await children(gql, company) == ["Acme Branch", "Club"]
    assert await children(gql, branch) == ["Wendy Worker"]
    assert await children(gql, club) == ["Max Member"]
    assert await children(gql, worker) == []
    assert await children(gql, deceased) == []  # HEIR_OF is not a default hierarchy type
    assert await children(gql, deceased, types=["HEIR_OF"]) == ["Ingrid Kramer"]
    assert await children(gql, company, types=["PART_OF"]) == ["Acme Branch"]
    nested = await gql(
        "query($id: ID!) { party(id: $id) { children { displayName children { displayName } } } }",
        {"id": company},
    )
    assert nested["party"]["children"] == [
        {"displayName": "Acme Branch", "children": [{"displayName": "Wendy Worker"}]},
        {"displayName": "Club", "children": [{"displayName": "Max Member"}]},
    ]


async def test_a_child_by_two_edges_is_listed_once_per_edge_in_either_reading(
    gql: GraphQL,
) -> None:
    """Names only (one statement on SQLite: edges and names together) or whole parties:
    a person the unit employs and who is a member of it is its child twice while both
    edges hold, once before the second begins and once after the first ends."""
    unit = await org(gql, "Works Council")
    ann = await contact(gql, "Ann", "Zeller")
    bob = await contact(gql, "Bob", "Adler")
    await link(gql, "MEMBER_OF", ann, unit, since="2021-01-01T00:00:00Z")
    employed = await link(gql, "EMPLOYS", unit, ann, since="2020-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", unit, bob, since="2022-01-01T00:00:00Z")
    await gql(UNLINK, {"id": employed["id"], "until": "2023-01-01T00:00:00Z"})
    narrow = "query($id: ID!, $asOf: DateTime) { party(id: $id) { children(asOf: $asOf) { id } } }"
    whole = (
        "query($id: ID!, $asOf: DateTime) { party(id: $id) { children(asOf: $asOf) { id "
        "... on Contact { firstName emails { address } } } } }"
    )
    for at, expected in (
        ("2022-06-01T00:00:00Z", [ann, ann, bob]),
        ("2024-01-01T00:00:00Z", [ann, bob]),
        ("2020-06-01T00:00:00Z", [ann]),
    ):
        for query in (narrow, whole):
            found = (await gql(query, {"id": unit, "asOf": at}))["party"]["children"]
            assert [child["id"] for child in found] == expected, (query, at)


async def test_children_refuse_non_hierarchy_types(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    error = await gql.error(CHILDREN, {"id": company, "types": ["KNOWS"]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_duplicate_open_link_is_a_conflict(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    person = await contact(gql, "Jana", "Petersen")
    first = await link(gql, "EMPLOYS", company, person, role="staff")
    error = await gql.error(
        "mutation($i: LinkInput!) { link(input: $i) { id } }",
        {"i": {"type": "EMPLOYS", "fromId": company, "toId": person, "role": "staff"}},
    )
    assert error["extensions"]["code"] == "CONFLICT"
    # a second role in the same unit is a different relationship
    await link(gql, "EMPLOYS", company, person, role="works council")
    # and so is the same role again once the first has ended
    await gql(UNLINK, {"id": first["id"]})
    await link(gql, "EMPLOYS", company, person, role="staff")
    assert len(await rels(gql, person, ended=True)) == 3


async def test_unlink_twice_is_a_conflict_and_until_must_follow_since(gql: GraphQL) -> None:
    a = await contact(gql, "A", "A")
    b = await contact(gql, "B", "B")
    rel = await link(gql, "KNOWS", a, b, since="2024-01-01T00:00:00Z")
    early = await gql.error(UNLINK, {"id": rel["id"], "until": "2023-01-01T00:00:00Z"})
    assert early["extensions"]["code"] == "BAD_USER_INPUT"
    await gql(UNLINK, {"id": rel["id"]})
    again = await gql.error(UNLINK, {"id": rel["id"]})
    assert again["extensions"]["code"] == "CONFLICT"
    missing = await gql.error(UNLINK, {"id": "no-such-relationship"})
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_as_of_and_include_ended_exclude_each_other(gql: GraphQL) -> None:
    a = await contact(gql, "A", "A")
    error = await gql.error(RELS, {"id": a, "asOf": "2024-01-01T00:00:00Z", "ended": True})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


CYCLE_LINK = "mutation($i: LinkInput!) { link(input: $i) { id } }"


async def test_links_that_close_a_cycle_are_conflicts(gql: GraphQL) -> None:
    a, b, c = await org(gql, "A"), await org(gql, "B"), await org(gql, "C")
    await link(gql, "PART_OF", a, b)
    await link(gql, "PART_OF", b, c)
    for rel_type, source, target in [("PART_OF", c, a), ("MEMBER_OF", c, a), ("PART_OF", b, a)]:
        error = await gql.error(
            CYCLE_LINK, {"i": {"type": rel_type, "fromId": source, "toId": target}}
        )
        assert error["extensions"]["code"] == "CONFLICT"
        assert "cycle" in error["message"]
    # not a cycle: a second path to the same ancestor, or an edge of a non-hierarchy type
    await link(gql, "MEMBER_OF", a, c)
    await link(gql, "KNOWS", c, a)
    p, q = await contact(gql, "P", "P"), await contact(gql, "Q", "Q")
    await link(gql, "REPORTS_TO", p, q)
    reports = await gql.error(CYCLE_LINK, {"i": {"type": "REPORTS_TO", "fromId": q, "toId": p}})
    assert reports["extensions"]["code"] == "CONFLICT"
    # HEIR_OF is acyclic on its own too
    await link(gql, "HEIR_OF", p, q)
    heir = await gql.error(CYCLE_LINK, {"i": {"type": "HEIR_OF", "fromId": q, "toId": p}})
    assert heir["extensions"]["code"] == "CONFLICT"


async def test_an_ended_edge_does_not_block_the_way_back(gql: GraphQL) -> None:
    a, b = await org(gql, "A"), await org(gql, "B")
    old = await link(gql, "PART_OF", a, b, since="2020-01-01T00:00:00Z")
    await gql(UNLINK, {"id": old["id"], "until": "2021-01-01T00:00:00Z"})
    await link(gql, "PART_OF", b, a, since="2022-01-01T00:00:00Z")
    back_dated = await gql.error(
        CYCLE_LINK,
        {"i": {"type": "PART_OF", "fromId": a, "toId": b, "since": "2023-01-01T00:00:00Z"}},
    )
    assert back_dated["extensions"]["code"] == "CONFLICT"


async def test_racing_opposite_links_let_exactly_one_through(gql: GraphQL) -> None:
    for round_ in range(3):
        x, y = await org(gql, f"X{round_}"), await org(gql, f"Y{round_}")
        z = await org(gql, f"Z{round_}")
        answers = await asyncio.gather(
            gql.raw(CYCLE_LINK, {"i": {"type": "PART_OF", "fromId": x, "toId": y}}),
            gql.raw(CYCLE_LINK, {"i": {"type": "PART_OF", "fromId": y, "toId": z}}),
            gql.raw(CYCLE_LINK, {"i": {"type": "MEMBER_OF", "fromId": z, "toId": x}}),
            gql.raw(CYCLE_LINK, {"i": {"type": "PART_OF", "fromId": y, "toId": x}}),
        )
        bodies = [a.json() for a in answers]
        refused = [b["errors"][0]["extensions"]["code"] for b in bodies if "errors" in b]
        assert refused and set(refused) == {"CONFLICT"}, bodies
        # whatever order they landed in, what landed holds no cycle
        data = await gql(
            "query($id: ID!) { party(id: $id) { ancestors(types: [PART_OF, MEMBER_OF]) { id } } }",
            {"id": x},
        )
        assert x not in [p["id"] for p in data["party"]["ancestors"]]


async def test_a_ring_of_racing_links_never_closes(gql: GraphQL) -> None:
    """Six new units link each to the next at once: none has an edge coming in, so each
    link may skip the cycle search, and the ring must still stay open."""
    for round_ in range(2):
        ring = [await org(gql, f"R{round_}-{i}") for i in range(6)]
        answers = await asyncio.gather(
            *(
                gql.raw(CYCLE_LINK, {"i": {"type": "PART_OF", "fromId": a, "toId": b}})
                for a, b in zip(ring, ring[1:] + ring[:1], strict=True)
            )
        )
        refused = [
            a.json()["errors"][0]["extensions"]["code"] for a in answers if a.json().get("errors")
        ]
        assert refused and set(refused) == {"CONFLICT"}, [a.json() for a in answers]
        data = await gql(
            "query($id: ID!) { party(id: $id) { ancestors(types: [PART_OF]) { id } } }",
            {"id": ring[0]},
        )
        assert ring[0] not in [p["id"] for p in data["party"]["ancestors"]]
