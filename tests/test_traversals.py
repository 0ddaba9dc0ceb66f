"""Network, path, contact person and responsibles over GraphQL, on the demo dataset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from client import GraphQL
from factories import contact, link, org
from test_demo import find

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the shared demo's loop


@pytest.fixture(scope="module")
def demo(module_demo: GraphQL) -> GraphQL:
    """The tests here only read: one demo per backend serves them all."""
    return module_demo


PATH = """query($a: ID!, $b: ID!, $max: Int, $types: [RelType!]) {
  path(fromId: $a, toId: $b, maxDepth: $max, types: $types) {
    length nodes { id displayName } relationships { type from { id } to { id } } } }"""
NETWORK = """query($id: ID!, $depth: Int, $limit: Int, $types: [RelType!]) {
  party(id: $id) { network(depth: $depth, limit: $limit, types: $types) {
    truncated nodes { id displayName } edges { type from { id } to { id } } } } }"""
CONTACT = """query($org: ID!, $role: String!) { contactPerson(organizationId: $org, role: $role) {
  distance person { displayName } organization { displayName } } }"""
CONTACT_AS_OF = """query($org: ID!, $role: String!, $asOf: DateTime, $toward: Toward) {
  contactPerson(organizationId: $org, role: $role, asOf: $asOf, direction: $toward) {
    person { displayName } distance } }"""
RESPONSIBLES = """query($id: ID!, $asOf: DateTime) { party(id: $id) { responsibles(asOf: $asOf) {
  user { username } relationship { since until role } } } }"""


async def test_shortest_path_between_a_client_and_an_estate(demo: GraphQL) -> None:
    sofia = await find(demo, "Sofia Marino")
    walter = await find(demo, "Walter Krämer")
    path = (await demo(PATH, {"a": sofia, "b": walter}))["path"]
    assert path["length"] == 4 == len(path["relationships"]) == len(path["nodes"]) - 1
    nodes = [n["id"] for n in path["nodes"]]
    assert nodes[0] == sofia and nodes[-1] == walter
    for here, there, rel in zip(nodes, nodes[1:], path["relationships"], strict=False):
        assert {rel["from"]["id"], rel["to"]["id"]} == {here, there}
    assert (await demo(PATH, {"a": sofia, "b": walter, "max": 3}))["path"] is None
    knows_only = await demo(PATH, {"a": sofia, "b": walter, "types": ["KNOWS"]})
    assert knows_only["path"] is None
    missing = await demo.error(PATH, {"a": sofia, "b": "no-such-party"})
    assert missing["extensions"]["code"] == "NOT_FOUND"
    too_deep = await demo.error(PATH, {"a": sofia, "b": walter, "max": 1000})
    assert too_deep["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_network_around_a_contact(demo: GraphQL) -> None:
    jana = await find(demo, "Jana Petersen")
    network = (await demo(NETWORK, {"id": jana, "depth": 1}))["party"]["network"]
    names = [n["displayName"] for n in network["nodes"]]
    assert names[0] == "Jana Petersen"
    assert set(names[1:]) == {"Head of Fleet", "Thomas Huber"}
    ids = {n["id"] for n in network["nodes"]}
    assert all(e["from"]["id"] in ids and e["to"]["id"] in ids for e in network["edges"])
    assert {e["type"] for e in network["edges"]} == {"EMPLOYS", "KNOWS"}
    assert not network["truncated"]

    wider = (await demo(NETWORK, {"id": jana, "depth": 3}))["party"]["network"]
    assert len(wider["nodes"]) > len(network["nodes"])
    capped = (await demo(NETWORK, {"id": jana, "depth": 3, "limit": 2}))["party"]["network"]
    assert capped["truncated"] and len(capped["nodes"]) == 2
    too_many = await demo.error(NETWORK, {"id": jana, "limit": 10**6})
    assert too_many["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_contact_person_walks_up_to_the_nearest_holder(demo: GraphQL) -> None:
    lead = await find(demo, "Procurement Lead")
    deputy = await demo(CONTACT, {"org": lead, "role": "deputy procurement LEAD"})
    assert deputy["contactPerson"] == {
        "distance": 1,
        "person": {"displayName": "Miriam Brandt"},
        "organization": {"displayName": "Procurement"},
    }
    here = (await demo(CONTACT, {"org": lead, "role": "Procurement Lead"}))["contactPerson"]
    assert here["distance"] == 0 and here["person"]["displayName"] == "Felix Wagner"
    club = await find(demo, "TSV Bergfeld")
    chair = (await demo(CONTACT, {"org": club, "role": "Chairman"}))["contactPerson"]
    assert chair["person"]["displayName"] == "Martin Roth" and chair["distance"] == 0
    rowing = await find(demo, "Rowing Club")
    assert (await demo(CONTACT, {"org": rowing, "role": "chairman"}))["contactPerson"] is None

    jana = await find(demo, "Jana Petersen")
    not_an_org = await demo.error(CONTACT, {"org": jana, "role": "x"})
    assert not_an_org["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = await demo.error(CONTACT, {"org": "nope", "role": "x"})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    empty = await demo.error(CONTACT, {"org": club, "role": "  "})
    assert empty["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_role_is_held_at_a_unit_by_whom_it_employs_or_who_is_its_member(
    demo: GraphQL,
) -> None:
    """Membership the other way (the unit a member elsewhere) gives nobody the role at the
    unit, though the search up finds the unit itself at the other end; a role is held as
    of its edge's dates."""
    club = await find(demo, "Rowing Club")
    asked = {"org": club, "role": "Regatta Steward"}
    league = await org(demo, "Regatta League")
    await link(
        demo, "MEMBER_OF", club, league, role="regatta steward", since="2020-01-01T00:00:00Z"
    )
    assert (await demo(CONTACT_AS_OF, {**asked, "toward": "DOWN"}))["contactPerson"] is None
    up = (await demo(CONTACT_AS_OF, asked))["contactPerson"]
    assert up == {"person": {"displayName": "Rowing Club Seewinkel"}, "distance": 1}
    paid = await contact(demo, "Paula", "Paid")
    await link(demo, "EMPLOYS", club, paid, role=" REGATTA STEWARD ", since="2021-01-01T00:00:00Z")
    here = (await demo(CONTACT_AS_OF, asked))["contactPerson"]
    assert here == {"person": {"displayName": "Paula Paid"}, "distance": 0}
    before = await demo(CONTACT_AS_OF, {**asked, "asOf": "2020-06-01T00:00:00Z"})
    assert before["contactPerson"]["person"]["displayName"] == "Rowing Club Seewinkel"


async def test_responsibles_now_and_before_the_handover(demo: GraphQL) -> None:
    building = await find(demo, "Lindenstrasse")
    now = (await demo(RESPONSIBLES, {"id": building}))["party"]["responsibles"]
    assert [r["user"]["username"] for r in now] == ["tom.weber"]
    before = (datetime.now(UTC) - timedelta(days=500)).isoformat()
    then = (await demo(RESPONSIBLES, {"id": building, "asOf": before}))["party"]["responsibles"]
    assert [r["user"]["username"] for r in then] == ["lena.hofer"]
    assert then[0]["relationship"]["until"] is not None
