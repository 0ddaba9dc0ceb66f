"""The GraphQL object types. Field resolvers only read through the request's loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from ..graph import model
from ..graph.cursors import check_instant_cursor, encode_cursor
from ..graph.errors import BadUserInput, Forbidden
from ..graph.identity import Permission
from ..graph.model import DEFAULT_HIERARCHY_TYPES, HIERARCHY_TYPES, Rollup, TimelineQuery
from ..graph.times import format_instant
from ..resolvers.context import Context, field_selections, selected_at, selects
from ..resolvers.duplicates import candidates
from ..resolvers.loaders import (
    AncestorsQuery,
    ChildrenQuery,
    DescendantsQuery,
    NetworkQuery,
    RelationshipQuery,
)
from .duplicates import DuplicateCandidate
from .enums import ActivityType, Direction, LegalForm, PartyKind, RelType, UnitType
from .history import Change, node_history, party_snapshot
from .identity import Grant
from .merging import merged_from
from .pages import Connection, CountedConnection, Edge, page_info

ContextInfo = Info[Context, None]
T = TypeVar("T")


@strawberry.interface(description="An object with a stable, server-made id.")
class Node:
    id: strawberry.ID


@strawberry.type
class Email:
    address: str
    label: str | None


@strawberry.type
class Phone:
    number: str = strawberry.field(description="As entered, for display.")
    label: str | None
    e164: str | None = strawberry.field(
        description="The number in E.164 (+436641234567), how it is compared; null for a "
        "number stored before numbers were checked."
    )


@strawberry.type
class Address:
    label: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    region: str | None
    country: str | None


@strawberry.type(description="What invoicing needs; any party may carry it.")
class Fiscal:
    vat_number: str | None = strawberry.field(
        description="Compact, with its country prefix: ATU13585627, DE136695976."
    )
    tax_code: str | None = strawberry.field(
        description="Compact, as its country's rules give it: RSSMRA85T10A562S."
    )
    country: str | None = strawberry.field(
        description="ISO 3166 alpha-2 code of the country whose rules the tax code follows."
    )


@strawberry.type(description="A classification of parties; its rules are checked on write.")
class Category:
    id: strawberry.ID
    name: str
    description: str
    legal_forms: list[LegalForm]
    unit_types: list[UnitType]

    @classmethod
    def of(cls, category: model.Category) -> Category:
        return cls(
            id=strawberry.ID(category.id),
            name=category.name,
            description=category.description,
            legal_forms=list(category.legal_forms),
            unit_types=list(category.unit_types),
        )


def _hierarchy_types(types: list[model.RelType] | None) -> tuple[model.RelType, ...]:
    chosen = tuple(dict.fromkeys(types)) if types else DEFAULT_HIERARCHY_TYPES
    for rel_type in chosen:
        if rel_type not in HIERARCHY_TYPES:
            raise BadUserInput(f"{rel_type.value} is not a hierarchy relationship")
    return chosen


@strawberry.interface(description="An organization, contact or user: one registry for all.")
class Party(Node):
    kind: PartyKind
    legal_form: LegalForm
    display_name: str
    category_id: strawberry.ID | None
    emails: list[Email]
    phones: list[Phone]
    addresses: list[Address]
    fiscal_data: strawberry.Private[Fiscal | None]
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
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

    @strawberry.field
    async def category(self, info: ContextInfo) -> Category | None:
        if self.category_id is None:
            return None
        found = await info.context.loaders.categories.load(self.category_id)
        return Category.of(found) if found else None

    @strawberry.field(
        description="Edges touching this party: current ones by default, as of `asOf` when "
        "given, the whole history with includeEnded."
    )
    async def relationships(
        self,
        info: ContextInfo,
        types: list[RelType] | None = None,
        direction: Direction = model.Direction.BOTH,
        as_of: datetime | None = None,
        include_ended: bool = False,
    ) -> list[Relationship]:
        if include_ended and as_of is not None:
            raise BadUserInput("asOf and includeEnded exclude each other")
        query = RelationshipQuery(
            types=tuple(dict.fromkeys(types)) if types else tuple(model.RelType),
            direction=direction,
            as_of=None if include_ended else (as_of or info.context.now),
        )
        rels = await info.context.loaders.relationships.load((self.id, query))
        return [Relationship.of(r) for r in rels]

    @strawberry.field(
        description="One level down the hierarchy (PART_OF, EMPLOYS, MEMBER_OF by default)."
    )
    async def children(
        self,
        info: ContextInfo,
        types: list[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Party]:
        selected = selected_at(field_selections(info), ())
        reading = model.TreeReading(parties=bool(selected - _REF_FIELDS), edges=False)
        query = ChildrenQuery(_hierarchy_types(types), as_of or info.context.now, reading)
        found = await info.context.loaders.children.load((self.id, query))
        return [_party_read(child) for child, _ in found]

    @strawberry.field(
        description="Every party below this one at any depth, each once at its shortest "
        "depth, ordered by depth; one query per page. Without maxDepth the walk goes to the "
        "server's depth ceiling, and a hierarchy deeper than that is LIMIT_EXCEEDED (on the "
        "last page, or on any when totalCount is read) rather than cut without a word."
    )
    async def descendants(
        self,
        info: ContextInfo,
        types: list[RelType] | None = None,
        max_depth: int | None = None,
        as_of: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> HierarchyConnection:
        context = info.context
        selected = field_selections(info)
        query = DescendantsQuery(
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
        types: list[RelType] | None = None,
        max_depth: int | None = None,
        as_of: datetime | None = None,
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
        depth: int = 2,
        types: list[RelType] | None = None,
        limit: int = 100,
        as_of: datetime | None = None,
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

    @strawberry.field(description="The users responsible for this party at a date (now).")
    async def responsibles(
        self, info: ContextInfo, as_of: datetime | None = None
    ) -> list[Responsibility]:
        query = RelationshipQuery(
            (model.RelType.RESPONSIBLE_FOR,), model.Direction.INCOMING, as_of or info.context.now
        )
        rels = await info.context.loaders.relationships.load((self.id, query))
        return [Responsibility(relationship=Relationship.of(r)) for r in rels]

    @strawberry.field(
        description="Activities with this party, newest first (ties by id). With "
        "includeDescendants, also those of every party below it in the hierarchy as of "
        "`asOf` (now), each once; `source` on each tells which party brought it in. The "
        "roll-up reaches maxDepth levels down; without it, the server's depth ceiling, and a "
        "hierarchy deeper than that is LIMIT_EXCEEDED rather than cut without a word."
    )
    async def timeline(
        self,
        info: ContextInfo,
        first: int | None = None,
        after: str | None = None,
        types: list[ActivityType] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_descendants: bool = False,
        hierarchy_types: list[RelType] | None = None,
        as_of: datetime | None = None,
        max_depth: int | None = None,
    ) -> Connection[Activity]:
        context = info.context
        if since is not None and until is not None and until <= since:
            raise BadUserInput("until must be later than since")
        if not include_descendants and (hierarchy_types or as_of or max_depth is not None):
            raise BadUserInput(
                "hierarchyTypes, asOf and maxDepth choose a roll-up: set includeDescendants"
            )
        if after is not None:
            check_instant_cursor(after)
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
        query = TimelineQuery(
            page=context.page(first, after),
            types=tuple(dict.fromkeys(types or ())),
            since=since,
            until=until,
            rollup=rollup,
        )
        page = await context.loaders.timelines.load((self.id, query))
        context.cut(page.beyond, max_depth, f"the hierarchy below {self.id}")
        edges = [
            Edge(
                cursor=encode_cursor(format_instant(e.activity.occurred_at), e.activity.id),
                node=Activity.of(e.activity, e.source_id if rollup else None),
            )
            for e in page.entries
        ]
        return Connection(edges=edges, page_info=page_info(edges, page.has_next))

    @strawberry.field(
        description="Parties of the same kind, not archived, that may be this one: scoring "
        "at least minScore (0.5), best first (docs/duplicates.md)."
    )
    async def possible_duplicates(
        self, info: ContextInfo, first: int | None = None, min_score: float | None = None
    ) -> list[DuplicateCandidate]:
        found = await candidates(info.context, self.id, first, min_score)
        return [DuplicateCandidate.of(m, party_of(p)) for m, p in found]


@strawberry.type(description="An organization or organizational unit, at any depth.")
class Organization(Party):
    name: str
    unit_type: UnitType | None


@strawberry.type(description="A person or body the business deals with.")
class Contact(Party):
    first_name: str | None
    last_name: str | None


@strawberry.type(description="Someone who works in contactgraph.")
class User(Party):
    username: str
    contact_id: strawberry.ID | None

    @strawberry.field(
        description="The roles this user holds; another user's need the ADMIN permission."
    )
    async def grants(self, info: ContextInfo) -> list[Grant]:
        found = await info.context.loaders.grants.load(self.id)
        return [Grant.of(grant) for grant in found or ()]

    @strawberry.field
    async def contact(self, info: ContextInfo) -> Contact | None:
        if self.contact_id is None:
            return None
        found = await info.context.loaders.parties.load(self.contact_id)
        return party_of(found) if found else None  # type: ignore[return-value]


async def _load_party(info: ContextInfo, party_id: str) -> Party:
    found = await info.context.loaders.parties.load(party_id)
    if found is None:
        raise LookupError(f"party {party_id} vanished")
    return party_of(found)


async def _load_user(info: ContextInfo, user_id: str) -> User:
    """An author, even outside a scoped viewer's scope (one more batched read for those);
    an unscoped one's come with the parties around them."""
    context = info.context
    scoped = Permission.READ in context.viewer.scoped
    found = await (context.loaders.users if scoped else context.loaders.parties).load(user_id)
    if found is None:
        raise LookupError(f"user {user_id} vanished")
    return party_of(found)  # type: ignore[return-value]


@strawberry.type(description="A typed, dated edge; ended edges stay for history.")
class Relationship(Node):
    type: RelType
    from_id: strawberry.ID
    to_id: strawberry.ID
    role: str | None
    since: datetime
    until: datetime | None
    properties: JSON
    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="What was done to it, newest first."
    )

    @strawberry.field(name="from")
    async def from_(self, info: ContextInfo) -> Party:
        return await _load_party(info, self.from_id)

    @strawberry.field
    async def to(self, info: ContextInfo) -> Party:
        return await _load_party(info, self.to_id)

    @classmethod
    def of(cls, rel: model.Relationship) -> Relationship:
        return cls(
            id=strawberry.ID(rel.id),
            type=rel.type,
            from_id=strawberry.ID(rel.from_id),
            to_id=strawberry.ID(rel.to_id),
            role=rel.role,
            since=rel.since,
            until=rel.until,
            properties=rel.properties,
        )


@strawberry.type(description="Something that happened with one or more parties.")
class Activity(Node):
    type: ActivityType
    occurred_at: datetime
    summary: str
    body: str | None
    author_id: strawberry.ID
    recorded_by_id: strawberry.ID | None = strawberry.field(
        description="The user who recorded it: the author, unless an admin recorded it for "
        "them. Null for seeded activities and those recorded before sign-in existed."
    )
    subject_ids: list[strawberry.ID]
    history: Connection[Change] = strawberry.field(
        resolver=node_history,
        description="How it was recorded, and what was done to it, newest first.",
    )
    source_id: strawberry.ID | None = strawberry.field(
        description="In a roll-up timeline or feed, the subject that brought this activity "
        "in: the party asked about when it is a subject, else the first subject below it. "
        "Null elsewhere."
    )

    @strawberry.field(description="The party behind sourceId.")
    async def source(self, info: ContextInfo) -> Party | None:
        return None if self.source_id is None else await _load_party(info, self.source_id)

    @strawberry.field
    async def author(self, info: ContextInfo) -> User:
        return await _load_user(info, self.author_id)

    @strawberry.field(description="The user behind recordedById.")
    async def recorded_by(self, info: ContextInfo) -> User | None:
        if self.recorded_by_id is None:
            return None
        return await _load_user(info, self.recorded_by_id)

    @strawberry.field
    async def subjects(self, info: ContextInfo) -> list[Party]:
        found = await info.context.loaders.parties.load_many(self.subject_ids)
        return [party_of(p) for p in found if p is not None]

    @classmethod
    def of(cls, activity: model.Activity, source_id: str | None = None) -> Activity:
        return cls(
            id=strawberry.ID(activity.id),
            type=activity.type,
            occurred_at=activity.occurred_at,
            summary=activity.summary,
            body=activity.body,
            author_id=strawberry.ID(activity.author_id),
            recorded_by_id=None
            if activity.recorded_by_id is None
            else strawberry.ID(activity.recorded_by_id),
            subject_ids=[strawberry.ID(s) for s in activity.subject_ids],
            source_id=None if source_id is None else strawberry.ID(source_id),
        )


@strawberry.type(description="A neighbourhood: parties and the edges between them.")
class Network:
    nodes: list[Party]
    edges: list[Relationship]
    truncated: bool = strawberry.field(description="More parties were in reach than `limit`.")


@strawberry.type(description="A shortest path: nodes from start to goal, edges between them.")
class Path:
    nodes: list[Party]
    relationships: list[Relationship]

    @strawberry.field(description="How many edges the path has.")
    def length(self) -> int:
        return len(self.relationships)


@strawberry.type(description="A user responsible for a party, and since when.")
class Responsibility:
    relationship: Relationship

    @strawberry.field
    async def user(self, info: ContextInfo) -> User:
        return await _load_party(info, self.relationship.from_id)  # type: ignore[return-value]


@strawberry.type(description="Who to ask at a unit: the nearest holder of a role at or above it.")
class ContactPerson:
    person: Party
    organization: Party
    distance: int = strawberry.field(description="Levels walked up from the unit asked about.")


@strawberry.type
class PartyConnection(CountedConnection[Party]):
    pass


@strawberry.type(description="A party below another: how deep, and the edge from its parent.")
class HierarchyRow:
    party: Party
    depth: int
    parent_id: strawberry.ID
    relationship: Relationship

    @classmethod
    def of(cls, row: model.Below) -> HierarchyRow:
        """A row read as its selection asked (TreeReading): what was left out of the read
        is absent here, so a field read anyway is an error, never a wrong value."""
        return cls(
            party=_party_read(row.party),
            depth=row.depth,
            parent_id=None if row.parent_id is None else strawberry.ID(row.parent_id),  # type: ignore[arg-type]
            relationship=Relationship.of(row.relationship) if row.relationship else None,  # type: ignore[arg-type]
        )


@strawberry.type
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
        version=party.version,
        created_at=party.created_at,
        updated_at=party.updated_at,
        archived_at=party.archived_at,
        merged_into=None if party.merged_into is None else strawberry.ID(party.merged_into),
    )
    if party.kind is model.PartyKind.ORGANIZATION:
        return Organization(name=party.name or "", unit_type=party.unit_type, **common)
    if party.kind is model.PartyKind.CONTACT:
        return Contact(first_name=party.first_name, last_name=party.last_name, **common)
    return User(username=party.username or "", contact_id=party.contact_id, **common)


# what a PartyRef holds, and so all a selection may read of a party to be given one
_REF_FIELDS = frozenset({"id", "kind", "displayName", "__typename"})
_KIND_TYPES: dict[model.PartyKind, type[Party]] = {
    model.PartyKind.ORGANIZATION: Organization,
    model.PartyKind.CONTACT: Contact,
    model.PartyKind.USER: User,
}


def party_ref_of(ref: model.PartyRef) -> Party:
    """The GraphQL object of a party read by id, kind and name only; its other fields are unset
    (reading one fails), which is why only selections within _REF_FIELDS get one."""
    party = object.__new__(_KIND_TYPES[ref.kind])
    party.id = strawberry.ID(ref.id)
    party.kind = ref.kind
    party.display_name = ref.display_name
    return party


def _party_read(party: model.Party | model.PartyRef) -> Party:
    return party_of(party) if isinstance(party, model.Party) else party_ref_of(party)


def node_of(node: model.Party | model.Activity | model.Relationship) -> Node:
    if isinstance(node, model.Party):
        return party_of(node)
    if isinstance(node, model.Activity):
        return Activity.of(node)
    return Relationship.of(node)
