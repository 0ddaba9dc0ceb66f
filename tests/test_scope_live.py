"""The scoped viewer of scope_world.py over WebSocket: a socket's reads and live feeds
(activities, worklists) keep to the scope as it is when each runs, on both stores."""

from __future__ import annotations

from live import TRANSPORT_WS, Subscriber, subscribed
from scope_world import World, ids_of, viewer_with, world  # noqa: F401 - the fixture


async def test_an_open_socket_follows_its_scope(world: World) -> None:
    """A socket's reads and feeds take the scope as it is when they run, not as it was
    when the socket opened: eva moves from north (sales) to legal while it is open."""
    ids = world.ids
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        feed = await sub.subscribe(
            "subscription($p: ID!) { activityAdded(subjectId: $p, includeDescendants: true) "
            "{ summary } }",
            {"p": ids["sales"]},
        )
        await subscribed(world.admin.http, 1)
        await world.admin(
            "mutation($m: ID!, $e: ID!, $l: ID!) { unlink(id: $m) { id } "
            "link(input: {type: MEMBER_OF, fromId: $e, toId: $l}) { id } }",
            {"m": ids["eva>north"], "e": ids["eva"], "l": ids["legal"]},
        )
        record = (
            "mutation($s: ID!, $t: String!) { recordActivity(input: {type: NOTE, summary: $t, "
            "subjectIds: [$s]}) { id } }"
        )
        await world.admin(record, {"s": ids["eva"], "t": "eva, now in legal"})
        await world.admin(record, {"s": ids["north"], "t": "north"})
        assert (await sub.next(feed))["data"]["activityAdded"] == {"summary": "north"}
        asked = await sub.subscribe("query($e: ID!) { party(id: $e) { id } }", {"e": ids["eva"]})
        assert (await sub.next(asked))["data"] == {"party": None}


async def test_feeds_load_grants_as_each_subscriber_may(world: World) -> None:
    """Unscoped subscribers share an event's loaders, but a user's grants are the
    administrator's to read, not every reader's."""
    ids = world.ids
    _, secret = await _reader_everywhere(world)
    feed = (
        "subscription($p: ID!) { activityAdded(subjectId: $p) "
        "{ author { id } recordedBy { grants { role } } } }"
    )
    async with (
        Subscriber.connect(world.address, TRANSPORT_WS) as admin,
        Subscriber.connect(world.address, TRANSPORT_WS, secret) as reader,
    ):
        ops = {"admin": await admin.subscribe(feed, {"p": ids["eva"]})}
        ops["reader"] = await reader.subscribe(feed, {"p": ids["eva"]})
        await subscribed(world.admin.http, 2)
        await world.admin(
            'mutation($s: ID!, $a: ID!) { recordActivity(input: {type: NOTE, summary: "n", '
            "subjectIds: [$s], authorId: $a}) { id } }",
            {"s": ids["eva"], "a": ids["editor"]},
        )
        seen = await admin.next(ops["admin"])
        assert "errors" not in seen and seen["data"]["activityAdded"]["recordedBy"]["grants"]
        refused = await reader.next(ops["reader"])
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _reader_everywhere(world: World) -> tuple[str, str]:
    made = await world.admin(
        'mutation { createUser(input: {username: "ulla", displayName: "Ulla"}) { id } }'
    )
    user_id = made["createUser"]["id"]
    await world.admin(
        'mutation($u: ID!) { grantRole(userId: $u, role: "reader") { id } }', {"u": user_id}
    )
    secret = await world.admin(
        'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": user_id}
    )
    return user_id, secret["createApiToken"]["secret"]


async def test_a_live_feed_stays_inside(world: World) -> None:
    ids = world.ids
    record = (
        "mutation($s: [ID!]!) { recordActivity(input: "
        '{type: NOTE, summary: "live", subjectIds: $s}) { id } }'
    )
    feed = (
        "subscription($p: ID!) { activityAdded(subjectId: $p, includeDescendants: true) "
        "{ id subjects { id } } }"
    )
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        outside = await sub.subscribe(feed, {"p": ids["legal"]})
        [error] = (await sub.next(outside))["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        await sub.completed(outside)
        op = await sub.subscribe(feed, {"p": ids["sales"]})
        await subscribed(world.admin.http, 1)  # live before anything is recorded
        await world.admin(record, {"s": [ids["max"]]})  # legal's: never reaches this feed
        shared = (await world.admin(record, {"s": [ids["max"], ids["eva"]]}))["recordActivity"]
        got = (await sub.next(op))["data"]["activityAdded"]
        assert got["id"] == shared["id"]
        assert world.names(ids_of(got["subjects"])) == {"eva"}


async def test_a_portfolio_is_what_the_teams_users_answer_for(world: World) -> None:
    """rep, employed by sales, is RESPONSIBLE_FOR eva: sales' portfolio is eva."""
    viewer = await viewer_with(world, "pia", ("reader", "sales", "PORTFOLIO"))
    async with viewer.http:
        data = await viewer("{ viewer { id } parties { edges { node { id } } } }")
        found = world.names(ids_of([e["node"] for e in data["parties"]["edges"]]))
        assert found == {"eva", data["viewer"]["id"]}


async def test_a_scoped_fiscal_grant_shows_fiscal_data_inside_only(world: World) -> None:
    for party, code in (("eva", "59-119/9013"), ("max", "81-123/4566")):
        await world.admin(
            "mutation($id: ID!, $code: String) { updateParty(id: $id, "
            'input: {fiscal: {taxCode: $code, country: "AT"}}) { id } }',
            {"id": world.ids[party], "code": code},
        )
    viewer = await viewer_with(
        world, "fia", ("reader", None, "SUBTREE"), ("fiscal", "sales", "SUBTREE")
    )
    async with viewer.http:
        response = await viewer.raw(
            "query($e: ID!, $m: ID!) { eva: party(id: $e) { fiscal { taxCode } } "
            "max: party(id: $m) { fiscal { taxCode } } }",
            {"e": world.ids["eva"], "m": world.ids["max"]},
        )
        body = response.json()
        assert body["data"] == {
            "eva": {"fiscal": {"taxCode": "591199013"}},
            "max": {"fiscal": None},
        }
        [error] = body["errors"]
        assert error["path"] == ["max", "fiscal"]
        assert error["extensions"]["code"] == "FORBIDDEN"


WORKLIST = """query($u: ID!) { worklist(assigneeId: $u) { edges { node {
  title assigneeId party { id } } } } }"""


async def _welcome_calls(world: World) -> None:
    """A process that gives rep a step for each AGREEMENT with eva or max (filed in the
    category too)."""
    process = {
        "id": "welcome-call",
        "name": "Welcome call",
        "trigger": {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]},
        "steps": [
            {
                "id": "call",
                "title": "Call to welcome",
                "dueDays": 7,
                "satisfiedBy": {"activityType": "CALL"},
                "assignee": {"rule": "USER", "userId": world.ids["rep"]},
            }
        ],
    }
    await world.admin(
        "mutation($id: ID!, $p: JSON) { updateCategory(id: $id, input: {processes: $p}) "
        "{ version } }",
        {"id": world.ids["category"], "p": [process]},
    )
    await world.admin(
        "mutation($id: ID!, $c: ID!) { updateParty(id: $id, input: {categoryId: $c}) { id } }",
        {"id": world.ids["max"], "c": world.ids["category"]},
    )


async def _sign_with_eva_and_max(world: World) -> None:
    await world.admin(
        "mutation($s: [ID!]!) { recordActivity(input: "
        '{type: AGREEMENT, summary: "signed", subjectIds: $s}) { id } }',
        {"s": [world.ids["eva"], world.ids["max"]]},
    )


async def test_a_worklist_keeps_to_the_scope(world: World) -> None:
    """Rep's steps about eva (inside sales) show to the scoped reader, those about max
    (outside) do not; another user outside is NOT_FOUND, and the reader's own list, whose
    user lies outside the scope, is theirs to read. Sweeping processes is not the scoped
    editor's."""
    await _welcome_calls(world)
    await _sign_with_eva_and_max(world)
    everything = await world.admin(WORKLIST, {"u": world.ids["rep"]})
    assert len(everything["worklist"]["edges"]) == 2
    inside = await world.reader(WORKLIST, {"u": world.ids["rep"]})
    assert [e["node"]["party"]["id"] for e in inside["worklist"]["edges"]] == [world.ids["eva"]]
    outside = await world.reader.error(WORKLIST, {"u": world.ids["seller"]})
    assert outside["extensions"]["code"] == "NOT_FOUND"
    own = await world.reader(WORKLIST, {"u": world.ids["reader"]})
    assert own["worklist"]["edges"] == []
    # a sweep reads every category's parties: CATEGORIES everywhere, not a scoped editor's
    refused = await world.editor.error("mutation { sweepProcesses }")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert (await world.admin("mutation { sweepProcesses }"))["sweepProcesses"] == 0


async def test_a_worklist_feed_keeps_to_the_scope(world: World) -> None:
    """As Query.worklist: the scoped reader hears rep's new step about eva, not the one
    about max; seller's feed (outside) is NOT_FOUND; its own feed is its own to hear."""
    await _welcome_calls(world)
    feed = (
        "subscription($u: ID) { worklistChanged(assigneeId: $u) "
        "{ change step { assigneeId party { id } } } }"
    )
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        outside = await sub.subscribe(feed, {"u": world.ids["seller"]})
        [error] = (await sub.next(outside))["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        await sub.completed(outside)
        await sub.subscribe(feed)  # its own: accepted, though its user lies outside
        reps = await sub.subscribe(feed, {"u": world.ids["rep"]})
        await subscribed(world.admin.http, 2)
        await _sign_with_eva_and_max(world)  # rep's two steps, in one write: max's not told
        await world.admin(
            'mutation($s: ID!) { recordActivity(input: {type: CALL, summary: "hello", '
            "subjectIds: [$s]}) { id } }",
            {"s": world.ids["eva"]},
        )
        heard = [(await sub.next(reps))["data"]["worklistChanged"] for _ in range(2)]
        assert [(h["change"], world.names([h["step"]["party"]["id"]])) for h in heard] == [
            ("OPENED", {"eva"}),
            ("DONE", {"eva"}),
        ]
