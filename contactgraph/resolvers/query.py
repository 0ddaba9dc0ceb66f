"""The Query root: lookups by id, the filtered party list, categories."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import externalids, model
from ..graph.cursors import check_instant_cursor, encode_cursor
from ..graph.duplicates import pair_cursor
from ..graph.lookups import contact_person
from ..graph.times import format_instant
from ..schema.activities import Activity, check_window
from ..schema.carried_reads import party_by_id
from ..schema.common_arguments import (
    DEFAULTS,
    ActivitySearch,
    ActivityTypes,
    After,
    AsOf,
    First,
    MaxDepth,
    MinScore,
    PartyId,
    RelTypes,
    Since,
    Until,
)
from ..schema.duplicates import DuplicatePair
from ..schema.enums import PartyKind, Toward
from ..schema.history import Change, audit_log
from ..schema.inputs import PartyFilter
from ..schema.levels import Level
from ..schema.merging import survivor_of
from ..schema.pages import Connection, Edge, PageInfo, page_info
from ..schema.types import (
    Category,
    ContactPerson,
    ContextInfo,
    Node,
    Party,
    PartyConnection,
    Path,
    Relationship,
    node_of,
    party_of,
)
from .agenda import AgendaRoot
from .categories import attribute_tests
from .context import field_selections, selects
from .duplicates import duplicate_query
from .identity import IdentityQuery
from .opportunities import OpportunityQuery, shown
from .pipelines import PipelineQuery
from .tasks import TasksRoot
from .worklist import WorklistRoot


@strawberry.type(
    description="What a client may read, signed in. Reading the graph needs the READ "
    "permission, and a viewer whose READ is scoped reads only the parties inside its scope "
    "(others are null or left out); fields that need more, or less, say so."
)
class Query(IdentityQuery, AgendaRoot, TasksRoot, WorklistRoot, PipelineQuery, OpportunityQuery):
    audit_log: Connection[Change] = strawberry.field(
        resolver=audit_log, description="Every change, newest first; for admins."
    )

    @strawberry.field(description="Any object by id; null when there is none.")
    async def node(
        self,
        info: ContextInfo,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The id of a party, relationship, activity or opportunity; a "
                "merged party's answers its survivor."
            ),
        ],
    ) -> Node | None:
        found = (await info.context.store.get_nodes([id])).get(id)
        if isinstance(found, model.Party):
            found = await survivor_of(info, found)
        if found is None:  # opportunities are kept apart from the graph: asked second
            deals = list((await info.context.store.get_opportunities([id])).values())
            return (await shown(info, deals))[0] if deals else None
        return node_of(found)

    @strawberry.field(description="A party by id; null when there is none.")
    async def party(self, info: ContextInfo, id: PartyId) -> Party | None:
        found = await party_by_id(info, id)
        return party_of(await survivor_of(info, found)) if found else None

    @strawberry.field(
        description="The party not archived holding an external id; null when there is none "
        "(or the viewer may not read it)."
    )
    async def party_by_external_id(
        self,
        info: ContextInfo,
        source: Annotated[
            str, strawberry.argument(description="The other system's name, as stored or not.")
        ],
        key: Annotated[str, strawberry.argument(description="The party's id there.")],
    ) -> Party | None:
        wanted = model.ExternalId(source, key)
        checked = externalids.normalised([wanted])[0]
        found = (await info.context.store.parties_by_external_id([checked]))[checked]
        party = await info.context.loaders.parties.load(found[0]) if found else None
        return None if party is None else party_of(party)

    @strawberry.field(description="Parties in creation order, filtered and full-text searched.")
    async def parties(
        self,
        info: ContextInfo,
        filter: Annotated[
            PartyFilter | None,
            strawberry.argument(description="Which parties; all but archived ones when not given."),
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description=f"Words that every party listed has, each as the start of a "
                f"word, ignoring case and accents: in its names, username, e-mail addresses "
                f"and phone numbers (and fiscal codes, for a viewer with FISCAL everywhere); "
                f"at most {DEFAULTS.max_search_terms} words of "
                f"{DEFAULTS.max_search_term_length} characters by default (the server's "
                "--max-search-terms and --max-search-term-length)."
            ),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> PartyConnection:
        given = filter or PartyFilter()
        where = model.PartyFilter(
            kinds=tuple(given.kinds or ()),
            category_ids=tuple(given.category_ids or ()),
            legal_forms=tuple(given.legal_forms or ()),
            tags=tuple(given.tags or ()),
            search=search,
            include_archived=given.include_archived,
            attributes=await attribute_tests(info, given.attributes),
            lead_statuses=tuple(given.lead_statuses or ()),
        )
        count = selects(field_selections(info), "totalCount")
        page = await info.context.store.list_parties(
            where, info.context.page(first, after), count=count
        )
        edges = [Edge(cursor=encode_cursor(p.id), node=party_of(p)) for p in page.parties]
        return PartyConnection(
            edges=edges, page_info=page_info(edges, page.has_next), total=page.total_count
        )

    @strawberry.field(
        description="Activities across the graph, newest first (ties by id): searched, of "
        "some types, in a window of time, about some parties. A viewer whose READ is scoped "
        "finds only activities with a subject inside its scope."
    )
    async def activities(
        self,
        info: ContextInfo,
        search: ActivitySearch = None,
        types: ActivityTypes = None,
        since: Since = None,
        until: Until = None,
        subject_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Only activities about any of these parties (those the viewer "
                "may read); all when not given."
            ),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Activity]:
        context = info.context
        check_window(since, until)
        if after is not None:
            check_instant_cursor(after)
        page = await context.store.activities(
            model.ActivityQuery(
                page=context.page(first, after),
                search=search,
                types=tuple(dict.fromkeys(types or ())),
                since=since,
                until=until,
                subject_ids=tuple(dict.fromkeys(subject_ids or ())),
            )
        )
        edges = [
            Edge(cursor=encode_cursor(format_instant(a.occurred_at), a.id), node=Activity.of(a))
            for a in page.activities
        ]
        return Connection(edges=edges, page_info=page_info(edges, page.has_next))

    @strawberry.field(
        description="A shortest path between two parties ignoring direction (all types by "
        "default); null when none is within maxDepth."
    )
    async def path(
        self,
        info: ContextInfo,
        from_id: Annotated[strawberry.ID, strawberry.argument(description="The start.")],
        to_id: Annotated[strawberry.ID, strawberry.argument(description="The goal.")],
        types: RelTypes = None,
        max_depth: MaxDepth = None,
        as_of: AsOf = None,
    ) -> Path | None:
        context = info.context
        found = await context.store.shortest_path(
            from_id,
            to_id,
            tuple(dict.fromkeys(types)) if types else tuple(model.RelType),
            context.depth(max_depth),
            as_of or context.now,
        )
        if found is None:
            return None
        return Path(
            nodes=[party_of(p) for p in found.parties],
            relationships=[Relationship.of(r) for r in found.relationships],
        )

    @strawberry.field(
        description="The nearest party holding `role` at the organization or, failing that, "
        "at the nearest unit above it (up to maxDepth levels up), below it or either, as "
        "`direction` says; null when nobody holds it. Ties go by the holder's name, then "
        "above before below. Without maxDepth, nobody within the server's depth ceiling and "
        "units past it is LIMIT_EXCEEDED: the answer is not known."
    )
    async def contact_person(
        self,
        info: ContextInfo,
        organization_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The organization or unit to ask at."),
        ],
        role: Annotated[
            str,
            strawberry.argument(
                description="The role on the EMPLOYS or MEMBER_OF edge, compared without "
                "case; not blank."
            ),
        ],
        as_of: AsOf = None,
        max_depth: MaxDepth = None,
        direction: Annotated[
            Toward,
            strawberry.argument(
                description="Search UP (the default), DOWN, or BOTH ways from the unit; a "
                "unit reached several ways counts at its shortest distance."
            ),
        ] = Toward.UP,
    ) -> ContactPerson | None:
        context = info.context
        match = await contact_person(
            context.store,
            organization_id,
            role,
            as_of or context.now,
            context.depth(max_depth),
            ceiling=max_depth is None,
            toward=direction,
        )
        if match is None:
            return None
        return ContactPerson(
            person=party_of(match.person),
            organization=party_of(match.organization),
            distance=match.distance,
            below=match.below,
        )

    @strawberry.field(
        description="Pairs of parties (not archived, of one kind) that may be one, for a "
        "data-quality screen: scoring at least minScore (0.5), ordered by the first party's "
        "id, then score down (docs/duplicates.md). A page examines a bounded number of "
        "parties: it may hold fewer pairs than `first`, even none, with hasNextPage true."
    )
    async def duplicate_candidates(
        self,
        info: ContextInfo,
        kinds: Annotated[
            list[PartyKind] | None,
            strawberry.argument(description="Only pairs of these kinds; all when not given."),
        ] = None,
        min_score: MinScore = None,
        first: First = None,
        after: After = None,
    ) -> Connection[DuplicatePair]:
        context = info.context
        query = duplicate_query(context, first, min_score, kinds or ())
        page = await context.store.duplicate_pairs(query, after)
        found = await context.loaders.parties.load_many(
            [i for m in page.pairs for i in (m.party_id, m.other_id)]
        )
        ends = iter(found)
        edges = [
            Edge(
                cursor=pair_cursor(m),
                node=DuplicatePair.of(m, party_of(one), party_of(other)),
            )
            for m in page.pairs
            for one, other in [(next(ends), next(ends))]
            if one is not None and other is not None
        ]
        return Connection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor)
        )

    @strawberry.field(description="Every category, by name; archived ones too.")
    async def categories(self, info: ContextInfo) -> list[Category]:
        found = await info.context.store.get_categories(None)
        return [Category.of(c) for c in found.values()]

    @strawberry.field(description="Every level organizations have, highest first (by rank).")
    async def levels(self, info: ContextInfo) -> list[Level]:
        return [Level.of(level) for level in (await info.context.store.levels()).values()]

    @strawberry.field(description="A category by id; null when there is none.")
    async def category(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The category's id.")],
    ) -> Category | None:
        found = await info.context.loaders.categories.load(str(id))
        return None if found is None else Category.of(found)
