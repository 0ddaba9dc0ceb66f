"""A party created together with its relationships (`links`, beside `parentId`): one
mutation, one write; any link refused writes nothing, on both stores."""

from __future__ import annotations

import pytest
from client import GraphQL
from factories import contact, link, org

CREATE = """mutation($input: CreateContactInput!) { createContact(input: $input) {
  id relationships { type role properties from { id } to { id } } } }"""
CREATE_ORG = """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
  id ancestors { id } } }"""
COUNT = "{ parties(first: 1) { totalCount } }"


async def count(gql: GraphQL) -> int:
    return (await gql(COUNT))["parties"]["totalCount"]


async def test_a_contact_comes_with_its_links_in_one_request(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    team = await org(gql, "Sales", parentId=company)
    friend = await contact(gql, "Ada", "Lovelace")
    made = (
        await gql(
            CREATE,
            {
                "input": {
                    "firstName": "Lea",
                    "lastName": "Berg",
                    "parentId": team,
                    "links": [
                        {"type": "EMPLOYS", "fromId": company, "role": "buyer"},
                        {"type": "KNOWS", "toId": friend, "properties": {"since": "school"}},
                    ],
                }
            },
        )
    )["createContact"]
    found = {(r["type"], r["from"]["id"], r["to"]["id"], r["role"]) for r in made["relationships"]}
    lea = made["id"]
    assert found == {
        ("MEMBER_OF", lea, team, None),
        ("EMPLOYS", company, lea, "buyer"),
        ("KNOWS", lea, friend, None),
    }
    knows = next(r for r in made["relationships"] if r["type"] == "KNOWS")
    assert knows["properties"] == {"since": "school"}


@pytest.mark.parametrize(
    ("links", "code"),
    [
        ([{"type": "KNOWS"}], "BAD_USER_INPUT"),  # no other end
        ([{"type": "KNOWS", "fromId": "{a}", "toId": "{a}"}], "BAD_USER_INPUT"),  # both ends
        ([{"type": "KNOWS", "toId": "no-such-party"}], "NOT_FOUND"),
        ([{"type": "EMPLOYS", "toId": "{a}"}], "BAD_USER_INPUT"),  # a contact employs no org
        ([{"type": "KNOWS", "toId": "{a}"}] * 51, "LIMIT_EXCEEDED"),
        ([{"type": "KNOWS", "toId": "{a}"}, {"type": "PART_OF", "toId": "{a}"}], "BAD_USER_INPUT"),
    ],
)
async def test_a_refused_link_writes_nothing(gql: GraphQL, links: list[dict], code: str) -> None:
    company = await org(gql, "Acme")
    filled = [{k: v.replace("{a}", company) for k, v in each.items()} for each in links]
    before = await count(gql)
    error = await gql.error(CREATE, {"input": {"lastName": "Nobody", "links": filled}})
    assert error["extensions"]["code"] == code, error
    assert await count(gql) == before


async def test_a_link_that_closes_a_cycle_writes_nothing(gql: GraphQL) -> None:
    top = await org(gql, "Top")
    below = await org(gql, "Below", parentId=top)
    before = await count(gql)
    # the new unit under `below`, with `top` under it: top > below > new > top
    error = await gql.error(
        CREATE_ORG,
        {
            "input": {
                "name": "Loop",
                "parentId": below,
                "links": [{"type": "PART_OF", "fromId": top}],
            }
        },
    )
    assert error["extensions"]["code"] == "CONFLICT", error
    assert await count(gql) == before
    fine = await gql(
        CREATE_ORG,
        {"input": {"name": "Side", "parentId": below, "links": [{"type": "KNOWS", "toId": top}]}},
    )
    assert [a["id"] for a in fine["createOrganization"]["ancestors"]] == [below, top]
    await link(gql, "KNOWS", top, below)  # the graph still takes writes


WITH_ACTIVITY = """mutation($input: CreateContactInput!) { createContact(input: $input) {
  id timeline { edges { node { summary subjectIds authorId type } } } } }"""


async def test_a_contact_comes_with_an_activity_in_the_same_write(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    me = (await gql("{ viewer { id } }"))["viewer"]["id"]
    made = (
        await gql(
            WITH_ACTIVITY,
            {
                "input": {
                    "lastName": "Berg",
                    "parentId": company,
                    "activities": [
                        {"type": "MEETING", "summary": "First visit", "subjectIds": [company]}
                    ],
                }
            },
        )
    )["createContact"]
    [entry] = made["timeline"]["edges"]
    assert entry["node"] == {
        "summary": "First visit",
        "subjectIds": [made["id"], company],
        "authorId": me,
        "type": "MEETING",
    }


@pytest.mark.parametrize(
    ("activities", "code"),
    [
        ([{"type": "CALL", "summary": "x", "subjectIds": ["no-such-party"]}], "NOT_FOUND"),
        ([{"type": "CALL", "summary": "   "}], "BAD_USER_INPUT"),
        ([{"type": "CALL", "summary": "x"}] * 11, "LIMIT_EXCEEDED"),
    ],
)
async def test_a_refused_activity_writes_nothing(
    gql: GraphQL, activities: list[dict], code: str
) -> None:
    before = await count(gql)
    error = await gql.error(
        WITH_ACTIVITY, {"input": {"lastName": "Nobody", "activities": activities}}
    )
    assert error["extensions"]["code"] == code, error
    assert await count(gql) == before
