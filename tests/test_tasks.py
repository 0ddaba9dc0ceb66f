"""Task lists: a user's, or the open tasks under a client's tree; overdue judged at an
instant given, so no test waits for a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import contact, link, org, user
from test_round_trips import round_trips
from test_scheduling import COMPLETE, schedule

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

TASKS = """
query($assignee: ID, $subject: ID, $below: Boolean, $status: ActivityStatus,
      $overdue: Boolean, $now: DateTime, $dueBefore: DateTime, $first: Int, $after: String) {
  tasks(assigneeId: $assignee, subjectId: $subject, includeDescendants: $below,
        status: $status, overdue: $overdue, now: $now, dueBefore: $dueBefore,
        first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { summary dueAt status assignees { username } subjects { id } } }
  }
}"""
Ids = dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[tuple[GraphQL, Ids]]:
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        gql = GraphQL(http)
        yield gql, await _tasks(gql)


async def _tasks(gql: GraphQL) -> Ids:
    acme = await org(gql, "Acme")
    nord = await org(gql, "Acme Nord", parentId=acme)
    jana = await contact(gql, "Jana", "Petersen")
    await link(gql, "EMPLOYS", nord, jana)
    anna, ben = await user(gql, "anna"), await user(gql, "ben")
    ids = {"acme": acme, "nord": nord, "jana": jana, "anna": anna, "ben": ben}

    async def task(summary: str, due: str, assignee: str, subject: str) -> str:
        made = await schedule(
            gql,
            type="TASK",
            summary=summary,
            dueAt=f"2030-01-{due}T12:00:00Z",
            assigneeIds=[assignee],
            subjectIds=[subject],
        )
        return made["id"]

    await task("quote", "10", anna, acme)
    await task("call back", "05", anna, jana)
    await task("visit", "20", ben, nord)
    done = await task("invoice", "08", anna, acme)
    await gql(COMPLETE, {"id": done})
    await schedule(
        gql,
        summary="not a task",
        startsAt="2030-01-02T12:00:00Z",
        assigneeIds=[anna],
        subjectIds=[acme],
    )
    return ids


async def summaries(gql: GraphQL, ids: Ids, **args: Any) -> list[str]:
    named = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
    page = (await gql(TASKS, named))["tasks"]
    return [e["node"]["summary"] for e in page["edges"]]


async def test_a_users_open_and_done_tasks(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    assert await summaries(gql, ids, assignee="anna") == ["call back", "quote"]
    assert await summaries(gql, ids, assignee="anna", status="DONE") == ["invoice"]
    assert await summaries(gql, ids, assignee="ben", dueBefore="2030-01-20T12:00:00Z") == []


async def test_overdue_at_the_instant_given(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    early = await summaries(gql, ids, assignee="anna", overdue=True, now="2030-01-09T00:00:00Z")
    late = await summaries(gql, ids, assignee="anna", overdue=True, now="2030-01-15T00:00:00Z")
    assert (early, late) == (["call back"], ["call back", "quote"])


async def test_everything_open_under_a_clients_tree(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    assert await summaries(gql, ids, subject="acme") == ["quote"]
    assert await summaries(gql, ids, subject="acme", below=True) == ["call back", "quote", "visit"]
    assert await summaries(gql, ids, subject="acme", below=True, assignee="ben") == ["visit"]
    paged, after = [], None
    while True:
        page = (
            await gql(TASKS, {"subject": ids["acme"], "below": True, "first": 1, "after": after})
        )["tasks"]
        paged += [e["node"]["summary"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == ["call back", "quote", "visit"]


async def test_costs_the_same_calls_however_many_tasks(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    few, small = await round_trips(gql, TASKS, {"subject": ids["nord"], "below": True})
    many, large = await round_trips(gql, TASKS, {"subject": ids["acme"], "below": True})
    assert (len(small["tasks"]["edges"]), len(large["tasks"]["edges"])) == (2, 3)
    assert few == many <= 4


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ({}, "BAD_USER_INPUT", "assigneeId"),
        ({"assignee": "anna", "below": True}, "BAD_USER_INPUT", "subjectId"),
        ({"assignee": "anna", "overdue": True, "status": "DONE"}, "BAD_USER_INPUT", "PLANNED"),
        ({"assignee": "jana"}, "BAD_USER_INPUT", "not a USER"),
        ({"subject": "nobody"}, "NOT_FOUND", "nobody"),
        ({"assignee": "anna", "after": "bm90IGEgY3Vyc29y"}, "BAD_USER_INPUT", "cursor"),
        ({"assignee": "anna", "first": 100000}, "LIMIT_EXCEEDED", "first"),
    ],
)
async def test_bad_input(
    world: tuple[GraphQL, Ids], args: dict[str, Any], code: str, says: str
) -> None:
    gql, ids = world
    named = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
    error = await gql.error(TASKS, named)
    assert error["extensions"]["code"] == code, error
    assert says in error["message"]
