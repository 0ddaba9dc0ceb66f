"""The Subscription root and the publishing side of live feeds."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Annotated
from weakref import WeakKeyDictionary

import strawberry

from ..graph import deadlines, model, teams
from ..graph.errors import GraphError, LimitExceeded, NotFound
from ..graph.events import ActivityAdded, ActivityRead, Interest, WorklistChanged, WorklistInterest
from ..graph.history import ChangeKind
from ..graph.identity import Permission
from ..graph.times import utcnow
from ..schema.common_arguments import ActivityTypes
from ..schema.processes import WorklistEvent
from ..schema.types import Activity, ContextInfo
from .context import Context
from .loaders import Loaders

log = logging.getLogger("contactgraph.events")


async def announce(
    context: Context,
    activity: model.Activity,
    change: ChangeKind = ChangeKind.ACTIVITY_RECORDED,
    read: ActivityRead | None = None,
) -> None:
    """Publish a committed activity (recorded, or what `change` did to it), reaching its
    subjects and everything above them in the default hierarchy as it stands now; `read`,
    what its write read, names its author and subjects, and the parties above them when
    the write read those too, without reading them again. A failed read loses the event,
    not the write."""
    store, depth = context.backend, context.settings.max_depth
    named = [activity.author_id, *activity.subject_ids]
    try:
        above = read.above if read is not None else None
        if above is None:
            walked = await store.ancestors(
                activity.subject_ids, model.DEFAULT_HIERARCHY_TYPES, depth, utcnow()
            )
            above = {s: [row.party for row in found.rows] for s, found in walked.items()}
        if read is not None and all(i in read for i in named):
            parties = {i: read[i] for i in named}
        else:
            parties = await store.get_parties(named)
    except GraphError as error:
        log.warning("activity %s was not published: %s", activity.id, error.message)
        return
    reach = {subject: subject for subject in activity.subject_ids}
    for subject in activity.subject_ids:
        for party in above.get(subject, ()):
            reach.setdefault(party.id, subject)
            parties[party.id] = party
    await context.events.publish(ActivityAdded(activity, reach, parties, change))


_event_loaders: WeakKeyDictionary[ActivityAdded, dict[tuple[object, ...], Loaders]] = (
    WeakKeyDictionary()
)


def _loaders_for(event: ActivityAdded, context: Context) -> Loaders:
    """Loaders for one event, shared by every execution it reaches whose viewer reads
    alike (the same permissions and scopes, and the same user unless an admin: a user's
    own grants and history read differently), so what they read beyond the event is one
    batched read instead of one each. Unscoped readers' loaders are primed with what
    the publisher read, so names are as of the event; a scoped reader's go through its
    scope."""
    viewer = context.viewer
    who = None if viewer.can(Permission.ADMIN) else viewer.id
    reach = (viewer.everywhere, frozenset(viewer.scoped.items()), who)
    shared = _event_loaders.setdefault(event, {})
    loaders = shared.get(reach)
    if loaders is None:
        loaders = shared[reach] = Loaders(context.store)
        if Permission.READ not in viewer.scoped:
            for party in event.parties.values():
                loaders.parties.prime(party.id, party)
    return loaders


async def _shows(context: Context, event: ActivityAdded | WorklistChanged) -> bool:
    """Whether a scoped subscriber may see the event's activity (or step's party) now: its
    scope may have changed since it subscribed, and a subject may sit deeper than the
    scope reaches."""
    if Permission.READ not in context.viewer.scoped:
        return True
    if isinstance(event, WorklistChanged):
        return event.step.party_id in await context.store.get_parties([event.step.party_id])
    return event.activity.id in await context.store.get_nodes([event.activity.id])


async def _within_the_ceiling(context: Context, subject_id: str) -> None:
    """A roll-up feed hears of activities up to the depth ceiling below its party (events
    are routed to the parties that far above their subjects): a deeper hierarchy would
    lose events without a word, so it is refused, as its roll-up timeline is."""
    ceiling = context.settings.max_depth
    rollup = model.Rollup(model.DEFAULT_HIERARCHY_TYPES, utcnow(), ceiling, tell_beyond=True)
    query = model.TimelineQuery(model.Page(1), rollup=rollup)
    page = (await context.store.timelines([subject_id], query)).get(subject_id)
    if page is not None and page.beyond:
        raise LimitExceeded(
            f"the hierarchy below {subject_id} goes on past the depth ceiling of {ceiling} "
            "levels, where a feed with includeDescendants stops hearing of activities: "
            "subscribe to a party lower down, or raise the server's --max-depth"
        )


@strawberry.type(
    description="Live feeds over WebSocket (graphql-transport-ws or graphql-ws). A "
    "subscriber hears only what it may read when each event comes."
)
class Subscription:
    @strawberry.subscription(
        description="Activities recorded, scheduled or changed (`change` tells which) from "
        "now on with this party, or with includeDescendants "
        "with any party below it in the hierarchy at the moment each is recorded; `source` "
        "tells which. A subscriber too slow to keep up is told (LIMIT_EXCEEDED) and closed."
    )
    async def activity_added(
        self,
        info: ContextInfo,
        subject_id: Annotated[
            strawberry.ID, strawberry.argument(description="The party to hear about.")
        ],
        include_descendants: Annotated[
            bool,
            strawberry.argument(
                description="Also activities of every party below it (PART_OF, EMPLOYS, "
                "MEMBER_OF); a hierarchy deeper than the server's depth ceiling is "
                "LIMIT_EXCEEDED."
            ),
        ] = False,
        types: ActivityTypes = None,
    ) -> AsyncGenerator[Activity, None]:
        context = info.context  # what each listener may hold is counted in fanout.py
        if not await context.store.get_parties([subject_id]):
            raise NotFound(f"party {subject_id} does not exist")
        if include_descendants:
            await _within_the_ceiling(context, subject_id)
        interest = Interest(subject_id, include_descendants, frozenset(types or ()))
        feed = context.events.subscribe(interest)
        try:
            async for event, source in feed:
                # the event's fields resolve while this generator waits at the yield
                with deadlines.limit(context.settings.request_timeout):
                    if not isinstance(event, ActivityAdded) or not await _shows(context, event):
                        continue
                    context.loaders = _loaders_for(event, context)
                    source_id = source if include_descendants else None
                    yield Activity.of(event.activity, source_id, event.change)
        finally:
            context.events.unsubscribe(feed)

    @strawberry.subscription(
        description="Changes on a user's worklist from now on: a step assigned to them "
        "OPENED, DONE, or OVERDUE (its due time passed while open; no write needed), each "
        "once, of the parties the viewer may read when it comes. Who may watch whose list "
        "is as for Query.worklist."
    )
    async def worklist_changed(
        self,
        info: ContextInfo,
        assignee_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The user; yours when left out."),
        ] = None,
    ) -> AsyncGenerator[WorklistEvent, None]:
        context = info.context  # what each listener may hold is counted in fanout.py
        viewer = context.viewer
        viewer.scope(Permission.READ, "reading a worklist")
        watched = viewer.id if assignee_id is None else str(assignee_id)
        if watched != viewer.id:
            await teams.users(context.store, [watched])
        feed = context.events.subscribe(WorklistInterest(watched))
        try:
            async for event, _ in feed:
                with deadlines.limit(context.settings.request_timeout):
                    if not isinstance(event, WorklistChanged) or not await _shows(context, event):
                        continue
                    context.loaders = Loaders(context.store)  # its party as it is now
                    yield WorklistEvent.of(event)
        finally:
            context.events.unsubscribe(feed)
