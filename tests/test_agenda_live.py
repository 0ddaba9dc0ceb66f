"""A dashboard's agenda stays current: activityAdded carries each change made to planned
work, with its kind, over graphql-transport-ws against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client import GraphQL
from factories import org
from live import TRANSPORT_WS, Subscriber, client_for, live_server, subscribed
from test_scheduling import CANCEL, COMPLETE, UPDATE, schedule

from contactgraph.config import Settings

FEED = """
subscription($id: ID!, $all: Boolean!) {
  activityAdded(subjectId: $id, includeDescendants: $all) {
    id change status version summary startsAt sourceId
  }
}"""


@pytest.fixture
async def address(graph_url: str) -> AsyncIterator[str]:
    async with live_server(Settings(create=True, graph_url=graph_url)) as served:
        yield served


async def test_changes_to_planned_work_reach_the_feed(address: str) -> None:
    async with client_for(address, timeout=30) as http:
        gql = GraphQL(http)
        company = await org(gql, "Acme")
        branch = await org(gql, "Acme Nord", parentId=company)
        async with Subscriber.connect(address, TRANSPORT_WS) as dashboard:
            op = await dashboard.subscribe(FEED, {"id": company, "all": True})
            await subscribed(http, 1)
            meeting = await schedule(gql, subjectIds=[branch], startsAt="2030-05-06T09:00:00Z")
            task = await schedule(
                gql, type="TASK", subjectIds=[branch], dueAt="2030-05-07T09:00:00Z"
            )
            await gql(UPDATE, {"id": meeting["id"], "input": {"startsAt": "2030-05-06T10:00:00Z"}})
            await gql(COMPLETE, {"id": meeting["id"]})
            await gql(CANCEL, {"id": task["id"]})
            heard = [(await dashboard.next(op))["data"]["activityAdded"] for _ in range(5)]
    assert [(h["id"], h["change"], h["status"], h["version"]) for h in heard] == [
        (meeting["id"], "ACTIVITY_SCHEDULED", "PLANNED", 1),
        (task["id"], "ACTIVITY_SCHEDULED", "PLANNED", 1),
        (meeting["id"], "ACTIVITY_UPDATED", "PLANNED", 2),
        (meeting["id"], "ACTIVITY_COMPLETED", "DONE", 3),
        (task["id"], "ACTIVITY_CANCELLED", "CANCELLED", 2),
    ]
    assert heard[2]["startsAt"] == "2030-05-06T10:00:00.000000+00:00"
    assert {h["sourceId"] for h in heard} == {branch}
