"""Subscription.worklistChanged over graphql-transport-ws against a running server, on both
stores: steps opening, done and falling overdue (by a clock the test moves, no write
needed) reach their assignee's feed once each; refused writes tell nothing; whose list
one may watch; bad input and the per-user limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL
from factories import RECORD, contact, link, org, record, user
from live import TRANSPORT_WS, ManualClock, Subscriber, client_for, live_server, subscribed

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

FEED = """subscription($u: ID) { worklistChanged(assigneeId: $u) {
  change at step { title state overdue assigneeId runId party { id } } } }"""
PER_USER = 3  # the module's server: live subscriptions one user may hold


@dataclass
class Served:
    address: str
    gql: GraphQL
    clock: ManualClock


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(module_graph_url: str) -> AsyncIterator[Served]:
    clock = ManualClock()
    settings = Settings(
        create=True, graph_url=module_graph_url, rate_limit=0, max_subscriptions_per_viewer=PER_USER
    )
    async with live_server(settings, clock) as address, client_for(address, timeout=30) as http:
        yield Served(address, GraphQL(http), clock)


def follow_up(key: str) -> dict[str, Any]:
    """A category whose AGREEMENTs ask the party's responsible user for a CALL within 14
    days, blocking further agreements meanwhile."""
    step = {
        "id": "call",
        "title": "Call after signing",
        "dueDays": 14,
        "satisfiedBy": {"activityType": "CALL"},
        "assignee": {"rule": "RESPONSIBLE"},
        "blocks": ["AGREEMENT"],
    }
    trigger = {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]}
    process = {"id": "follow-up", "name": "Follow-up", "trigger": trigger, "steps": [step]}
    return {"id": key, "name": key.title(), "processes": [process]}


async def define(gql: GraphQL, category: dict[str, Any]) -> None:
    await gql(
        "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { id } }",
        {"i": category},
    )


async def clients_of(gql: GraphQL, key: str, *managers: str) -> list[str]:
    """A party of the follow-up category per manager, which that manager is responsible
    for."""
    await define(gql, follow_up(key))
    parties = []
    for number, manager in enumerate(managers):
        party = await contact(gql, f"Client {number}", key, categoryId=key)
        await link(gql, "RESPONSIBLE_FOR", manager, party, since="2020-01-01T00:00:00Z")
        parties.append(party)
    return parties


async def signed(gql: GraphQL, author: str, party: str) -> dict[str, Any]:
    return await record(gql, author, [party], "2025-03-01T10:00:00Z", type="AGREEMENT")


async def reader_token(gql: GraphQL, user_id: str) -> str:
    await gql('mutation($u: ID!) { grantRole(userId: $u, role: "reader") { id } }', {"u": user_id})
    made = await gql(
        'mutation($u: ID!) { createApiToken(name: "feed", userId: $u) { secret } }',
        {"u": user_id},
    )
    return str(made["createApiToken"]["secret"])


async def change(sub: Subscriber, op: str) -> dict[str, Any]:
    payload = await sub.next(op)
    assert "errors" not in payload, payload
    return payload["data"]["worklistChanged"]  # type: ignore[no-any-return]


async def test_steps_opened_done_and_overdue_reach_their_assignee_once(served: Served) -> None:
    gql, clock = served.gql, served.clock
    anna, olaf = await user(gql, "wl-anna"), await user(gql, "wl-olaf")
    first, second, elsewhere = await clients_of(gql, "wl-follow", anna, anna, olaf)
    own = await reader_token(gql, anna)
    async with (
        Subscriber.connect(served.address, TRANSPORT_WS) as admin,
        Subscriber.connect(served.address, TRANSPORT_WS, own) as herself,
    ):
        watched = await admin.subscribe(FEED, {"u": anna})
        mine = await herself.subscribe(FEED)  # no assigneeId: the viewer's own
        await subscribed(gql.http, 2)

        await signed(gql, anna, first)
        await signed(gql, olaf, elsewhere)  # olaf's step: on another worklist
        await signed(gql, anna, second)
        refused = await gql.error(RECORD, {"input": _agreement(anna, second)})
        assert refused["extensions"]["code"] == "FAILED_PRECONDITION"  # rolled back: untold
        await record(gql, anna, [first], "2025-03-02T10:00:00Z")  # the CALL: done

        opened = await change(admin, watched)
        assert opened["change"] == "OPENED" and opened["step"]["party"] == {"id": first}
        assert opened["step"]["title"] == "Call after signing" and opened["step"]["runId"]
        assert opened["step"]["assigneeId"] == anna and not opened["step"]["overdue"]
        assert (await change(admin, watched))["step"]["party"] == {"id": second}
        done = await change(admin, watched)
        assert (done["change"], done["step"]["state"]) == ("DONE", "DONE")
        assert done["step"]["party"] == {"id": first}
        for party in (first, second, first):  # her own feed heard the same, in order
            assert (await change(herself, mine))["step"]["party"] == {"id": party}

        clock.advance(timedelta(days=15))  # past the open step's due time, nothing written
        late = await change(admin, watched)
        assert (late["change"], late["step"]["party"], late["step"]["overdue"]) == (
            "OVERDUE",
            {"id": second},
            True,
        )
        assert (await change(herself, mine))["change"] == "OVERDUE"
        await clock.settled()
        clock.advance(timedelta(days=1))  # the watch looks again: told already, not again
        await clock.settled()
        await record(gql, anna, [second], "2025-03-03T10:00:00Z")
        after = await change(admin, watched)
        assert (after["change"], after["step"]["party"]) == ("DONE", {"id": second})


async def test_a_party_created_in_a_category_and_then_updated_is_heard(served: Served) -> None:
    """The other writes that open and close steps: a party entering a category, and an
    attribute set on it."""
    gql = served.gql
    kim = await user(gql, "wl-kim")
    step = {
        "id": "check",
        "title": "Check the papers",
        "dueDays": 30,  # after the module's clock, which the test above moved on
        "satisfiedBy": {"attribute": "checked", "equals": True},
        "assignee": {"rule": "USER", "userId": kim},
    }
    process = {"id": "papers", "name": "Papers", "trigger": {"on": "ENTERED"}, "steps": [step]}
    fields = [{"name": "checked", "type": "BOOLEAN"}]
    await define(
        gql, {"id": "wl-entered", "name": "Entered", "fields": fields, "processes": [process]}
    )
    async with Subscriber.connect(served.address, TRANSPORT_WS) as sub:
        op = await sub.subscribe(FEED, {"u": kim})
        await subscribed(gql.http, 1)
        party = await contact(gql, "Ina", "Entered", categoryId="wl-entered")
        await gql(
            "mutation($id: ID!) { updateParty(id: $id, "
            'input: {attributes: [{field: "checked", value: true}]}) { id } }',
            {"id": party},
        )
        heard = [await change(sub, op) for _ in range(2)]
        assert [(h["change"], h["step"]["party"]["id"]) for h in heard] == [
            ("OPENED", party),
            ("DONE", party),
        ]
    await subscribed(gql.http, 0)


def _agreement(author: str, party: str) -> dict[str, Any]:
    return {"type": "AGREEMENT", "summary": "again", "authorId": author, "subjectIds": [party]}


async def test_bad_assignees_are_refused_with_a_code_and_feeds_count_per_user(
    served: Served,
) -> None:
    company = await org(served.gql, "wl-company")
    async with Subscriber.connect(served.address, TRANSPORT_WS) as sub:
        for assignee, code in (("no-such-user", "NOT_FOUND"), (company, "BAD_USER_INPUT")):
            op = await sub.subscribe(FEED, {"u": assignee})
            [error] = (await sub.next(op))["errors"]
            assert error["extensions"]["code"] == code, error
            await sub.completed(op)
        for _ in range(PER_USER):
            await sub.subscribe(FEED)
        await subscribed(served.gql.http, PER_USER)
        over = await sub.subscribe(FEED)
        [error] = (await sub.next(over))["errors"]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    await subscribed(served.gql.http, 0)


async def test_a_party_created_under_its_parent_is_heard_as_its_single_writes_would_be(
    served: Served,
) -> None:
    """createContact with parentId, an AGREEMENT and a CALL: the step the AGREEMENT opens
    goes to the parent's account manager (found through the new edge) and the CALL
    closes it, both told once the create commits."""
    gql = served.gql
    manager = await user(gql, "wl-filed-manager")
    parent = await org(gql, "wl-filed-parent")
    await link(gql, "RESPONSIBLE_FOR", manager, parent)
    await define(gql, follow_up("wl-filed"))
    done = [{"type": "AGREEMENT", "summary": "signed"}, {"type": "CALL", "summary": "called"}]
    async with Subscriber.connect(served.address, TRANSPORT_WS) as sub:
        op = await sub.subscribe(FEED, {"u": manager})
        await subscribed(gql.http, 1)
        party = await contact(
            gql, "Fia", "Filed", parentId=parent, categoryId="wl-filed", activities=done
        )
        heard = [await change(sub, op) for _ in range(2)]
        assert [(h["change"], h["step"]["party"]["id"]) for h in heard] == [
            ("OPENED", party),
            ("DONE", party),
        ]
    await subscribed(gql.http, 0)
