"""Inherited responsibles and contact persons searched below a unit, over GraphQL on the
demo dataset: Nordwind's account manager answers for its units and people, and a role held
in a position under a department is found from the department and from the company."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from client import GraphQL, serve
from test_demo import find

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

RESPONSIBLES = """query($id: ID!, $inherited: Boolean!, $max: Int, $asOf: DateTime) {
  party(id: $id) { responsibles(inherited: $inherited, maxDepth: $max, asOf: $asOf) {
    distance user { username } foundOn { displayName } relationship { role } } } }"""
CONTACT = """query($org: ID!, $role: String!, $direction: Toward, $asOf: DateTime, $max: Int) {
  contactPerson(organizationId: $org, role: $role, direction: $direction, asOf: $asOf,
                maxDepth: $max) {
    distance below person { displayName } organization { displayName } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_graph(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """The demo, read only by every test here."""
    async for client in serve(Settings(create=True, graph_url=module_graph_url, demo=True)):
        yield GraphQL(client)


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def _responsibles(gql: GraphQL, name: str, **variables: object) -> list[dict[str, object]]:
    party = await find(gql, name)
    data = await gql(RESPONSIBLES, {"id": party, "inherited": True, **variables})
    return data["party"]["responsibles"]  # type: ignore[no-any-return]


async def test_a_unit_and_a_person_inherit_the_clients_account_manager(
    demo_graph: GraphQL,
) -> None:
    anna = {
        "user": {"username": "anna.keller"},
        "foundOn": {"displayName": "Nordwind Logistics AG"},
    }
    fleet = await _responsibles(demo_graph, "Fleet Management")
    assert fleet == [{**anna, "distance": 2, "relationship": {"role": "key account"}}]
    jana = await _responsibles(demo_graph, "Jana Petersen")
    assert [(r["distance"], r["foundOn"]) for r in jana] == [(4, anna["foundOn"])]
    own = await _responsibles(demo_graph, "Nordwind Logistics")
    assert [r["distance"] for r in own] == [0]
    assert await _responsibles(demo_graph, "Fleet Management", max=1) == []
    # the default is the party's own edges only
    fleet_id = await find(demo_graph, "Fleet Management")
    plain = await demo_graph(RESPONSIBLES, {"id": fleet_id, "inherited": False})
    assert plain["party"]["responsibles"] == []


async def test_a_diamond_answers_each_responsibility_once(demo_graph: GraphQL) -> None:
    """Procurement was part of both branches 300 days ago: two ways up, one answer."""
    then = _days_ago(300)
    found = await _responsibles(demo_graph, "Procurement Lead", asOf=then)
    assert [(r["user"]["username"], r["distance"]) for r in found] == [("anna.keller", 3)]
    # before anna took the account on, nobody above the unit was responsible
    assert await _responsibles(demo_graph, "Procurement Lead", asOf=_days_ago(1900)) == []


async def test_the_own_responsibility_stays_nearest(demo_graph: GraphQL) -> None:
    """An owner of Lindenstrasse has none of its own: the association's property manager,
    the one of that date."""
    now = await _responsibles(demo_graph, "Eva Schmid")
    assert [(r["user"]["username"], r["distance"]) for r in now] == [("tom.weber", 1)]
    before = await _responsibles(demo_graph, "Eva Schmid", asOf=_days_ago(500))
    assert [r["user"]["username"] for r in before] == ["lena.hofer"]


async def test_bad_input_to_responsibles(demo_graph: GraphQL) -> None:
    fleet = await find(demo_graph, "Fleet Management")
    alone = await demo_graph.error(RESPONSIBLES, {"id": fleet, "inherited": False, "max": 2})
    assert alone["extensions"]["code"] == "BAD_USER_INPUT"
    for depth, code in ((0, "BAD_USER_INPUT"), (10**6, "LIMIT_EXCEEDED")):
        error = await demo_graph.error(RESPONSIBLES, {"id": fleet, "inherited": True, "max": depth})
        assert error["extensions"]["code"] == code


async def _contact(gql: GraphQL, unit: str, role: str, **variables: object) -> object:
    org = await find(gql, unit)
    return (await gql(CONTACT, {"org": org, "role": role, **variables}))["contactPerson"]


async def test_a_role_below_is_found_from_the_department_and_the_company(
    demo_graph: GraphQL,
) -> None:
    felix = {"person": {"displayName": "Felix Wagner"}, "below": True}
    lead = {"organization": {"displayName": "Procurement Lead"}}
    company = await _contact(demo_graph, "Nordwind Logistics", "procurement lead", direction="DOWN")
    assert company == {**felix, **lead, "distance": 3}
    branch = await _contact(demo_graph, "Nordwind Munich", "Procurement Lead", direction="BOTH")
    assert branch == {**felix, **lead, "distance": 2}
    # up, the default, finds nobody above the company
    assert await _contact(demo_graph, "Nordwind Logistics", "procurement lead") is None
    # a sibling branch is neither above nor below
    sibling = await _contact(demo_graph, "Fleet Management", "procurement lead", direction="BOTH")
    assert sibling is None
    # before the move, procurement was under Hamburg as well
    hamburg = await _contact(
        demo_graph, "Nordwind Hamburg", "Procurement Lead", direction="DOWN", asOf=_days_ago(300)
    )
    assert hamburg == {**felix, **lead, "distance": 2}
    now = await _contact(demo_graph, "Nordwind Hamburg", "Procurement Lead", direction="DOWN")
    assert now is None
    bounded = await _contact(
        demo_graph, "Nordwind Logistics", "Procurement Lead", direction="DOWN", max=2
    )
    assert bounded is None


async def test_the_nearest_wins_and_the_unit_itself_first(demo_graph: GraphQL) -> None:
    """Miriam is the warehouse manager two levels below the company; at the warehouse she
    is found at the unit itself, whichever way the search goes."""
    below = await _contact(demo_graph, "Nordwind Logistics", "warehouse manager", direction="BOTH")
    assert below == {
        "person": {"displayName": "Miriam Brandt"},
        "organization": {"displayName": "Warehouse Operations"},
        "distance": 2,
        "below": True,
    }
    for direction in ("UP", "DOWN", "BOTH"):
        here = await _contact(
            demo_graph, "Warehouse Operations", "warehouse manager", direction=direction
        )
        assert here == {**below, "distance": 0, "below": False}
    # a unit's own position: down one level
    fleet = await _contact(demo_graph, "Fleet Management", "head of fleet", direction="DOWN")
    assert fleet == {
        "person": {"displayName": "Jana Petersen"},
        "organization": {"displayName": "Head of Fleet"},
        "distance": 1,
        "below": True,
    }


async def test_bad_input_to_contact_person_below(demo_graph: GraphQL) -> None:
    company = await find(demo_graph, "Nordwind Logistics")
    blank = await demo_graph.error(CONTACT, {"org": company, "role": " ", "direction": "DOWN"})
    assert blank["extensions"]["code"] == "BAD_USER_INPUT"
    wrong = await demo_graph.error(CONTACT, {"org": company, "role": "x", "direction": "SIDEWAYS"})
    assert wrong["extensions"]["code"] in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}
    deep = await demo_graph.error(
        CONTACT, {"org": company, "role": "x", "direction": "DOWN", "max": 10**6}
    )
    assert deep["extensions"]["code"] == "LIMIT_EXCEEDED"
    person = await find(demo_graph, "Jana Petersen")
    not_a_unit = await demo_graph.error(CONTACT, {"org": person, "role": "x", "direction": "DOWN"})
    assert not_a_unit["extensions"]["code"] == "BAD_USER_INPUT"
