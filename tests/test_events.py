"""The in-process event bus on its own: matching by party, reach and type, and bounded
backlogs. The WebSocket tests drive the same bus through a real server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from contactgraph.graph.events import ActivityAdded, Feed, FellBehind, Interest, LocalEventBus
from contactgraph.graph.model import Activity, ActivityType


def added(*subjects: str, above: dict[str, str] | None = None, **values: object) -> ActivityAdded:
    activity = Activity(
        id=f"a-{'-'.join(subjects)}",
        type=values.get("type", ActivityType.CALL),  # type: ignore[arg-type]
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        summary="s",
        body=None,
        author_id="author",
        subject_ids=subjects,
    )
    return ActivityAdded(activity, {**{s: s for s in subjects}, **(above or {})})


async def test_feeds_get_what_reaches_their_party_with_its_source() -> None:
    bus = LocalEventBus()
    own = bus.subscribe(Interest("dept"))
    below = bus.subscribe(Interest("company", include_descendants=True))
    meetings = bus.subscribe(
        Interest("company", include_descendants=True, types=frozenset({ActivityType.MEETING}))
    )
    assert bus.subscribers == 3

    await bus.publish(added("ann", above={"dept": "ann", "company": "ann"}))
    await bus.publish(added("dept", "bob", above={"company": "dept"}, type=ActivityType.MEETING))
    await bus.publish(added("elsewhere"))

    assert [(e.activity.id, source) for e, source in await _drain(below)] == [
        ("a-ann", "ann"),
        ("a-dept-bob", "dept"),
    ]
    assert [e.activity.id for e, _ in await _drain(own)] == ["a-dept-bob"]  # not ann's: own only
    assert [e.activity.id for e, _ in await _drain(meetings)] == ["a-dept-bob"]


async def test_a_full_backlog_drops_the_feed_tells_it_and_spares_the_others() -> None:
    bus = LocalEventBus(max_queue=2)
    slow = bus.subscribe(Interest("p"))
    fast = bus.subscribe(Interest("p"))
    for _ in range(2):
        await bus.publish(added("p"))
        await anext(fast)
    await bus.publish(added("p"))  # the slow feed's third: over its bound
    assert slow.ended and bus.subscribers == 1
    with pytest.raises(FellBehind) as told:
        await anext(slow)
    assert told.value.code == "LIMIT_EXCEEDED"
    await bus.publish(added("p"))
    assert len(await _drain(fast)) == 2
    bus.unsubscribe(slow)  # the resolver's cleanup after a drop changes nothing
    bus.unsubscribe(fast)
    assert bus.subscribers == 0


async def _drain(feed: Feed) -> list[tuple[ActivityAdded, str]]:
    """What the feed holds now, read as its consumer reads it."""
    items = []
    while True:
        try:
            items.append(await asyncio.wait_for(anext(feed), 0.01))
        except TimeoutError:
            return items
