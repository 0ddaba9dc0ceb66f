"""The store as one viewer may use it: every permission check in one place.

Resolvers reach the store only through this guard, so a new resolver cannot
forget a check: reads need READ, writes WRITE; users, roles and other people's
tokens need ADMIN; fiscal data needs FISCAL to be written. A refused call raises
before the store is touched, so nothing is written. A port method not classified
here is not reachable from a request at all.

A permission held only through scoped grants reaches only its scope: reads go to
the store's scoped view (the store tests the scope inside each query), and a write
first reads the parties it touches through the write scope, one round trip more for
scoped writers only. A party outside is FORBIDDEN to write, the same answer as for
an id that does not exist, so a refusal does not tell which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from typing import Any

from ..graph import deal_links, schedules
from ..graph.duplicates import DuplicateQuery, Match, PairPage
from ..graph.errors import Forbidden, Unauthenticated
from ..graph.events import ActivityRead
from ..graph.history import PRIVATE_KINDS, Actor, AuditQuery, ChangeKind, ChangePage
from ..graph.identity import ApiToken, Grant, Permission, Role, ScopeKind
from ..graph.levels import Level
from ..graph.merging import FieldChoice, MergePlan
from ..graph.model import (
    Activity,
    Batch,
    Category,
    Page,
    Party,
    PartyFilter,
    PartyKind,
    PartyPage,
    Relationship,
)
from ..graph.opportunities import Opportunity
from ..graph.pipelines import Pipeline
from ..graph.store import GraphStore
from ..graph.unmerging import UnmergePlan
from .viewer import Viewer

READS = frozenset(
    {
        "get_nodes",
        "get_parties",
        "get_categories",
        "levels",
        "pipelines",
        "get_opportunities",
        "opportunity_timelines",
        "list_opportunities",
        "opportunities_under",
        "opportunity_figures",
        "relationships",
        "role_holders",
        "children",
        "descendants",
        "ancestors",
        "neighborhood",
        "shortest_path",
        "timelines",
        "activities",
        "agenda",
        "tasks",
        "parties_by_email",
        "parties_by_external_id",
        "snapshots",
        "process_steps",
        "worklist",
    }
)


class GuardedStore:
    def __init__(
        self,
        store: GraphStore,
        viewer: Viewer | None,
        now: datetime | None,
        request_id: str | None = None,
    ) -> None:
        self._store = store
        self._viewer = viewer
        # when a request's reads take their scopes: its now, which their asOf defaults to;
        # None (a socket, which lives on) takes each read's own now
        self._now = now
        self._request_id = request_id

    @cached_property
    def _writer(self) -> GraphStore:
        """The store as the viewer writes to it: every write goes in the history as the
        viewer's, in this request; made at the first write, since most requests only read."""
        return self._store.acting(
            Actor(self._viewer.id if self._viewer else None, self._request_id)
        )

    @property
    def viewer(self) -> Viewer:
        if self._viewer is None:
            raise Unauthenticated("sign in with Authorization: Bearer TOKEN")
        return self._viewer

    def _within(
        self, permission: Permission, action: str, now: datetime | None = None
    ) -> GraphStore | None:
        """The store as far as the permission reaches, as of `now` (the store's own now
        when None); None when it reaches everywhere."""
        scope = self.viewer.scope(permission, action)
        return None if scope is None else self._store.scoped(replace(scope, at=now))

    def _readable(self) -> GraphStore:
        return self._within(Permission.READ, "reading the graph", self._now) or self._store

    def __getattr__(self, name: str) -> Any:
        """A read, checked when called; made once per guard and kept as its attribute."""
        if name not in READS:
            raise AttributeError(name)

        async def checked(*args: Any, **kwargs: Any) -> Any:
            return await getattr(self._readable(), name)(*args, **kwargs)

        setattr(self, name, checked)
        return checked

    async def list_parties(self, where: PartyFilter, page: Page, count: bool) -> PartyPage:
        """Search matches fiscal codes only for a viewer who may read them everywhere."""
        fiscal = self.viewer.can(Permission.FISCAL)
        return await self._readable().list_parties(
            replace(where, search_fiscal=fiscal), page, count
        )

    def _judged(self, query: DuplicateQuery) -> DuplicateQuery:
        """Shared VAT numbers and tax codes count only for a viewer who may read them
        everywhere: the signals, and the score they raise, would tell the codes."""
        return replace(query, fiscal=self.viewer.can(Permission.FISCAL))

    async def possible_duplicates(
        self, party_ids: Sequence[str], query: DuplicateQuery
    ) -> dict[str, list[Match]]:
        return await self._readable().possible_duplicates(party_ids, self._judged(query))

    async def duplicate_pairs(self, query: DuplicateQuery, after: str | None) -> PairPage:
        return await self._readable().duplicate_pairs(self._judged(query), after)

    async def duplicates_of(self, party: Party, query: DuplicateQuery) -> list[Match]:
        """Asked before a create: the candidates a viewer who may write somewhere reads."""
        self.viewer.scope(Permission.WRITE, "changing the graph")
        return await self._readable().duplicates_of(party, self._judged(query))

    async def users(self, ids: Sequence[str]) -> dict[str, Party]:
        """Users by id wherever they are: who wrote what is part of each record a viewer
        may read, so an author outside a scope is still named."""
        self.viewer.scope(Permission.READ, "reading the graph")
        found = await self._store.get_parties(ids)
        return {i: p for i, p in found.items() if p.kind is PartyKind.USER}

    async def fiscal_parties(self, ids: Sequence[str]) -> dict[str, Party]:
        """Those of the parties whose fiscal data the viewer may read: inside where they
        read (an author named outside it keeps its fiscal data) and where FISCAL reaches."""
        within = self._within(Permission.FISCAL, "reading fiscal data", self._now)
        found = await self._readable().get_parties(ids)
        if within is not None:
            found = await within.get_parties(list(found))
        return found

    # -- history -------------------------------------------------------------

    async def history(
        self, subject_ids: Sequence[str], page: Page, hidden: frozenset[ChangeKind] = frozenset()
    ) -> dict[str, ChangePage]:
        """A node's history is read where the node is; the entries about a user's roles and
        tokens only by that user and by admins. Resolvers ask only for nodes they read."""
        viewer = self.viewer
        read = self._within(Permission.READ, "reading the graph", self._now)
        if read is not None:
            _inside(await read.get_nodes(subject_ids), subject_ids, "what you may read")
        if viewer.can(Permission.ADMIN):
            return await self._store.history(subject_ids, page, hidden)
        own = [i for i in subject_ids if i == viewer.id]
        others = [i for i in subject_ids if i != viewer.id]
        found: dict[str, ChangePage] = {}
        if own:
            found |= await self._store.history(own, page, hidden)
        if others:
            found |= await self._store.history(others, page, hidden | PRIVATE_KINDS)
        return found if read is None else await _kept_inside(read, found)

    async def merged_from(self, party_ids: Sequence[str]) -> dict[str, list[str]]:
        """Tombstones keep no edges, so they lie outside every scope: a scoped reader is
        told of none, as node(id) of one answers it nothing."""
        if self._within(Permission.READ, "reading the graph", self._now) is not None:
            return {}
        return await self._store.merged_from(party_ids)

    async def audit_log(self, query: AuditQuery, page: Page) -> ChangePage:
        self.viewer.require(Permission.ADMIN, "reading the audit log")
        return await self._store.audit_log(query, page)

    # -- parties, relationships, activities ---------------------------------

    async def _may_write(
        self, touched: Sequence[str] = (), changed: str | None = None, fiscal: bool = False
    ) -> Viewer:
        """Check WRITE where the parties touched (and the one changed) are, FISCAL where
        fiscal data changes, and ADMIN for changing a user other than oneself. Parties
        are read only when the answer depends on them."""
        viewer = self.viewer
        ids = [*touched, *([changed] if changed else [])]
        write = self._within(Permission.WRITE, "changing the graph")
        reached: Mapping[str, Party] = {}
        if write is not None:
            reached = await write.get_parties(ids)
            _inside(reached, ids, "where you may write")
        if fiscal:
            within = self._within(Permission.FISCAL, "writing fiscal data")
            if within is not None and changed:
                _inside(await within.get_parties([changed]), [changed], "your fiscal scope")
        if changed and not viewer.can(Permission.ADMIN):
            if write is None:
                reached = await self._store.get_parties([changed])
            party = reached.get(changed)
            if party is not None and party.kind is PartyKind.USER and party.id != viewer.id:
                viewer.require(Permission.ADMIN, "changing a user")
        return viewer

    async def create_party(self, party: Party) -> Party:
        viewer = await self._may_write(fiscal=party.fiscal is not None)
        if party.kind is PartyKind.USER:
            viewer.require(Permission.ADMIN, "creating a user")
        return await self._writer.create_party(party)

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        await self._may_write(changed=party_id, fiscal="fiscal" in changes)
        return await self._writer.update_party(party_id, changes, expected_version, at)

    async def archive_party(self, party_id: str, at: datetime, archive: bool = True) -> Party:
        await self._may_write(changed=party_id)
        return await self._writer.archive_party(party_id, at, archive)

    async def create_filed(
        self,
        party: Party,
        edges: Sequence[Relationship],
        activities: Sequence[Activity] = (),
    ) -> Party:
        """A party with its edges with existing parties (the one that files it under a
        parent among them) and activities the viewer records with it, in one write that
        starts and closes process runs as those writes one after another would: inside a
        write scope every other party named must be inside (how a scoped editor adds a
        party to its scope)."""
        others = [end for e in edges for end in (e.from_id, e.to_id) if end != party.id]
        others += [s for a in activities for s in a.subject_ids if s != party.id]
        await self._may_write(others, fiscal=party.fiscal is not None)
        batch = Batch([party], list(edges), list(activities), processes=True)
        written = await self._writer.load_batch(batch)
        return written.parties[0]

    async def merge_parties(
        self,
        survivor_id: str,
        merged_ids: Sequence[str],
        choices: Sequence[FieldChoice],
        at: datetime,
        dry_run: bool,
    ) -> MergePlan:
        """WRITE everywhere, FISCAL to move fiscal data, ADMIN to merge users (their roles,
        tokens and what they wrote move) or to move grants scoped to the parties; a dry run
        asks the same, since it tells what the parties hold."""
        fiscal = any(c.field == "fiscal" for c in choices)
        self._everywhere(Permission.WRITE, "merging")
        viewer = await self._may_write(merged_ids, changed=survivor_id, fiscal=fiscal)
        admin = viewer.can(Permission.ADMIN)
        if not admin:
            survivor = (await self._store.get_parties([survivor_id])).get(survivor_id)
            if survivor is not None and survivor.kind is PartyKind.USER:
                viewer.require(Permission.ADMIN, "merging users")
        return await self._writer.merge_parties(
            survivor_id, merged_ids, choices, at, dry_run, move_grants=admin
        )

    async def unmerge_party(self, party_id: str, at: datetime) -> UnmergePlan:
        """As a merge: WRITE everywhere, ADMIN to move grants back."""
        self._everywhere(Permission.WRITE, "unmerging")
        viewer = await self._may_write(changed=party_id)
        admin = viewer.can(Permission.ADMIN)
        return await self._writer.unmerge_party(party_id, at, move_grants=admin)

    async def _may_link(self, opportunity_id: str | None) -> None:
        """An activity is linked to a deal the viewer may write, as updateOpportunity
        asks (WRITE where its organization is); one outside is refused as one that does
        not exist."""
        write = self._within(Permission.WRITE, "changing the graph")
        if opportunity_id is None or write is None:
            return
        if not await write.get_opportunities([opportunity_id]):
            raise deal_links.missing(opportunity_id)

    def _everywhere(self, permission: Permission, action: str) -> None:
        """A merge re-points edges and activities wherever they lead: a writer scoped to a
        part of the graph may not move what lies outside it, so merging is for writers
        whose WRITE reaches everywhere."""
        if self.viewer.scope(permission, action) is not None:
            raise Forbidden(f"{action} needs the {permission.value} permission everywhere")

    async def link(self, rel: Relationship, seen: dict[str, Party] | None = None) -> Relationship:
        """Inside a write scope both ends must be inside: a party outside, however bare,
        cannot be pulled in (a new one is filed as it is made: create_filed)."""
        await self._may_write([rel.from_id, rel.to_id])
        return await self._writer.link(rel, seen)

    async def unlink(self, rel_id: str, until: datetime) -> Relationship:
        write = self._within(Permission.WRITE, "changing the graph")
        if write is not None:
            _inside(await write.get_nodes([rel_id]), [rel_id], "where you may write")
        return await self._writer.unlink(rel_id, until)

    async def record_activity(
        self, activity: Activity, seen: ActivityRead | None = None
    ) -> Activity:
        """Inside a write scope its assignees and attendees must be inside too: one outside
        is refused as one that does not exist, so naming ids cannot probe for people."""
        await self._may_link(activity.opportunity_id)
        viewer = await self._may_write([*activity.subject_ids, *schedules.references(activity)])
        if activity.author_id != viewer.id:
            viewer.require(Permission.ADMIN, "recording an activity for another author")
        return await self._writer.record_activity(activity, seen)

    async def change_activity(self, activity: Activity, kind: ChangeKind) -> Activity:
        """Planned work is shared: whoever may write where its subjects are may change it,
        keeping whoever it names; people it names anew must be inside a write scope."""
        named: list[str] = []
        if self._within(Permission.WRITE, "changing the graph") is not None:
            stored = (await self._store.get_nodes([activity.id])).get(activity.id)
            kept = set(schedules.references(stored)) if isinstance(stored, Activity) else set()
            named = [p for p in schedules.references(activity) if p not in kept]
            if not isinstance(stored, Activity) or stored.opportunity_id != activity.opportunity_id:
                await self._may_link(activity.opportunity_id)
        await self._may_write([*activity.subject_ids, *named])
        return await self._writer.change_activity(activity, kind)

    # -- categories ----------------------------------------------------------

    @property
    def default_region(self) -> str | None:
        return self._store.default_region

    async def write_category(
        self, category_id: str, make: Callable[[Category | None], Category], at: datetime
    ) -> Category:
        """Categories are rules every party meets: changing them needs CATEGORIES everywhere."""
        self.viewer.require(Permission.CATEGORIES, "changing categories")
        return await self._writer.write_category(category_id, make, at)

    async def sweep_processes(self) -> int:
        """The sweep reads every category's parties: CATEGORIES everywhere, as their rules."""
        self.viewer.require(Permission.CATEGORIES, "sweeping processes")
        return await self._writer.sweep_processes()

    async def write_level(self, make: Callable[[Mapping[str, Level]], Level]) -> Level:
        """Levels order every organization tree: changing them needs CATEGORIES too."""
        self.viewer.require(Permission.CATEGORIES, "changing levels")
        return await self._writer.write_level(make)

    async def write_pipeline(
        self, pipeline_id: str | None, make: Callable[[Pipeline | None], Pipeline], at: datetime
    ) -> Pipeline:
        """Pipelines are how every deal is staged and forecast: defining them is admins'."""
        self.viewer.require(Permission.ADMIN, "defining sales pipelines")
        return await self._writer.write_pipeline(pipeline_id, make, at)

    async def write_opportunity(
        self,
        opportunity_id: str,
        make: Callable[[Opportunity | None], Opportunity],
        organization_ids: Sequence[str],
        named: Sequence[str] = (),
    ) -> Opportunity:
        """A deal is its organization's: writing it needs WRITE where that organization is
        (each of them, when it moves to another). The owner and contacts it names anew must
        be inside a write scope, refused as ids that do not exist are (no probing)."""
        await self._may_write([*organization_ids, *named])
        return await self._writer.write_opportunity(opportunity_id, make)

    async def convert_lead(
        self, party_id: str, category_id: str, deal: Opportunity | None, at: datetime
    ) -> tuple[Party, Opportunity | None]:
        """A conversion writes the party, and the deal's organization when it opens one."""
        await self._may_write(list(deal.references()) if deal else [], party_id)
        return await self._writer.convert_lead(party_id, category_id, deal, at)

    # -- identity ------------------------------------------------------------

    def _self_or_admin(self, user_id: str | None, action: str) -> None:
        if user_id != self.viewer.id:
            self.viewer.require(Permission.ADMIN, action)

    async def roles(self) -> list[Role]:
        self.viewer  # noqa: B018 - signed in is enough
        return await self._store.roles()

    async def grants(self, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
        for user_id in set(user_ids):
            self._self_or_admin(user_id, "reading another user's roles")
        return await self._store.grants(user_ids)

    async def grant_role(self, grant: Grant) -> Grant:
        self.viewer.require(Permission.ADMIN, "granting a role")
        return await self._writer.grant_role(grant)

    async def revoke_role(
        self, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
    ) -> bool:
        self.viewer.require(Permission.ADMIN, "revoking a role")
        return await self._writer.revoke_role(user_id, role, scope_id, kind)

    async def create_token(self, token: ApiToken) -> ApiToken:
        self._self_or_admin(token.user_id, "making a token for another user")
        return await self._writer.create_token(token)

    async def tokens(self, user_id: str | None) -> list[ApiToken]:
        self._self_or_admin(user_id, "listing another user's tokens")
        return await self._store.tokens(user_id)

    async def revoke_token(self, token_id: str, at: datetime) -> ApiToken:
        viewer = self.viewer
        if not viewer.can(Permission.ADMIN) and token_id not in {
            t.id for t in await self._store.tokens(viewer.id)
        }:
            raise Forbidden("revoking another user's token needs the ADMIN permission")
        return await self._writer.revoke_token(token_id, at)


async def _kept_inside(read: GraphStore, pages: dict[str, ChangePage]) -> dict[str, ChangePage]:
    """The entries whose parties are all inside the scope: one naming a party outside
    would tell of it (a link to it, its id). A page may so hold fewer than asked."""
    named = {p for page in pages.values() for c in page.changes for p in c.party_ids}
    inside = await read.get_parties(list(named)) if named else {}
    return {
        node: replace(page, changes=[c for c in page.changes if inside.keys() >= set(c.party_ids)])
        for node, page in pages.items()
    }


def _inside(found: Mapping[str, object], ids: Sequence[str], where: str) -> None:
    """FORBIDDEN for the first id not found: outside the scope, or not there at all."""
    outside = sorted(set(ids) - set(found))
    if outside:
        raise Forbidden(f"{outside[0]} is outside {where}")
