"""Sales pipelines through GraphQL, on both stores: defined with their stages, changed
under expectedVersion with stage ids kept, each write in the pipeline's history; bad
definitions refused naming the field, with nothing written. Only admins may define them
(the permission table in test_permissions.py refuses everyone else)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """mutation($name: String!, $stages: [StageInput!]!) {
  createPipeline(name: $name, stages: $stages) {
    id name version stages { id name order probability outcome } } }"""
UPDATE = """mutation($id: ID!, $name: String, $stages: [StageInput!], $v: Int) {
  updatePipeline(id: $id, name: $name, stages: $stages, expectedVersion: $v) {
    name version stages { id name order probability outcome } } }"""
READ = """query($id: ID!) { pipeline(id: $id) { name version stages { name }
  history(first: 10) { edges { node { kind subjectIds fields { field } } } } } }"""
COUNT = "{ pipelines { id } }"


def _stages() -> list[dict[str, Any]]:
    return [
        {"name": "Won", "order": 90, "probability": 100, "outcome": "WON"},
        {"name": "Lead", "order": 10, "probability": 10, "outcome": "OPEN"},
        {"name": "Proposal", "order": 20, "probability": 50, "outcome": "OPEN"},
        {"name": "Lost", "order": 99, "probability": 0, "outcome": "LOST"},
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """One graph per backend for the module: each test names its pipelines apart."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        yield GraphQL(http)


async def test_a_pipeline_is_defined_changed_and_kept_in_its_history(gql: GraphQL) -> None:
    made = (await gql(CREATE, {"name": " New business ", "stages": _stages()}))["createPipeline"]
    assert made["name"] == "New business" and made["version"] == 1
    assert [s["name"] for s in made["stages"]] == ["Lead", "Proposal", "Won", "Lost"]
    assert made["stages"][1] == {
        "id": made["stages"][1]["id"],
        "name": "Proposal",
        "order": 20,
        "probability": 50,
        "outcome": "OPEN",
    }
    lead, proposal, won, lost = made["stages"]

    # Proposal renamed and re-weighted (its id kept), Lead dropped, a new stage added
    stages = [
        {**_stages()[0], "id": won["id"]},
        {**_stages()[3], "id": lost["id"]},
        {"id": proposal["id"], "name": "Offer", "order": 20, "probability": 60, "outcome": "OPEN"},
        {"name": "Negotiation", "order": 30, "probability": 80, "outcome": "OPEN"},
    ]
    changed = (await gql(UPDATE, {"id": made["id"], "stages": stages, "v": 1}))["updatePipeline"]
    assert changed["version"] == 2
    assert [(s["name"], s["probability"]) for s in changed["stages"]] == [
        ("Offer", 60),
        ("Negotiation", 80),
        ("Won", 100),
        ("Lost", 0),
    ]
    assert changed["stages"][0]["id"] == proposal["id"]
    assert lead["id"] not in {s["id"] for s in changed["stages"]}

    same = await gql(UPDATE, {"id": made["id"], "name": "New business"})
    assert same["updatePipeline"]["version"] == 2  # nothing changed, no new version
    stale = await gql.error(UPDATE, {"id": made["id"], "name": "Renewals", "v": 1})
    assert stale["extensions"]["code"] == "CONFLICT" and "version 2" in stale["message"]

    read = (await gql(READ, {"id": made["id"]}))["pipeline"]
    assert read["name"] == "New business" and read["version"] == 2
    kinds = [e["node"]["kind"] for e in read["history"]["edges"]]
    assert kinds == ["PIPELINE_UPDATED", "PIPELINE_CREATED"]
    assert read["history"]["edges"][0]["node"]["fields"] == [{"field": "stages"}]
    assert read["history"]["edges"][0]["node"]["subjectIds"] == [made["id"]]
    listed = [p["id"] for p in (await gql(COUNT))["pipelines"]]
    assert made["id"] in listed


async def test_a_pipeline_that_does_not_exist_is_null_or_not_found(gql: GraphQL) -> None:
    assert (await gql(READ, {"id": "no-such"}))["pipeline"] is None
    error = await gql.error(UPDATE, {"id": "no-such", "name": "x"})
    assert error["extensions"]["code"] == "NOT_FOUND"


def _one(**change: Any) -> list[dict[str, Any]]:
    return [{**_stages()[1], **change}, _stages()[0]]


BAD = {
    "empty name": ({"name": "  "}, "BAD_USER_INPUT", "name"),
    "huge name": ({"name": "x" * 201}, "BAD_USER_INPUT", "name"),
    "no stages": ({"stages": []}, "BAD_USER_INPUT", None),
    "too many stages": (
        {
            "stages": [
                {"name": f"S{i}", "order": i, "probability": 5, "outcome": "OPEN"}
                for i in range(31)
            ]
        },
        "BAD_USER_INPUT",
        None,
    ),
    "huge stage name": ({"stages": _one(name="y" * 201)}, "BAD_USER_INPUT", "stages[0].name"),
    "probability over 100": (
        {"stages": _one(probability=101)},
        "BAD_USER_INPUT",
        "stages[0].probability",
    ),
    "negative probability": (
        {"stages": _one(probability=-1)},
        "BAD_USER_INPUT",
        "stages[0].probability",
    ),
    "won below 100": (
        {"stages": [_stages()[1], {**_stages()[0], "probability": 90}]},
        "BAD_USER_INPUT",
        "stages[1].probability",
    ),
    "negative order": ({"stages": _one(order=-5)}, "BAD_USER_INPUT", "stages[0].order"),
    "same order": ({"stages": _one(order=90)}, "BAD_USER_INPUT", None),
    "same name": ({"stages": _one(name="won")}, "BAD_USER_INPUT", None),
    "no open stage": ({"stages": [_stages()[0], _stages()[3]]}, "BAD_USER_INPUT", None),
    "stage id on create": ({"stages": _one(id="s1")}, "BAD_USER_INPUT", None),
    "outcome unknown": ({"stages": _one(outcome="MAYBE")}, "BAD_USER_INPUT", None),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_a_bad_pipeline_is_refused_naming_the_field(gql: GraphQL, case: str) -> None:
    change, code, field = BAD[case]
    before = await gql(COUNT)
    error = await gql.error(CREATE, {"name": f"Bad {case}", "stages": _stages(), **change})
    assert error["extensions"]["code"] == code, error
    assert error["extensions"].get("field") == field, error
    assert await gql(COUNT) == before


async def test_a_name_in_use_or_a_foreign_stage_id_changes_nothing(gql: GraphQL) -> None:
    first = (await gql(CREATE, {"name": "Renewals", "stages": _stages()}))["createPipeline"]
    other = (await gql(CREATE, {"name": "Partners", "stages": _stages()}))["createPipeline"]
    taken = await gql.error(CREATE, {"name": "RENEWALS", "stages": _stages()})
    assert taken["extensions"]["code"] == "CONFLICT"
    renamed = await gql.error(UPDATE, {"id": other["id"], "name": "renewals"})
    assert renamed["extensions"]["code"] == "CONFLICT"

    # a stage of another pipeline is not one this pipeline can keep
    foreign = [{**_stages()[1], "id": first["stages"][0]["id"]}, _stages()[0]]
    error = await gql.error(UPDATE, {"id": other["id"], "stages": foreign})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "stages[0].id"
    read = (await gql(READ, {"id": other["id"]}))["pipeline"]
    assert read["name"] == "Partners" and read["version"] == 1
