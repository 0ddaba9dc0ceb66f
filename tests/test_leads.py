"""Leads through GraphQL, on both stores: a lead status set by updateParty and filtered
by parties(filter:); convertLead re-categorizes, marks CONVERTED and opens a deal in one
transaction, in the history; a bad category or deal leaves nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import contact, org, user

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

UPDATE = """mutation($id: ID!, $status: LeadStatus) {
  updateParty(id: $id, input: {leadStatus: $status}) {
    ... on Contact { leadStatus } ... on Organization { leadStatus } } }"""
LEADS = """query($statuses: [LeadStatus!]) { parties(filter: {leadStatuses: $statuses,
  kinds: [CONTACT, ORGANIZATION]}, first: 100) { edges { node { id } } } }"""
CONVERT = """mutation($p: ID!, $c: ID!, $deal: CreateOpportunityInput) {
  convertLead(partyId: $p, categoryId: $c, createOpportunity: $deal) {
    party { categoryId version ... on Organization { leadStatus } ... on Contact { leadStatus } }
    opportunity { title organization { id } stage { name } } } }"""
STATE = """query($p: ID!) { party(id: $p) { categoryId version
  ... on Organization { leadStatus } ... on Contact { leadStatus }
  history(first: 10) { edges { node { kind fields { field } } } } }
  opportunities(first: 500) { edges { node { id } } } }"""
PIPELINE = """mutation { createPipeline(name: "Leads", stages: [
  {name: "Open", order: 1, probability: 25, outcome: OPEN}]) { id stages { id } } }"""


@dataclass
class World:
    gql: GraphQL
    owner: str
    pipeline: str
    stage: str
    category: str  # one organizations may enter


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[World]:
    settings = Settings(create=True, graph_url=module_graph_url, rate_limit=0)
    async for http in serve(settings):
        gql = GraphQL(http)
        made = (await gql(PIPELINE))["createPipeline"]
        await gql(
            'mutation { createCategory(input: {id: "client", name: "Client", '
            "kinds: [ORGANIZATION, CONTACT]}) { id } }"
        )
        owner = await user(gql, "lead.owner")
        yield World(gql, owner, made["id"], made["stages"][0]["id"], "client")


def _deal(world: World, organization: str, **more: Any) -> dict[str, Any]:
    return {
        "title": "First order",
        "organizationId": organization,
        "ownerId": world.owner,
        "pipelineId": world.pipeline,
        "stageId": world.stage,
        "amount": "900",
        "currency": "EUR",
        **more,
    }


async def test_a_lead_status_is_set_cleared_and_filtered(world: World) -> None:
    gql = world.gql
    shop = await org(gql, "Corner Shop")
    eva = await contact(gql, "Eva", "Prospect")
    assert (await gql(UPDATE, {"id": shop, "status": "NEW"}))["updateParty"] == {
        "leadStatus": "NEW"
    }
    await gql(UPDATE, {"id": eva, "status": "QUALIFIED"})
    found = await gql(LEADS, {"statuses": ["NEW", "QUALIFIED"]})
    assert {e["node"]["id"] for e in found["parties"]["edges"]} >= {shop, eva}
    qualified = await gql(LEADS, {"statuses": ["QUALIFIED"]})
    ids = {e["node"]["id"] for e in qualified["parties"]["edges"]}
    assert eva in ids and shop not in ids
    await gql(UPDATE, {"id": eva, "status": None})
    cleared = await gql(LEADS, {"statuses": ["QUALIFIED"]})
    assert eva not in {e["node"]["id"] for e in cleared["parties"]["edges"]}

    someone = await user(gql, "not.a.lead")
    error = await gql.error(
        "mutation($id: ID!) { updateParty(id: $id, input: {leadStatus: NEW}) { id } }",
        {"id": someone},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_lead_is_converted_with_its_first_deal_in_one_write(world: World) -> None:
    gql = world.gql
    shop = await org(gql, "Bakery Prospect")
    await gql(UPDATE, {"id": shop, "status": "QUALIFIED"})
    done = (await gql(CONVERT, {"p": shop, "c": world.category, "deal": _deal(world, shop)}))[
        "convertLead"
    ]
    assert done["party"]["categoryId"] == "client"
    assert done["party"]["leadStatus"] == "CONVERTED"
    assert done["opportunity"] == {
        "title": "First order",
        "organization": {"id": shop},
        "stage": {"name": "Open"},
    }
    state = (await gql(STATE, {"p": shop}))["party"]
    entries = {e["node"]["kind"]: e["node"] for e in state["history"]["edges"][:2]}
    assert set(entries) == {"LEAD_CONVERTED", "OPPORTUNITY_CREATED"}  # the deal's too
    changed = {f["field"] for f in entries["LEAD_CONVERTED"]["fields"]}
    assert changed == {"categoryId", "leadStatus"}

    again = await gql.error(CONVERT, {"p": shop, "c": world.category})
    assert again["extensions"]["code"] == "CONFLICT"

    person = await contact(gql, "Otto", "Lead")
    alone = (await gql(CONVERT, {"p": person, "c": world.category}))["convertLead"]
    assert alone["party"]["leadStatus"] == "CONVERTED" and alone["opportunity"] is None


FAILURES = {
    "unknown category": ({"c": "no-such-category"}, None),
    "category of users only": ({"c": "staff"}, None),
    "negative amount": ({}, {"amount": "-5"}),
    "unknown currency": ({}, {"currency": "XXY"}),
    "stage of no pipeline": ({}, {"stageId": "no-such"}),
    "lost stage without reason": ({}, "lost"),
}


@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
async def test_a_failed_conversion_leaves_nothing_written(world: World, case: str) -> None:
    gql = world.gql
    if case == "category of users only":
        await gql(
            'mutation { createCategory(input: {id: "staff", name: "Staff", kinds: [USER]}) { id } }'
        )
    shop = await org(gql, f"Prospect {case}")
    await gql(UPDATE, {"id": shop, "status": "CONTACTED"})
    given, deal_change = FAILURES[case]
    deal = _deal(world, shop)
    if deal_change == "lost":
        lost = await gql(
            'mutation { createPipeline(name: "With loss", stages: ['
            '{name: "Open", order: 1, probability: 5, outcome: OPEN}, '
            '{name: "Lost", order: 2, probability: 0, outcome: LOST}]) { id stages { id } } }'
        )
        pipeline = lost["createPipeline"]
        deal |= {"pipelineId": pipeline["id"], "stageId": pipeline["stages"][1]["id"]}
    elif deal_change is not None:
        deal |= deal_change
    before = await gql(STATE, {"p": shop})
    error = await gql.error(CONVERT, {"p": shop, "c": world.category, "deal": deal, **given})
    assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}, error
    assert await gql(STATE, {"p": shop}) == before
