"""GraphQL of the change history: entries, a node's history, a party as it was, the
audit log. Entries are read-only: no mutation takes one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from ..graph import history
from ..graph.cursors import check_instant_cursor, encode_cursor
from ..graph.errors import BadUserInput, Forbidden
from ..graph.identity import Permission
from ..graph.model import Page
from ..graph.times import format_instant
from ..resolvers.context import Context
from .common_arguments import After, First, Since, Until
from .enums import described_enum
from .pages import Connection, Edge, page_info

if TYPE_CHECKING:
    from .types import Party, User

ContextInfo = Info[Context, None]

ChangeKind = described_enum(
    history.ChangeKind,
    "What a write did. Entries about a user's roles and tokens (ROLE_*, TOKEN_*) are shown "
    "only to that user and to admins.",
    {
        "CREATED": "A party was created.",
        "UPDATED": "A party's own fields were changed.",
        "ARCHIVED": "A party was archived.",
        "RESTORED": "An archived party was restored.",
        "MERGED": "Parties were merged into the first subject, the survivor.",
        "UNMERGED": "A merged party was restored from its merge.",
        "LINKED": "A relationship was made.",
        "UNLINKED": "A relationship was ended.",
        "ACTIVITY_RECORDED": "An activity was recorded.",
        "ACTIVITY_SCHEDULED": "Planned work was scheduled (scheduleActivity).",
        "ACTIVITY_UPDATED": "Planned work changed: the fields tell how, and its version.",
        "ACTIVITY_COMPLETED": "Planned work was marked DONE.",
        "ACTIVITY_CANCELLED": "Planned work was called off.",
        "ROLE_GRANTED": "A user was given a role.",
        "ROLE_REVOKED": "A role was taken from a user.",
        "TOKEN_CREATED": "An API token was made.",
        "TOKEN_REVOKED": "An API token was revoked.",
        "CATEGORY_CREATED": "A category was created (the category's id is the subject).",
        "CATEGORY_UPDATED": "A category was changed.",
        "CATEGORY_ARCHIVED": "A category was archived.",
        "LEVEL_CREATED": "A level was added.",
        "LEVEL_UPDATED": "A level's name, rank or description was changed.",
        "PROCESS_STEP_OPENED": "A process step was opened for the party (Party.processes).",
        "PROCESS_STEP_DONE": "A process step of the party was done.",
        "PIPELINE_CREATED": "A sales pipeline was created (the pipeline's id is the subject).",
        "PIPELINE_UPDATED": "A sales pipeline's name or stages were changed.",
        "OPPORTUNITY_CREATED": "An opportunity was opened (its id first among the subjects, "
        "then its organization, owner and contacts).",
        "OPPORTUNITY_UPDATED": "An opportunity's fields were changed.",
        "OPPORTUNITY_MOVED": "An opportunity was moved to another stage.",
        "LEAD_CONVERTED": "A lead was converted (convertLead): its new category and status.",
    },
)


@strawberry.type(description="One field's value before and after a change, as JSON.")
class FieldChange:
    field: str = strawberry.field(description="The field's GraphQL name.")
    before: JSON | None = strawberry.field(
        description="The value before; null when the field had none (as on a create) or redacted."
    )
    after: JSON | None = strawberry.field(
        description="The value after; null when the field has none now or redacted."
    )
    redacted: bool = strawberry.field(
        description="The values are hidden: fiscal data you may not read here, or (in a merge's "
        "entry) grants and tokens, which admins read."
    )


@strawberry.type(
    description="An entry of the change history: who changed what, when, in which request. "
    "Appended in the same transaction as the write; never changed or removed."
)
class Change:
    id: strawberry.ID = strawberry.field(description="The entry's own id.")
    at: datetime = strawberry.field(description="When the write was made.")
    kind: ChangeKind = strawberry.field(description="What the write did.")  # type: ignore[valid-type]
    actor_id: strawberry.ID | None = strawberry.field(
        description="The signed-in user who wrote; null for the server's own work (seeds, "
        "the command line)."
    )
    request_id: str | None = strawberry.field(
        description="The request that wrote: its X-Request-Id header, or one the server made "
        "and answered in that header."
    )
    subject_ids: list[strawberry.ID] = strawberry.field(
        description="What it is about: the party, relationship or activity first, then the "
        "parties it touches."
    )
    fields: list[FieldChange] = strawberry.field(
        description="The fields it set, each with its value before and after."
    )
    version: int | None = strawberry.field(
        description="On changes of a party's own fields: the party's version after them."
    )

    @strawberry.field(description="The user behind actorId.")
    async def actor(self, info: ContextInfo) -> Annotated[User, strawberry.lazy(".types")] | None:
        if self.actor_id is None:
            return None
        from .types import party_of

        found = await info.context.loaders.users.load(self.actor_id)
        return None if found is None else party_of(found)  # type: ignore[return-value]


async def _fiscal_hidden(info: ContextInfo, entry: history.Change) -> bool:
    """Whether the viewer may not read this entry's fiscal values: as Party.fiscal decides."""
    context = info.context
    if context.viewer.can(Permission.FISCAL):
        return False
    try:
        scoped = context.viewer.scope(Permission.FISCAL, "reading fiscal data")
    except Forbidden:
        return True
    return scoped is not None and (
        await context.loaders.fiscal_parties.load(entry.subject_ids[0]) is None
    )


# what a merge entry says of roles and tokens: like ROLE_* and TOKEN_* entries, for admins
_ADMIN_FIELDS = frozenset({"grants", "tokens"})


async def _change(info: ContextInfo, entry: history.Change) -> Change:
    hidden = set() if info.context.viewer.can(Permission.ADMIN) else set(_ADMIN_FIELDS)
    if any(f.field == "fiscal" for f in entry.fields) and await _fiscal_hidden(info, entry):
        hidden.add("fiscal")
    return Change(
        id=strawberry.ID(entry.id),
        at=entry.at,
        kind=entry.kind,
        actor_id=None if entry.actor_id is None else strawberry.ID(entry.actor_id),
        request_id=entry.request_id,
        subject_ids=[strawberry.ID(s) for s in entry.subject_ids],
        fields=[
            FieldChange(field=f.field, before=None, after=None, redacted=True)
            if f.field in hidden
            else FieldChange(field=f.field, before=f.before, after=f.after, redacted=False)
            for f in entry.fields
        ],
        version=entry.version,
    )


async def changes_page(info: ContextInfo, page: history.ChangePage) -> Connection[Change]:
    edges = [
        Edge(cursor=encode_cursor(format_instant(c.at), c.id), node=await _change(info, c))
        for c in page.changes
    ]
    return Connection(edges=edges, page_info=page_info(edges, page.has_next))


def _page(info: ContextInfo, first: int | None, after: str | None) -> Page:
    if after is not None:
        check_instant_cursor(after)
    return info.context.page(first, after)


async def node_history(
    root: strawberry.Parent[object],
    info: ContextInfo,
    first: First = None,
    after: After = None,
) -> Connection[Change]:
    """What was done to this, newest first: every write that created or changed it."""
    node_id: str = root.id  # type: ignore[attr-defined]
    page = await info.context.loaders.history.load((node_id, _page(info, first, after)))
    return await changes_page(info, page)


async def party_snapshot(
    root: strawberry.Parent[object],
    info: ContextInfo,
    as_of: Annotated[
        datetime, strawberry.argument(description="The instant to read the party as of.")
    ],
) -> Annotated[Party, strawberry.lazy(".types")] | None:
    """This party's own fields as they were at `asOf`, from its history; null when it did
    not exist yet. Its other fields (relationships, timeline) read as they do on any party."""
    from .types import party_of

    found = await info.context.loaders.snapshots.load((root.id, as_of))  # type: ignore[attr-defined]
    return None if found is None else party_of(found)


async def audit_log(
    info: ContextInfo,
    actor_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only the changes this user wrote."),
    ] = None,
    subject_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(
            description="Only the changes about this party, relationship or activity, or "
            "touching this party."
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    first: First = None,
    after: After = None,
) -> Connection[Change]:
    """Every change, newest first, by actor, subject and time (since inclusive, until
    exclusive); for admins."""
    if since is not None and until is not None and until <= since:
        raise BadUserInput("until must be later than since")
    query = history.AuditQuery(actor_id, subject_id, since, until)
    page = await info.context.store.audit_log(query, _page(info, first, after))  # type: ignore[attr-defined]
    return await changes_page(info, page)
