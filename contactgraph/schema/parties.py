"""The GraphQL types of parties: the Party interface with the walks that start at one,
its three kinds, and the objects made of stored parties."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import Selection

from ..graph import model
from ..graph.cursors import encode_cursor
from ..graph.errors import BadUserInput, Forbidden
from ..graph.identity import Permission
from ..graph.model import DEFAULT_HIERARCHY_TYPES, HIERARCHY_TYPES, Rollup
from ..resolvers.context import (
    Context,
    ContextInfo,
    field_selections,
    selected_at,
    selects,
)
from ..resolvers.duplicates import candidates
from ..resolvers.loaders import (
    AncestorsQuery,
    ChildrenQuery,
    DescendantsQuery,
    NetworkQuery,
    RelationshipQuery,
)
from ..resolvers.responsibles import responsibilities
from ..resolvers.written_edges import touching
from .activities import Activity, TimelineConnection, timeline_connection, timeline_query
from .agenda import AgendaEntry, AgendaTypes, From, Statuses, To, agenda_query, connection
from .categories import AttributeValue, Category, attribute_values
from .common_arguments import (
    DEFAULTS,
    ActivitySearch,
    ActivityTypes,
    After,
    AsOf,
    First,
    HierarchyTypes,
    MaxDepth,
    MinScore,
    RelTypes,
    Since,
    Until,
)
from .contact_data import Address, Email, ExternalId, Fiscal, Phone
from .duplicates import DuplicateCandidate
from .enums import Direction, LeadStatus, LegalForm, PartyKind, UnitType
from .history import Change, node_history, party_snapshot
from .identity import Grant
from .levels import Level
from .merging import merged_from
from .node import Node
from .opportunities import Opportunity, organization_opportunities
from .pages import Connection, CountedConnection, Edge, page_info
from .processes import ProcessRun, party_processes
from .relationships import Relationship, Responsibility

UNIT_TYPES = frozenset(model.UnitType)


def _hierarchy_types(types: list[model.RelType] | None) -> tuple[model.RelType, ...]:
    chosen = tuple(dict.fromkeys(types)) if types else DEFAULT_HIERARCHY_TYPES
    for rel_type in chosen:
        if rel_type not in HIERARCHY_TYPES:
            raise BadUserInput(f"{rel_type.value} is not a hierarchy relationship")
    return chosen


# the reads of a party's fields by their arguments and selection: by the fields, and by
# `party(id:)` that has one carry its own read (schema/carried_reads.py)


def relationships_query(
    context: Context,
    selected: list[Selection],
    types: list[model.RelType] | None = None,
    direction: model.Direction = model.Direction.BOTH,
    as_of: datetime | None = None,
    include_ended: bool = False,
) -> RelationshipQuery:
    if include_ended and as_of is not None:
        raise BadUserInput("asOf and includeEnded exclude each other")
    return RelationshipQuery(
        types=tuple(dict.fromkeys(types)) if types else tuple(model.RelType),
        direction=direction,
        as_of=None if include_ended else (as_of or context.now),
    )


def children_query(
    context: Context,
    selected: list[Selection],
    types: list[model.RelType] | None = None,
    as_of: datetime | None = None,
) -> ChildrenQuery:
    reading = model.TreeReading(parties=bool(selected_at(selected, ()) - _REF_FIELDS), edges=False)
    return ChildrenQuery(_hierarchy_types(types), as_of or context.now, reading)


def party_timeline_query(
    context: Context,
    selected: list[Selection],
    first: int | None = None,
    after: str | None = None,
    types: list[model.ActivityType] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_descendants: bool = False,
    hierarchy_types: list[model.RelType] | None = None,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    search: str | None = None,
) -> model.TimelineQuery:
    if not include_descendants and (hierarchy_types or as_of or max_depth is not None):
        raise BadUserInput(
            "hierarchyTypes, asOf and maxDepth choose a roll-up: set includeDescendants"
        )
    rollup = (
        Rollup(
            _hierarchy_types(hierarchy_types),
            as_of or context.now,
            context.depth(max_depth),
            tell_beyond=max_depth is None,
        )
        if include_descendants
        else None
    )
    return timeline_query(context, selected, first, after, types, since, until, search, rollup)


def descendants_query(
    context: Context,
    selected: list[Selection],
    types: list[model.RelType] | None = None,
    max_depth: int | None = None,
    as_of: datetime | None = None,
    first: int | None = None,
    after: str | None = None,
) -> DescendantsQuery:
    return DescendantsQuery(
        _hierarchy_types(types),
        context.depth(max_depth),
        as_of or context.now,
        context.page(first, after),
        count=selects(selected, "totalCount"),
        reading=model.TreeReading(
            parties=bool(selected_at(selected, ("edges", "node", "party")) - _REF_FIELDS),
            edges="relationship" in selected_at(selected, ("edges", "node")),
            parents="parentId" in selected_at(selected, ("edges", "node")),
        ),
        tell_beyond=max_depth is None,
    )


@strawberry.interface(description="An organization, contact or user: one registry for all.")
class Party(Node):
    kind: PartyKind = strawberry.field(description="Which of the three types it is.")
    legal_form: LegalForm = strawberry.field(description="How the law sees it.")
    display_name: str = strawberry.field(
        description="The name to show: an organization's name; a contact's as given, else "
        "its first and last name; a user's as given."
    )
    category_id: strawberry.ID | None = strawberry.field(
        description="The id of its category; null when it has none."
    )
    emails: list[Email] = strawberry.field(description="Its e-mail addresses, as given.")
    phones: list[Phone] = strawberry.field(description="Its phone numbers, as given.")
    addresses: list[Address] = strawberry.field(
        description="Its postal addresses, as given; the first one's country is where its "
        "phone numbers and tax code are read."
    )
    fiscal_data: strawberry.Private[Fiscal | None]
    held_attributes: strawberry.Private[dict[str, Any]]
    # a party this request created, for a viewer who reads everywhere: every edge it has,
    # as its write made them (resolvers/written_edges.py); None for one read from the store
    written_edges: strawberry.Private[tuple[model.Relationship, ...] | None] = None
    tags: list[str] = strawberry.field(
        description="Free labels, for filtering parties(filter: {tags})."
    )
    external_ids: list[ExternalId] = strawberry.field(
        description="Its ids in other systems, each held by one party not archived at most; "
        "partyByExternalId finds it by one."
    )
    version: int = strawberry.field(
        description="Grows with each change of its own fields; give it to updateParty "
        "as expectedVersion to refuse a lost update."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When its own fields last changed.")
    archived_at: datetime | None = strawberry.field(
        description="When it was archived (archived parties are left out of lists unless "
        "asked for); null while it is not."
    )
    merged_into: strawberry.ID | None = strawberry.field(
        description="On a merged duplicate (an archived tombstone): the party it was merged "
        "into. node(id) and party(id) of it answer that party."
    )
    merged_from: list[strawberry.ID] = strawberry.field(
        resolver=merged_from, description="The parties merged into this one, in id order."
    )
    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="What was done to it, newest first."
    )
    processes: list[ProcessRun] = strawberry.field(
        resolver=party_processes,
        description="The process runs its category's processes started for it, oldest "
        "first, each with its steps (open, done, overdue). One read per query level.",
    )
    snapshot: Party | None = strawberry.field(
        resolver=party_snapshot,
        description="Its own fields as they were at `asOf`, from its history; null before "
        "it existed.",
    )

    @strawberry.field(
        description="VAT number and tax code; reading them needs the FISCAL permission "
        "where the party is (without it: null and a FORBIDDEN error at this path)."
    )
    async def fiscal(self, info: ContextInfo) -> Fiscal | None:
        context = info.context
        scoped = context.viewer.scope(Permission.FISCAL, "reading fiscal data") is not None
        if scoped and await context.loaders.fiscal_parties.load(self.id) is None:
            raise Forbidden("reading this party's fiscal data needs the FISCAL permission")
        return self.fiscal_data

    @strawberry.field(description="The category it is filed under; null when it has none.")
    async def category(self, info: ContextInfo) -> Category | None:
        if self.category_id is None:
            return None
        found = await info.context.loaders.categories.load(self.category_id)
        return Category.of(found) if found else None

    @strawberry.field(
        description="Its values of its category's own fields, typed, in the category's field "
        "order; a value whose field the category no longer has comes last."
    )
    async def attributes(self, info: ContextInfo) -> list[AttributeValue]:
        if not self.held_attributes:
            return []
        category_id = self.category_id
        found = await info.context.loaders.categories.load(category_id) if category_id else None
        return attribute_values(self.held_attributes, found)

    @strawberry.field(
        description="Edges touching this party: current ones by default, as of `asOf` when "
        "given, the whole history with includeEnded."
    )
    async def relationships(
        self,
        info: ContextInfo,
        types: RelTypes = None,
        direction: Annotated[
            Direction,
            strawberry.argument(description="Which ends: edges from it, to it, or both."),
        ] = model.Direction.BOTH,
        as_of: AsOf = None,
        include_ended: Annotated[
            bool,
            strawberry.argument(
                description="Every edge it ever had, ended ones included, whatever their "
                "dates; excludes asOf (both: BAD_USER_INPUT)."
            ),
        ] = False,
    ) -> list[Relationship]:
        query = relationships_query(info.context, [], types, direction, as_of, include_ended)
        if self.written_edges is not None:
            rels = touching(self.id, self.written_edges, query)
        else:
            rels = await info.context.loaders.relationships.load((self.id, query))
        return [Relationship.of(r) for r in rels]

    @strawberry.field(
        description="One level down the hierarchy (PART_OF, EMPLOYS, MEMBER_OF by default)."
    )
    async def children(
        self, info: ContextInfo, types: HierarchyTypes = None, as_of: AsOf = None
    ) -> list[Party]:
        if self.kind not in model.parent_kinds(_hierarchy_types(types)):
            return []  # a tree's people: no read, as a peer's tree asks only organizations
        query = children_query(info.context, field_selections(info), types, as_of)
        found = await info.context.loaders.children.load((self.id, query))
        refs = model.PartyRef  # a page of names: no call a child to tell which it is
        return [
            party_ref_of(child) if type(child) is refs else party_of(child) for child, _ in found
        ]

    @strawberry.field(
        description="Every party below this one at any depth, each once at its shortest "
        "depth, ordered by depth; one query per page. Without maxDepth the walk goes to the "
        "server's depth ceiling, and a hierarchy deeper than that is LIMIT_EXCEEDED (on the "
        "last page, or on any when totalCount is read) rather than cut without a word."
    )
    async def descendants(
        self,
        info: ContextInfo,
        types: HierarchyTypes = None,
        max_depth: MaxDepth = None,
        as_of: AsOf = None,
        first: First = None,
        after: After = None,
    ) -> HierarchyConnection:
        context = info.context
        selected = field_selections(info)
        query = descendants_query(context, selected, types, max_depth, as_of, first, after)
        page = await context.loaders.descendants.load((self.id, query))
        # a cursor per row only when edges' cursors are read: the page's end needs the last
        cursors = "cursor" in selected_at(selected, ("edges",))
        last = len(page.rows) - 1
        edges = [
            Edge(
                cursor=encode_cursor(str(row.depth), row.party.id) if cursors or i == last else "",
                node=HierarchyRow.of(row),
            )
            for i, row in enumerate(page.rows)
        ]
        context.cut(page.beyond, max_depth, f"the hierarchy below {self.id}")
        return HierarchyConnection(
            edges=edges, page_info=page_info(edges, page.has_next), total=page.total_count
        )

    @strawberry.field(
        description="The parties above this one, nearest first, up to the roots (or "
        "maxDepth levels up). Without maxDepth, a hierarchy higher than the server's depth "
        "ceiling is LIMIT_EXCEEDED rather than cut without a word."
    )
    async def ancestors(
        self,
        info: ContextInfo,
        types: HierarchyTypes = None,
        max_depth: MaxDepth = None,
        as_of: AsOf = None,
    ) -> list[Party]:
        context = info.context
        depth = context.depth(max_depth)
        query = AncestorsQuery(
            _hierarchy_types(types), depth, as_of or context.now, tell_beyond=max_depth is None
        )
        found = await context.loaders.ancestors.load((self.id, query))
        context.cut(found.beyond, max_depth, f"the hierarchy above {self.id}")
        return [party_of(row.party) for row in found.rows]

    @strawberry.field(
        description="The neighbourhood in any direction: parties within `depth` hops, "
        "nearest first and at most `limit` (this one included), with the edges between them."
    )
    async def network(
        self,
        info: ContextInfo,
        depth: Annotated[
            int,
            strawberry.argument(
                description=f"Hops to walk, any direction, 1 up to the server's --max-depth "
                f"({DEFAULTS.max_depth} by default; more is LIMIT_EXCEEDED)."
            ),
        ] = 2,
        types: RelTypes = None,
        limit: Annotated[
            int,
            strawberry.argument(
                description=f"The most parties to answer, this one included, from 1 up to the "
                f"server's --max-network-size ({DEFAULTS.max_network_size} by default; more is "
                "LIMIT_EXCEEDED); truncated tells when more were in reach."
            ),
        ] = 100,
        as_of: AsOf = None,
    ) -> Network:
        context = info.context
        query = NetworkQuery(
            tuple(dict.fromkeys(types)) if types else tuple(model.RelType),
            context.depth(depth),
            context.network_size(limit),
            as_of or context.now,
        )
        found = await context.loaders.networks.load((self.id, query))
        return Network(
            nodes=[party_of(p) for p in found.parties],
            edges=[Relationship.of(r) for r in found.relationships],
            truncated=found.truncated,
        )

    @strawberry.field(
        description="The users responsible for this party at a date (now); with inherited, "
        "those of the nearest party at or above it that has any (foundOn and distance tell "
        "which), so a department of a client answers the client's account manager."
    )
    async def responsibles(
        self,
        info: ContextInfo,
        as_of: AsOf = None,
        inherited: Annotated[
            bool,
            strawberry.argument(
                description="Look up the default hierarchy (PART_OF, EMPLOYS, MEMBER_OF) "
                "when the party has none of its own: up to maxDepth levels, else to the "
                "server's depth ceiling, where nobody found and parties above is "
                "LIMIT_EXCEEDED. maxDepth needs it (without: BAD_USER_INPUT)."
            ),
        ] = False,
        max_depth: MaxDepth = None,
    ) -> list[Responsibility]:
        if max_depth is not None and not inherited:
            raise BadUserInput("maxDepth bounds an inherited look-up: set inherited")
        rels, distance = await responsibilities(
            info.context, self.id, as_of or info.context.now, inherited, max_depth
        )
        return [Responsibility(relationship=Relationship.of(r), distance=distance) for r in rels]

    @strawberry.field(
        description="Activities with this party, newest first (ties by id). With "
        "includeDescendants, also those of every party below it in the hierarchy as of "
        "`asOf` (now), each once; `source` on each tells which party brought it in. The "
        "roll-up reaches maxDepth levels down; without it, the server's depth ceiling, and a "
        "hierarchy deeper than that is LIMIT_EXCEEDED rather than cut without a word. "
        "`search` keeps the activities with those words; totalCount and countsByType read "
        "the whole timeline, so they cost as much as its activities."
    )
    async def timeline(
        self,
        info: ContextInfo,
        first: First = None,
        after: After = None,
        types: ActivityTypes = None,
        since: Since = None,
        until: Until = None,
        include_descendants: Annotated[
            bool,
            strawberry.argument(
                description="Roll up: also the activities of every party below this one. "
                "hierarchyTypes, asOf and maxDepth shape the roll-up and need it (without: "
                "BAD_USER_INPUT)."
            ),
        ] = False,
        hierarchy_types: HierarchyTypes = None,
        as_of: AsOf = None,
        max_depth: MaxDepth = None,
        search: ActivitySearch = None,
    ) -> TimelineConnection:
        context = info.context
        query = party_timeline_query(
            context,
            field_selections(info),
            first,
            after,
            types,
            since,
            until,
            include_descendants,
            hierarchy_types,
            as_of,
            max_depth,
            search,
        )
        page = await context.loaders.timelines.load((self.id, query))
        context.cut(page.beyond, max_depth, f"the hierarchy below {self.id}")
        return timeline_connection(info, page, query)

    @strawberry.field(
        description="Parties of the same kind, not archived, that may be this one: scoring "
        "at least minScore (0.5), best first (docs/duplicates.md)."
    )
    async def possible_duplicates(
        self, info: ContextInfo, first: First = None, min_score: MinScore = None
    ) -> list[DuplicateCandidate]:
        found = await candidates(info.context, self.id, first, min_score)
        return [DuplicateCandidate.of(m, party_of(p)) for m, p in found]


LEAD_STATUS = "How far it has come as a prospect; null when it is not a lead."


@strawberry.type(description="An organization or organizational unit, at any depth.")
class Organization(Party):
    name: str = strawberry.field(description="Its name, as its display name.")
    level_id: strawberry.ID | None = strawberry.field(
        description="The id of its level (levels); null when not given."
    )
    lead_status: LeadStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=LEAD_STATUS
    )
    opportunities: Connection[Opportunity] = strawberry.field(
        resolver=organization_opportunities, description="Its deals, soonest closing first."
    )

    @strawberry.field(description="Its level in its tree; null when not given.")
    async def level(self, info: ContextInfo) -> Level | None:
        if self.level_id is None:
            return None
        found = await info.context.loaders.levels.load(self.level_id)
        return None if found is None else Level.of(found)

    @strawberry.field(
        description="Its level, when it is one of the levels there were before levels were "
        "data; null otherwise.",
        deprecation_reason="Levels are data now: read level (or levelId).",
    )
    def unit_type(self) -> UnitType | None:
        return model.UnitType(self.level_id) if self.level_id in UNIT_TYPES else None


@strawberry.type(description="A person or body the business deals with.")
class Contact(Party):
    first_name: str | None = strawberry.field(description="Given name; null when not given.")
    last_name: str | None = strawberry.field(description="Family name; null when not given.")
    lead_status: LeadStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=LEAD_STATUS
    )


@strawberry.type(description="Someone who works in contactgraph.")
class User(Party):
    username: str = strawberry.field(
        description="The unique name the user signs in with (the OpenID Connect claim when "
        "signing in that way)."
    )
    contact_id: strawberry.ID | None = strawberry.field(
        description="The id of the contact record of the person behind the user; null when "
        "there is none."
    )

    @strawberry.field(
        description="The roles this user holds; another user's need the ADMIN permission."
    )
    async def grants(self, info: ContextInfo) -> list[Grant]:
        found = await info.context.loaders.grants.load(self.id)
        return [Grant.of(grant) for grant in found or ()]

    @strawberry.field(
        description="This user's agenda (Query.agenda for this user alone): what they "
        "authored, are assigned or attend in the window, in time order, overlaps flagged."
    )
    async def agenda(
        self,
        info: ContextInfo,
        from_: From,
        to: To,
        types: AgendaTypes = None,
        statuses: Statuses = None,
        first: First = None,
        after: After = None,
    ) -> Connection[AgendaEntry]:
        query = agenda_query((), from_, to, types, statuses)
        activities = await info.context.loaders.agendas.load((self.id, query))
        return connection(info, activities, replace(query, people=(self.id,)), first, after)

    @strawberry.field(description="The contact behind contactId; null when there is none.")
    async def contact(self, info: ContextInfo) -> Contact | None:
        if self.contact_id is None:
            return None
        found = await info.context.loaders.parties.load(self.contact_id)
        return party_of(found) if found else None  # type: ignore[return-value]


@strawberry.type(description="A neighbourhood: parties and the edges between them.")
class Network:
    nodes: list[Party] = strawberry.field(
        description="The parties in reach, nearest first, the one asked about first of all."
    )
    edges: list[Relationship] = strawberry.field(description="The edges between those parties.")
    truncated: bool = strawberry.field(description="More parties were in reach than `limit`.")


@strawberry.type(description="A page of parties, with how many there are in all.")
class PartyConnection(CountedConnection[Party]):
    pass


@strawberry.type(description="A party below another: how deep, and the edge from its parent.")
class HierarchyRow:
    party: Party = strawberry.field(description="The party below.")
    depth: int = strawberry.field(
        description="Its shortest distance in levels from the party asked about: 1 for a child."
    )
    parent_id: strawberry.ID = strawberry.field(
        description="The id of its parent on that shortest way down."
    )
    relationship: Relationship = strawberry.field(
        description="The hierarchy edge between it and that parent."
    )

    @classmethod
    def of(cls, row: model.Below) -> HierarchyRow:
        """A row read as its selection asked (TreeReading): what was left out of the read
        is absent here, so a field read anyway is an error, never a wrong value."""
        party = row.party
        return cls(
            party=party_ref_of(party) if type(party) is model.PartyRef else party_of(party),
            depth=row.depth,
            parent_id=None if row.parent_id is None else strawberry.ID(row.parent_id),  # type: ignore[arg-type]
            relationship=Relationship.of(row.relationship) if row.relationship else None,  # type: ignore[arg-type]
        )


@strawberry.type(description="A page of the parties below one, with how many there are in all.")
class HierarchyConnection(CountedConnection[HierarchyRow]):
    pass


def party_of(party: model.Party) -> Party:
    """The GraphQL object for a stored party, by kind. Contact data goes out as the model's
    own value objects: they have the fields of Email, Phone, Address and Fiscal, which
    implement no interface, so GraphQL reads them as they are and none is copied."""
    common = dict(
        id=strawberry.ID(party.id),
        kind=party.kind,
        legal_form=party.legal_form,
        display_name=party.display_name,
        category_id=party.category_id,
        emails=party.emails,
        phones=party.phones,
        addresses=party.addresses,
        fiscal_data=party.fiscal,
        tags=list(party.tags),
        external_ids=party.external_ids,
        version=party.version,
        created_at=party.created_at,
        updated_at=party.updated_at,
        archived_at=party.archived_at,
        merged_into=None if party.merged_into is None else strawberry.ID(party.merged_into),
        held_attributes=party.attributes,
    )
    if party.kind is model.PartyKind.ORGANIZATION:
        level = None if party.unit_type is None else strawberry.ID(party.unit_type)
        return Organization(
            name=party.name or "", level_id=level, lead_status=party.lead_status, **common
        )
    if party.kind is model.PartyKind.CONTACT:
        return Contact(
            first_name=party.first_name,
            last_name=party.last_name,
            lead_status=party.lead_status,
            **common,
        )
    return User(username=party.username or "", contact_id=party.contact_id, **common)


# all a selection may read of a party to be given one from a PartyRef: what a PartyRef
# holds, and the fields whose resolvers read the party's id alone (a tree's levels ask
# for names and the level below: those parties need not be read whole)
_REF_FIELDS = frozenset(
    {
        "id",
        "kind",
        "displayName",
        "__typename",
        "children",
        "descendants",
        "ancestors",
        "network",
        "responsibles",
        "timeline",
    }
)
# by the kinds' values: an enum member hashes by a Python method, once for each of a
# page's hundreds of rows
_KIND_TYPES: dict[str, type[Party]] = {
    model.PartyKind.ORGANIZATION.value: Organization,
    model.PartyKind.CONTACT.value: Contact,
    model.PartyKind.USER.value: User,
}


def party_ref_of(ref: model.PartyRef) -> Party:
    """The GraphQL object of a party read by id, kind and name only; its other fields are unset
    (reading one fails), which is why only selections within _REF_FIELDS get one."""
    party = object.__new__(_KIND_TYPES[ref.kind._value_])
    party.id = ref.id  # an ID is a str: no NewType call a row
    party.kind = ref.kind
    party.display_name = ref.display_name
    return party


def node_of(node: model.Party | model.Activity | model.Relationship) -> Node:
    if isinstance(node, model.Party):
        return party_of(node)
    if isinstance(node, model.Activity):
        return Activity.of(node)
    return Relationship.of(node)
