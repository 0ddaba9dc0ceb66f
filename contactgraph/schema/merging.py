"""GraphQL of merging duplicates: the mutation's input and its answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from ..graph import merging
from ..graph.errors import BadUserInput
from ..graph.model import Party as Party_
from ..graph.times import utcnow
from ..resolvers.context import Context

if TYPE_CHECKING:
    from .types import Party, Relationship

ContextInfo = Info[Context, None]
PartyType = Annotated["Party", strawberry.lazy(".types")]
RelationshipType = Annotated["Relationship", strawberry.lazy(".types")]


@strawberry.input(description="Take one field of the survivor from a party of the merge.")
class FieldChoiceInput:
    field: str = strawberry.field(
        description="As updateParty names it: name, firstName, lastName, displayName, "
        "legalForm, categoryId, unitType, emails, phones, addresses, fiscal or tags."
    )
    from_id: strawberry.ID = strawberry.field(
        description="The party of the merge, survivor or merged, whose value the survivor takes."
    )


@strawberry.type(description="An edge a merge removed, kept whole in the history.")
class RemovedRelationship:
    relationship: RelationshipType = strawberry.field(description="The edge as it was.")
    kept_id: strawberry.ID | None = strawberry.field(
        description="The edge it collapsed into (same type, ends and role, overlapping "
        "dates); null when it joined two parties of the merge."
    )


@strawberry.type(description="What a merge did, or with dryRun would do.")
class MergeResult:
    dry_run: bool = strawberry.field(
        description="True when nothing was written: the answer says what a merge would do."
    )
    survivor: PartyType = strawberry.field(
        description="As merged (in a dry run, as it would be; its nested fields read the graph "
        "as it is)."
    )
    merged: list[PartyType] = strawberry.field(
        description="The merged parties: archived tombstones naming the survivor in mergedInto."
    )
    moved_relationships: list[RelationshipType] = strawberry.field(
        description="Edges re-pointed to the survivor (same ids), as they are now."
    )
    removed_relationships: list[RemovedRelationship] = strawberry.field(
        description="Edges a merge dropped as duplicates of the survivor's, or because they "
        "joined two parties of the merge."
    )
    activity_ids: list[strawberry.ID] = strawberry.field(
        description="Activities that name the survivor instead of a merged party."
    )
    grant_ids: list[strawberry.ID] = strawberry.field(
        description="Grants moved to the survivor, or dropped as the survivor's already."
    )


@strawberry.type(description="What an unmerge restored.")
class UnmergeResult:
    party: PartyType = strawberry.field(description="The restored party.")
    survivor_id: strawberry.ID = strawberry.field(description="The party it had been merged into.")
    relationships: list[RelationshipType] = strawberry.field(
        description="Its edges, back as they were before the merge (moved back, or made again "
        "when the merge removed them)."
    )
    activity_ids: list[strawberry.ID] = strawberry.field(
        description="Activities that name it again instead of the survivor."
    )
    grant_ids: list[strawberry.ID] = strawberry.field(
        description="Grants that name it again, as they were before the merge."
    )


async def unmerge_party(
    info: ContextInfo,
    id: Annotated[
        strawberry.ID, strawberry.argument(description="The merged party (the tombstone).")
    ],
) -> UnmergeResult:
    """Restore a merged party, from its merge's history: the edges, activities and grants
    it brought go back to it unless they changed since (those stay with the survivor);
    the survivor keeps the fields it took. Its fiscal codes and external ids come back
    only while free (the survivor keeps those it took).
    Needs WRITE everywhere, and ADMIN when grants go back."""
    from .types import Relationship, party_of

    plan = await info.context.store.unmerge_party(id, utcnow())
    return UnmergeResult(
        party=party_of(plan.party),
        survivor_id=strawberry.ID(plan.survivor_id),
        relationships=[Relationship.of(back) for _, back in plan.edges],
        activity_ids=[strawberry.ID(s.activity_id) for s in plan.subjects],
        grant_ids=[strawberry.ID(back.id) for _, back in plan.grants],
    )


MAX_CHOICES = 20


async def merged_from(root: strawberry.Parent[object], info: ContextInfo) -> list[strawberry.ID]:
    found = await info.context.loaders.merged_from.load(root.id)  # type: ignore[attr-defined]
    return [strawberry.ID(i) for i in found or ()]


async def survivor_of(info: ContextInfo, party: Party_) -> Party_:
    """The party a merged id stands for now: the survivor, at the end of the chain."""
    for _ in range(merging.MAX_HOPS):
        if party.merged_into is None:
            break
        found = await info.context.loaders.parties.load(party.merged_into)
        if found is None:
            break
        party = found
    return party


async def merge_parties(
    info: ContextInfo,
    survivor_id: Annotated[strawberry.ID, strawberry.argument(description="The party that stays.")],
    merged_ids: Annotated[
        list[strawberry.ID],
        strawberry.argument(
            description=f"The duplicates folded into it, of the survivor's kind and not "
            f"archived: at least one, at most {merging.MAX_MERGED}, each once."
        ),
    ],
    field_choices: Annotated[
        list[FieldChoiceInput] | None,
        strawberry.argument(
            description=f"Fields the survivor takes from a merged party, each field once and "
            f"at most {MAX_CHOICES}; the survivor keeps its own others."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        strawberry.argument(description="Answer what the merge would do, writing nothing."),
    ] = False,
) -> MergeResult:
    """Fold duplicates into the survivor, in one transaction: their relationships (same
    ids, duplicates collapsed into the earliest), activities, grants and users' contacts
    move to it, and it holds their external ids beside its own (two keys of one source
    too), so a sync finds it by either; they stay as archived tombstones, and node(id)
    of one answers the survivor. A cycle or a broken category rule refuses it; dryRun
    answers the same without writing. Needs WRITE everywhere, FISCAL to move fiscal
    data, and ADMIN to merge users."""
    from .types import Relationship, party_of

    choices = field_choices or []
    if len(choices) > MAX_CHOICES:
        raise BadUserInput(f"fieldChoices holds at most {MAX_CHOICES} choices")
    if len({c.field for c in choices}) != len(choices):
        raise BadUserInput("fieldChoices names a field twice")
    merging.check_request(survivor_id, merged_ids)
    plan = await info.context.store.merge_parties(
        survivor_id,
        merged_ids,
        [merging.FieldChoice(c.field, c.from_id) for c in choices],
        utcnow(),
        dry_run,
    )
    return MergeResult(
        dry_run=dry_run,
        survivor=party_of(plan.survivor),
        merged=[party_of(t) for t in plan.tombstones],
        moved_relationships=[Relationship.of(after) for _, after in plan.moved],
        removed_relationships=[
            RemovedRelationship(
                relationship=Relationship.of(edge),
                kept_id=None if kept is None else strawberry.ID(kept),
            )
            for edge, kept in plan.removed
        ],
        activity_ids=[strawberry.ID(s.activity_id) for s in plan.subjects],
        grant_ids=[strawberry.ID(before.id) for before, _ in plan.grants],
    )
