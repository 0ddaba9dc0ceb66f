"""Opportunities through GraphQL, on both stores: opened, changed and moved under
expectedVersion with a dated stage history and history entries; listed by filter and
order, cursor-paged, rolled up under a client's tree; summed per stage and currency
against a hand-computed fixture; bad input refused with nothing written; a viewer scoped
to one client sees and writes only that client's deals."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from access import bearer
from client import GraphQL, serve
from downgrades import AFTER_20
from factories import contact, link, org, user

from contactgraph.config import Settings
from contactgraph.graph.neo4j import opportunities as neo4j_opportunities

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIELDS = """id title amount currency probability ownProbability expectedCloseDate source
  lostReason status version stage { id name } pipeline { id }
  organization { id } owner { id } contacts { id } stageHistory { stageId at byId }"""
CREATE = f"""mutation($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{ {FIELDS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdateOpportunityInput!, $v: Int) {{
  updateOpportunity(id: $id, input: $input, expectedVersion: $v) {{ {FIELDS} }} }}"""
MOVE = f"""mutation($id: ID!, $stage: ID!, $v: Int, $why: String) {{
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $v, lostReason: $why) {{
    {FIELDS} }} }}"""
LIST = """query($filter: OpportunityFilter, $order: OpportunityOrder, $first: Int,
  $after: String) { opportunities(filter: $filter, orderBy: $order, first: $first,
  after: $after) { pageInfo { hasNextPage endCursor } edges { node { id title amount } } } }"""
SUMMARY = """query($p: ID!, $owners: [ID!], $after: Date, $before: Date, $between: DateRange) {
  pipelineSummary(pipelineId: $p, ownerIds: $owners, closeAfter: $after, closeBefore: $before,
  closeBetween: $between) { stage { name } currency count amount weightedAmount } }"""
SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  id } }"""
UPDATE_TASK = """mutation($id: ID!, $input: UpdateActivityInput!) {
  updateActivity(id: $id, input: $input) { id attendees { party { id } } } }"""
HISTORY = """query($id: ID!) { node(id: $id) { ... on Organization {
  history(first: 20) { edges { node { kind subjectIds } } } } } }"""
PIPELINE = """mutation($name: String!) { createPipeline(name: $name, stages: [
  {name: "Qualify", order: 1, probability: 20, outcome: OPEN},
  {name: "Propose", order: 2, probability: 50, outcome: OPEN},
  {name: "Won", order: 3, probability: 100, outcome: WON},
  {name: "Lost", order: 4, probability: 0, outcome: LOST}]) { id stages { id name } } }"""


class SignedIn(GraphQL):
    """The same app as another user: their token on each request."""

    def __init__(self, http: httpx.AsyncClient, secret: str) -> None:
        super().__init__(http)
        self.secret = secret

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await super().raw(query, variables, **headers, **bearer(self.secret))


@dataclass
class World:
    gql: GraphQL
    ids: dict[str, str]
    stages: dict[str, str]  # by name, of the main pipeline
    other_stage: str  # a stage of another pipeline


async def _pipeline(gql: GraphQL, name: str) -> tuple[str, dict[str, str]]:
    made = (await gql(PIPELINE, {"name": name}))["createPipeline"]
    return made["id"], {s["name"]: s["id"] for s in made["stages"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[World]:
    """Two clients (north below acme), a third apart, two sellers, a pipeline."""
    settings = Settings(create=True, graph_url=module_graph_url, rate_limit=0)
    async for http in serve(settings):
        gql = GraphQL(http)
        ids = {
            "acme": await org(gql, "Acme"),
            "north": await org(gql, "Acme North"),
            "globex": await org(gql, "Globex"),
            "ann": await user(gql, "ann.sales"),
            "bob": await user(gql, "bob.sales"),
            "eva": await contact(gql, "Eva", "Buyer"),
        }
        await link(gql, "PART_OF", ids["north"], ids["acme"])
        ids["pipeline"], stages = await _pipeline(gql, "Direct sales")
        _, others = await _pipeline(gql, "Partner sales")
        yield World(gql, ids, stages, others["Qualify"])


def _task(subject: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "TASK",
        "summary": "Call",
        "subjectIds": [subject],
        "dueAt": "2031-01-05T09:00:00Z",
        **more,
    }


def _deal(world: World, **more: Any) -> dict[str, Any]:
    return {
        "title": "Fleet renewal",
        "organizationId": world.ids["acme"],
        "ownerId": world.ids["ann"],
        "pipelineId": world.ids["pipeline"],
        "stageId": world.stages["Qualify"],
        "amount": "1000.00",
        "currency": "eur",
        **more,
    }


async def test_an_opportunity_is_opened_changed_and_moved_with_its_stage_history(
    world: World,
) -> None:
    gql = world.gql
    made = (
        await gql(CREATE, {"input": _deal(world, contactIds=[world.ids["eva"]], source="Fair")})
    )["createOpportunity"]
    assert made["amount"] == "1000.00" and made["currency"] == "EUR"
    assert made["probability"] == 20 and made["ownProbability"] is None
    assert made["status"] == "OPEN" and made["version"] == 1
    assert made["stage"]["name"] == "Qualify" and made["organization"]["id"] == world.ids["acme"]
    assert made["contacts"] == [{"id": world.ids["eva"]}]
    assert [s["stageId"] for s in made["stageHistory"]] == [world.stages["Qualify"]]

    changed = (
        await gql(
            UPDATE,
            {
                "id": made["id"],
                "input": {"amount": "1500.5", "probability": 35, "expectedCloseDate": "2031-03-31"},
                "v": 1,
            },
        )
    )["updateOpportunity"]
    assert changed["version"] == 2 and changed["amount"] == "1500.5"
    assert changed["probability"] == 35 and changed["expectedCloseDate"] == "2031-03-31"
    stale = await gql.error(UPDATE, {"id": made["id"], "input": {"title": "x"}, "v": 1})
    assert stale["extensions"]["code"] == "CONFLICT"

    moved = (await gql(MOVE, {"id": made["id"], "stage": world.stages["Propose"], "v": 2}))[
        "moveOpportunity"
    ]
    assert moved["stage"]["name"] == "Propose" and moved["probability"] == 35
    reset = (await gql(UPDATE, {"id": made["id"], "input": {"probability": None}, "v": 3}))[
        "updateOpportunity"
    ]  # an explicit null: back to the stage's default, which it follows from then on
    assert reset["ownProbability"] is None and reset["probability"] == 50
    assert reset["version"] == 4
    kept = (await gql(UPDATE, {"id": made["id"], "input": {"source": "Web"}}))[
        "updateOpportunity"
    ]  # left out: kept as it is
    assert kept["ownProbability"] is None and kept["version"] == 5
    unexplained = await gql.error(MOVE, {"id": made["id"], "stage": world.stages["Lost"]})
    assert unexplained["extensions"]["code"] == "BAD_USER_INPUT"
    assert unexplained["extensions"]["field"] == "lostReason"
    lost = (await gql(MOVE, {"id": made["id"], "stage": world.stages["Lost"], "why": "Price"}))[
        "moveOpportunity"
    ]
    assert lost["status"] == "LOST" and lost["lostReason"] == "Price"
    assert lost["probability"] == 0 and lost["version"] == 6
    assert [s["stageId"] for s in lost["stageHistory"]] == [
        world.stages["Qualify"],
        world.stages["Propose"],
        world.stages["Lost"],
    ]
    assert lost["stageHistory"][1]["at"] <= lost["stageHistory"][2]["at"]
    assert lost["stageHistory"][2]["byId"] is not None

    entries = (await gql(HISTORY, {"id": world.ids["acme"]}))["node"]["history"]["edges"]
    about = [e["node"]["kind"] for e in entries if e["node"]["subjectIds"][0] == made["id"]]
    assert about == [
        "OPPORTUNITY_MOVED",
        "OPPORTUNITY_UPDATED",
        "OPPORTUNITY_UPDATED",
        "OPPORTUNITY_MOVED",
        "OPPORTUNITY_UPDATED",
        "OPPORTUNITY_CREATED",
    ]


BAD = {
    "negative amount": ({"amount": "-1"}, "BAD_USER_INPUT", "amount"),
    "amount not a number": ({"amount": "12,50"}, "BAD_USER_INPUT", "amount"),
    "amount too precise": ({"amount": "1.00001"}, "BAD_USER_INPUT", "amount"),
    "amount huge": ({"amount": "1e20"}, "BAD_USER_INPUT", "amount"),
    "unknown currency": ({"currency": "EUX"}, "BAD_USER_INPUT", "currency"),
    "huge title": ({"title": "x" * 201}, "BAD_USER_INPUT", "title"),
    "empty title": ({"title": " "}, "BAD_USER_INPUT", "title"),
    "unknown stage": ({"stageId": "no-such"}, "BAD_USER_INPUT", "stageId"),
    "unknown pipeline": ({"pipelineId": "no-such"}, "BAD_USER_INPUT", "pipelineId"),
    "probability over 100": ({"probability": 101}, "BAD_USER_INPUT", "probability"),
    "owner not a user": ("eva", "BAD_USER_INPUT", "ownerId"),
    "organization unknown": ({"organizationId": "no-such"}, None, None),
    "lost without a reason": ("lost", "BAD_USER_INPUT", "lostReason"),
    "close date format": ({"expectedCloseDate": "31/12/2030"}, "BAD_USER_INPUT", None),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_a_bad_opportunity_is_refused_with_nothing_written(world: World, case: str) -> None:
    change, code, field = BAD[case]
    if change == "eva":
        change = {"ownerId": world.ids["eva"]}
    elif change == "lost":
        change = {"stageId": world.stages["Lost"]}
    before = await world.gql(LIST, {"first": 500})
    error = await world.gql.error(CREATE, {"input": _deal(world, **change)})
    # an organization that is not there is refused like one out of reach: nothing told
    assert error["extensions"]["code"] in ({code} if code else {"FORBIDDEN", "BAD_USER_INPUT"})
    if field is not None:
        assert error["extensions"].get("field") == field, error
    assert await world.gql(LIST, {"first": 500}) == before


async def test_a_stage_of_another_pipeline_is_refused(world: World) -> None:
    made = await world.gql(CREATE, {"input": _deal(world, title="Elsewhere")})
    deal = made["createOpportunity"]
    error = await world.gql.error(MOVE, {"id": deal["id"], "stage": world.other_stage})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "stageId"
    again = await world.gql(UPDATE, {"id": deal["id"], "input": {}})
    assert again["updateOpportunity"]["version"] == 1  # nothing changed
    missing = await world.gql.error(MOVE, {"id": "no-such", "stage": world.stages["Won"]})
    assert missing["extensions"]["code"] == "NOT_FOUND"

    # the stage it is in cannot be left out of its pipeline
    others = [
        {"id": world.stages[name], "name": name, "order": order, "probability": p, "outcome": o}
        for name, order, p, o in (("Won", 3, 100, "WON"), ("Propose", 2, 50, "OPEN"))
    ]
    kept = await world.gql.error(
        "mutation($id: ID!, $s: [StageInput!]!) { updatePipeline(id: $id, stages: $s) { id } }",
        {"id": world.ids["pipeline"], "s": others},
    )
    assert kept["extensions"]["code"] == "CONFLICT"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def forecast(world: World) -> str:
    """A pipeline of its own with a hand-computed fixture:

    Qualify (20%): 100.10 EUR, 200.20 EUR at own 50%  -> 300.30 EUR, weighted 20.02 + 100.10
    Qualify (20%): 99.99 USD (bob)                     -> 99.99 USD, weighted 19.998
    Propose (50%): 0.01 EUR                            -> 0.01 EUR, weighted 0.005
    Won (100%):    1234.5678 EUR, own 10% ignored      -> weighted 1234.5678
    """
    pipeline, stages = await _pipeline(world.gql, "Forecast")
    rows = [
        ("Qualify", "100.10", "EUR", None, "ann", "2031-01-10"),
        ("Qualify", "200.20", "EUR", 50, "ann", "2031-02-10"),
        ("Qualify", "99.99", "USD", None, "bob", "2031-01-20"),
        ("Propose", "0.01", "EUR", None, "ann", None),
        ("Won", "1234.5678", "EUR", 10, "ann", "2030-12-01"),
    ]
    for stage, amount, currency, chance, owner, close in rows:
        await world.gql(
            CREATE,
            {
                "input": _deal(
                    world,
                    title=f"{stage} {amount}",
                    pipelineId=pipeline,
                    stageId=stages[stage],
                    amount=amount,
                    currency=currency,
                    probability=chance,
                    ownerId=world.ids[owner],
                    organizationId=world.ids["north" if currency == "USD" else "acme"],
                    expectedCloseDate=close,
                )
            },
        )
    return pipeline


async def test_the_pipeline_summary_sums_exactly_per_stage_and_currency(
    world: World, forecast: str
) -> None:
    rows = (await world.gql(SUMMARY, {"p": forecast}))["pipelineSummary"]
    got = [
        (r["stage"]["name"], r["currency"], r["count"], r["amount"], r["weightedAmount"])
        for r in rows
    ]
    assert got == [
        ("Qualify", "EUR", 2, "300.30", "120.12"),
        ("Qualify", "USD", 1, "99.99", "19.998"),
        ("Propose", "EUR", 1, "0.01", "0.005"),
        ("Won", "EUR", 1, "1234.5678", "1234.5678"),
    ]
    owned = await world.gql(SUMMARY, {"p": forecast, "owners": [world.ids["bob"]]})
    assert [r["currency"] for r in owned["pipelineSummary"]] == ["USD"]
    early = await world.gql(SUMMARY, {"p": forecast, "after": "2031-01-01", "before": "2031-02-01"})
    assert [(r["amount"]) for r in early["pipelineSummary"]] == ["100.10", "99.99"]
    january = {"from": "2031-01-10", "to": "2031-01-20"}  # both days included
    between = await world.gql(SUMMARY, {"p": forecast, "between": january})
    assert between == early
    since = await world.gql(SUMMARY, {"p": forecast, "between": {"from": "2031-01-15"}})
    assert [(r["amount"]) for r in since["pipelineSummary"]] == ["200.20", "99.99"]
    for wrong in (
        {"between": {"from": "2031-02-01", "to": "2031-01-01"}},
        {"between": january, "after": "2031-01-01"},
    ):
        refused = await world.gql.error(SUMMARY, {"p": forecast, **wrong})
        assert refused["extensions"]["code"] == "BAD_USER_INPUT", refused
    missing = await world.gql.error(SUMMARY, {"p": "no-such"})
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_opportunities_filter_order_page_and_roll_up(world: World, forecast: str) -> None:
    gql = world.gql
    by_amount = await gql(LIST, {"filter": {"pipelineId": forecast}, "order": "AMOUNT"})
    amounts = [e["node"]["amount"] for e in by_amount["opportunities"]["edges"]]
    assert amounts == ["1234.5678", "200.20", "100.10", "99.99", "0.01"]

    seen: list[str] = []
    after = None
    while True:
        page = (await gql(LIST, {"filter": {"pipelineId": forecast}, "first": 2, "after": after}))[
            "opportunities"
        ]
        seen += [e["node"]["amount"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["1234.5678", "100.10", "99.99", "200.20", "0.01"]  # no date last

    def titles(data: dict[str, Any]) -> list[str]:
        return [e["node"]["title"] for e in data["opportunities"]["edges"]]

    acme = {"pipelineId": forecast, "organizationId": world.ids["acme"]}
    assert len(titles(await gql(LIST, {"filter": acme}))) == 4
    tree = await gql(LIST, {"filter": {**acme, "includeDescendants": True}})
    assert len(titles(tree)) == 5
    nested = """query($id: ID!) { node(id: $id) { ... on Organization {
      own: opportunities(first: 100) { edges { node { amount currency } } }
      tree: opportunities(first: 100, includeDescendants: true) {
        edges { node { amount currency } } } } } }"""
    read = (await gql(nested, {"id": world.ids["acme"]}))["node"]
    own, whole = ([e["node"] for e in read[k]["edges"]] for k in ("own", "tree"))
    usd = {"amount": "99.99", "currency": "USD"}  # the deal with north, below acme
    assert usd not in own and usd in whole and all(o in whole for o in own)
    won = await gql(LIST, {"filter": {"pipelineId": forecast, "status": "WON"}})
    assert titles(won) == ["Won 1234.5678"]
    bad = await gql.error(
        LIST, {"filter": {"closeAfter": "2031-02-01", "closeBefore": "2031-01-01"}}
    )
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    window = {"pipelineId": forecast, "closeBetween": {"from": "2030-12-01", "to": "2031-01-10"}}
    assert titles(await gql(LIST, {"filter": window})) == ["Won 1234.5678", "Qualify 100.10"]
    too_many = await gql.error(LIST, {"filter": {"ownerIds": ["u"] * 101}})
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT" and "at most" in too_many["message"]


@pytest.mark.parametrize("plan", ["tree", "probe"])
async def test_a_clients_deals_page_alike_read_by_its_tree_or_by_the_orders_index(
    world: World, forecast: str, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Neo4j a large client's deals are read in the order's index, each probed against
    the closure (forced here for any tree); every order pages to the same deals as the
    tree's own read, and its filters still hold."""
    if plan == "probe":
        monkeypatch.setattr(neo4j_opportunities, "PROBE_COST_RATIO", 0)
    tree = {"pipelineId": forecast, "organizationId": world.ids["acme"], "includeDescendants": True}
    expected = {
        "CLOSE_DATE": ["1234.5678", "100.10", "99.99", "200.20", "0.01"],
        "AMOUNT": ["1234.5678", "200.20", "100.10", "99.99", "0.01"],
        "UPDATED": ["1234.5678", "0.01", "99.99", "200.20", "100.10"],  # the latest first
    }
    for order, amounts in expected.items():
        seen: list[str] = []
        after = None
        while True:
            variables = {"filter": tree, "order": order, "first": 2, "after": after}
            page = (await world.gql(LIST, variables))["opportunities"]
            seen += [e["node"]["amount"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == amounts, order
    january = {**tree, "closeBetween": {"from": "2031-01-01", "to": "2031-01-31"}}
    found = await world.gql(LIST, {"filter": january})
    assert [e["node"]["amount"] for e in found["opportunities"]["edges"]] == ["100.10", "99.99"]
    north = {**tree, "organizationId": world.ids["north"]}  # below acme: its own deal only
    found = await world.gql(LIST, {"filter": north})
    assert [e["node"]["amount"] for e in found["opportunities"]["edges"]] == ["99.99"]


async def test_a_viewer_scoped_to_a_client_sees_and_writes_only_its_deals(
    world: World, forecast: str
) -> None:
    gql = world.gql
    made = await gql(
        'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "editor", scopeId: $s) { id } '
        'createApiToken(name: "scoped", userId: $u) { secret } }',
        {"u": world.ids["bob"], "s": world.ids["north"]},
    )
    scoped = SignedIn(gql.http, made["createApiToken"]["secret"])
    listed = await gql(LIST, {"filter": {"pipelineId": forecast}, "order": "AMOUNT"})
    outside, inside = [listed["opportunities"]["edges"][i]["node"]["id"] for i in (0, 3)]
    node = "query($id: ID!) { node(id: $id) { id ... on Opportunity { amount } } }"
    assert (await gql(node, {"id": outside}))["node"] == {"id": outside, "amount": "1234.5678"}
    assert (await scoped(node, {"id": outside}))["node"] is None
    assert (await scoped(node, {"id": inside}))["node"] == {"id": inside, "amount": "99.99"}
    mine = await scoped(LIST, {"filter": {"pipelineId": forecast}})
    assert [e["node"]["amount"] for e in mine["opportunities"]["edges"]] == ["99.99"]
    summary = (await scoped(SUMMARY, {"p": forecast}))["pipelineSummary"]
    assert [(r["currency"], r["count"]) for r in summary] == [("USD", 1)]
    refused = await scoped.error(CREATE, {"input": _deal(world, pipelineId=forecast)})
    assert refused["extensions"]["code"] == "FORBIDDEN"
    north = world.ids["north"]
    inside = await scoped(
        CREATE,
        {"input": _deal(world, organizationId=north, ownerId=world.ids["bob"], title="North")},
    )
    assert inside["createOpportunity"]["title"] == "North"
    deal = inside["createOpportunity"]["id"]
    planned = await gql(
        SCHEDULE, {"input": _task(north, attendees=[{"partyId": world.ids["eva"]}])}
    )  # an admin invites eva, outside bob's scope: bob may still change the task
    task = planned["scheduleActivity"]["id"]
    kept = await scoped(UPDATE_TASK, {"id": task, "input": {"summary": "Call back"}})
    assert kept["updateActivity"]["attendees"] == [{"party": None}]  # out of bob's sight

    # naming someone outside the scope is refused as naming no one: an id cannot be probed
    mine = {"organizationId": north, "ownerId": world.ids["bob"]}
    probes = {
        "owner": lambda who: (CREATE, {"input": _deal(world, **{**mine, "ownerId": who})}),
        "contacts": lambda who: (CREATE, {"input": _deal(world, **mine, contactIds=[who])}),
        "new owner": lambda who: (UPDATE, {"id": deal, "input": {"ownerId": who}}),
        "new contacts": lambda who: (UPDATE, {"id": deal, "input": {"contactIds": [who]}}),
        "assignees": lambda who: (SCHEDULE, {"input": _task(north, assigneeIds=[who])}),
        "attendees": lambda who: (
            SCHEDULE,
            {"input": _task(north, attendees=[{"partyId": who}])},
        ),
        "new attendees": lambda who: (
            UPDATE_TASK,
            {"id": task, "input": {"attendees": [{"partyId": who}]}},
        ),
    }
    existing = {"owner": "ann", "new owner": "ann", "assignees": "ann", "new attendees": "ann"}
    for name, probe in probes.items():
        answers = []
        for who in (world.ids[existing.get(name, "eva")], "no-such-party"):
            error = await scoped.error(*probe(who))
            answers.append((error["extensions"]["code"], error["message"].replace(who, "ID")))
        assert answers[0] == answers[1] == ("FORBIDDEN", "ID is outside where you may write"), name
    after = await gql(node, {"id": deal})
    assert after["node"]["amount"] == "1000.00"  # nothing written


async def three_deals(url: str) -> str:
    """A pipeline whose one stage holds deals of the smallest and the largest amounts."""
    async for http in serve(Settings(create=True, graph_url=url)):
        gql = GraphQL(http)
        pipeline, stages = await _pipeline(gql, "Before")
        acme, ann = await org(gql, "Acme"), await user(gql, "ann.before")
        for amount in ("0.0001", "999999999999999.9999", "12.5"):
            deal = {"title": amount, "organizationId": acme, "ownerId": ann, "amount": amount}
            deal |= {"pipelineId": pipeline, "stageId": stages["Won"], "currency": "EUR"}
            await gql(CREATE, {"input": deal})
    return pipeline


async def summed_exactly(url: str, pipeline: str) -> None:
    """The summary of three_deals' pipeline, summed exactly, after a start."""
    async for http in serve(Settings(create=True, graph_url=url)):
        rows = (await GraphQL(http)(SUMMARY, {"p": pipeline}))["pipelineSummary"]
        assert [(r["count"], r["amount"]) for r in rows] == [(3, "1000000000000012.5000")]


@pytest.mark.asyncio(loop_scope="function")
async def test_deals_stored_before_the_summary_summed_in_sql_are_summed_after_an_upgrade(
    tmp_path: Path,
) -> None:
    """Migration 20 on the embedded store fills the amounts' parts of stored deals (on
    Neo4j, test_store_lifecycle)."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    pipeline = await three_deals(url)
    with sqlite3.connect(tmp_path / "graph.db") as conn:
        conn.executescript(f"{AFTER_20} PRAGMA user_version = 20;")
    await summed_exactly(url, pipeline)
