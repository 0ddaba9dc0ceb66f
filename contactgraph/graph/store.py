"""The GraphStore port: the one interface every backend implements.

Reads are batched (many ids, one round trip) because resolvers call them per
parent through dataloaders; every write is one transaction, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from .agenda import AgendaQuery
from .duplicates import DuplicateQuery, Match, PairPage
from .events import ActivityRead
from .history import Actor, AuditQuery, Change, ChangeKind, ChangePage
from .identity import ApiToken, Grant, Role, Scope, ScopeKind
from .interchange.format import DumpBatch
from .levels import Level
from .merging import FieldChoice, MergePlan
from .model import (
    WHOLE_ROWS,
    Activity,
    ActivityPage,
    ActivityQuery,
    Ancestry,
    Batch,
    Category,
    Direction,
    ExternalId,
    Network,
    Page,
    Party,
    PartyFilter,
    PartyPage,
    PartyRef,
    Path,
    Relationship,
    RelType,
    TimelinePage,
    TimelineQuery,
    TreePage,
    TreeReading,
)
from .opportunities import Opportunity
from .opportunity_reads import Figure, OpportunityPage, OpportunityQuery
from .pipelines import Pipeline
from .process_runs import RunStep
from .seed_check import Prepare
from .step_listeners import StepListener
from .tasks import TaskPage, TaskQuery
from .unmerging import UnmergePlan
from .worklist import WorklistPage, WorklistQuery

Node = Party | Activity | Relationship


class GraphStore(Protocol):
    seed_batch_size: int
    """Parties per load_batch transaction that suits this backend when none is asked for."""
    default_region: str | None
    """Where a party's phone numbers written without +country code are read when the
    party has no country (contactdata.py); None: such numbers are refused."""

    async def start(self) -> None:
        """Open connections and bring the schema up to date; awaited before serving."""

    async def close(self) -> None: ...

    async def ping(self, seconds: float) -> None:
        """Raise ServiceUnavailable when the backend cannot answer within `seconds`, however
        busy it is with other work."""

    def scoped(self, scope: Scope) -> GraphStore:
        """This store as a scoped viewer reads it: every read below answers only with what
        the scope reaches (identity.Scope), tested inside its one round trip."""

    def acting(self, actor: Actor) -> GraphStore:
        """This store as `actor` writes to it: every write appends its history entries
        (history.py), naming the actor, in the write's own transaction."""

    # reads
    async def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]: ...

    async def get_parties(self, ids: Sequence[str]) -> dict[str, Party]: ...

    async def list_parties(self, where: PartyFilter, page: Page, count: bool) -> PartyPage:
        """A page in id order; with count, the total of all matches too."""

    async def get_categories(self, ids: Sequence[str] | None) -> dict[str, Category]:
        """The categories for ids, or all of them when ids is None."""

    async def process_steps(self, party_ids: Sequence[str]) -> dict[str, list[RunStep]]:
        """Each party's process steps, open and done, oldest run first (process_runs);
        a scoped view's only those of parties inside."""

    async def worklist(self, query: WorklistQuery) -> WorklistPage:
        """A page of the assignee's open process steps, soonest due first (ties by id), of
        parties this reader may see."""

    async def claim_overdue(self, now: datetime, first: int) -> list[RunStep]:
        """Mark up to `first` open steps due before `now` whose OVERDUE nobody has told yet
        as told, soonest due first, and return them; every server process sharing the graph
        claims, and each step is claimed once. The server's own work: no request reaches it."""

    async def next_due(self) -> datetime | None:
        """When the next open step not yet claimed overdue falls due; None when none waits."""

    def on_steps(self, listener: StepListener) -> None:
        """Await `listener` with what each write did to process steps, once it committed."""

    async def relationships(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        direction: Direction,
        as_of: datetime | None,
    ) -> dict[str, list[Relationship]]:
        """Edges touching each party; as_of None means the whole history."""

    async def role_holders(
        self, unit_ids: Sequence[str], as_of: datetime
    ) -> dict[str, list[tuple[str, str]]]:
        """(holder id, role) of each edge that gives a role at each unit as of the instant:
        EMPLOYS from the unit, MEMBER_OF to it; both ends inside the reader's scope. Ids
        and roles only: a unit with thousands of members is read in a few milliseconds."""

    async def children(
        self,
        parent_ids: Sequence[str],
        types: Sequence[RelType],
        as_of: datetime,
        reading: TreeReading = WHOLE_ROWS,
    ) -> dict[str, list[tuple[Party | PartyRef, Relationship | None]]]:
        """One level down the hierarchy, each parent end as in REL_RULES, in display
        order. A store may return more than `reading` asks, never less."""

    async def descendants(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        page: Page,
        count: bool,
        reading: TreeReading = WHOLE_ROWS,
        tell_beyond: bool = False,
    ) -> dict[str, TreePage]:
        """A page of the subtree below each root (every one asked has an entry), all roots
        in one round trip: each party once, at its shortest depth, ordered by (depth, id);
        ties between parents go to the smallest (parent, edge) id.
        A store may return more than `reading` asks, never less. With tell_beyond, `beyond`
        tells of parties past max_depth (see TreePage), as roll-ups and ancestors tell it:
        a ceiling never cuts a hierarchy without saying so."""

    async def ancestors(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        tell_beyond: bool = False,
    ) -> dict[str, Ancestry]:
        """The parties above each party (every one asked has an entry), nearest first,
        each once; parent_id is the party the walk came from, one level nearer the start."""

    async def neighborhood(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        depth: int,
        limit: int,
        as_of: datetime,
    ) -> dict[str, Network]:
        """Per root (every one asked has an entry; all in one round trip), the parties
        within depth hops in any direction, ordered by (distance, id) and cut at limit (the
        root counts), with every edge of those types between the kept parties."""

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
    ) -> Path | None:
        """A shortest path ignoring direction; None when none is within max_depth.
        Raises NotFound for an unknown end."""

    async def timelines(
        self, party_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]: ...

    async def activities(self, query: ActivityQuery) -> ActivityPage:
        """A page of the graph's activities newest first (ties by id), searched and
        filtered as `query` says; a scoped view's only those with a subject inside."""

    async def agenda(self, query: AgendaQuery) -> list[Activity]:
        """The activities on the agendas of query.people (as author, assignee or attendee)
        whose span meets its window, of its types and statuses, that this reader may see;
        more than agenda.MAX_ACTIVITIES is LIMIT_EXCEEDED."""

    async def tasks(self, query: TaskQuery) -> TaskPage:
        """A page of TASK activities by (due, id), of an assignee and/or about a subject
        (or, with a roll-up, its subtree), in the query's statuses, that this reader may
        see."""

    async def parties_by_email(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        """For each address as given, the ids of the parties not archived that hold it,
        in id order: compared normalised and case-folded (contactdata.email_key), through
        an index."""

    async def parties_by_external_id(
        self, ids: Sequence[ExternalId]
    ) -> dict[ExternalId, list[str]]:
        """For each external id as given, the id of the party not archived that holds it
        (a list of one, or empty), through an index."""

    async def parties_by_code(
        self, codes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[str]]:
        """For each (kind, key) of a VAT number ("vat") or tax code ("tax") as
        contactdata.keys compares it, the id of the party not archived that holds it (a
        list of one, or empty), through an index: what a CSV import checks up front."""

    async def history(
        self, subject_ids: Sequence[str], page: Page, hidden: frozenset[ChangeKind]
    ) -> dict[str, ChangePage]:
        """Each node's history entries, newest first (at, then id), without the kinds in
        `hidden`; a page's cursor is its last entry's (at, id)."""

    async def audit_log(self, query: AuditQuery, page: Page) -> ChangePage:
        """Every entry matching the query, newest first, paged as `history`."""

    async def snapshots(self, party_ids: Sequence[str], as_of: datetime) -> dict[str, Party]:
        """The parties' own fields as they were at `as_of` (history.snapshot); a party
        that did not exist then is left out."""

    async def merged_from(self, party_ids: Sequence[str]) -> dict[str, list[str]]:
        """For each party, the ids of the parties merged into it, in id order."""

    async def possible_duplicates(
        self, party_ids: Sequence[str], query: DuplicateQuery
    ) -> dict[str, list[Match]]:
        """For each party, the parties of its kind not archived that may be the same one,
        best first, at most query.first, by indexed keys only (graph/duplicates.py)."""

    async def duplicates_of(self, party: Party, query: DuplicateQuery) -> list[Match]:
        """The same for a party not yet written, its contact data normalised as a write
        would (a value that is not valid is InvalidValue)."""

    async def duplicate_pairs(self, query: DuplicateQuery, after: str | None) -> PairPage:
        """Pairs that may be one party, each once: by the smaller id, then score down, then
        the other id; a page examines at most duplicates.PAGE_SCAN parties."""

    async def is_empty(self) -> bool: ...

    async def seed_progress(self) -> str | None:
        """The note an unfinished seed left (Batch.progress), or None."""

    # identity
    async def roles(self) -> list[Role]: ...

    async def grants(self, user_ids: Sequence[str]) -> dict[str, list[Grant]]: ...

    async def user_by_username(self, username: str) -> Party | None: ...

    async def grant_role(self, grant: Grant) -> Grant:
        """Write a grant, or return the equal one the user already holds."""

    async def revoke_role(
        self, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
    ) -> bool:
        """Whether the user held that grant (it is gone now)."""

    async def create_user(self, user: Party, grants: Sequence[Grant]) -> Party:
        """A User party and its grants, in one transaction."""

    async def create_token(self, token: ApiToken) -> ApiToken: ...

    async def token_by_hash(self, secret_hash: str) -> ApiToken | None: ...

    async def tokens(self, user_id: str | None) -> list[ApiToken]:
        """A user's tokens, or everyone's for None, oldest first."""

    async def revoke_token(self, token_id: str, at: datetime) -> ApiToken: ...

    # writes
    async def create_party(self, party: Party) -> Party:
        """The party as written: its contact and fiscal data in normal form (so are the
        answers of create_user and update_party); a VAT number or tax code held by a party
        not archived is a Conflict (so it is for update_party and a restore)."""

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party: ...

    async def levels(self) -> dict[str, Level]:
        """Every level, by rank (levels.py)."""

    async def write_level(self, make: Callable[[Mapping[str, Level]], Level]) -> Level:
        """Write the level `make` gives from every stored level, in one transaction that
        holds the levels' lock."""

    async def write_category(
        self, category_id: str, make: Callable[[Category | None], Category], at: datetime
    ) -> Category:
        """Read the category (None when there is none), then write what `make` gives for it
        with its history entry (categories.change), in one transaction that holds the
        category's lock; nothing is written when make raises or changes nothing. Each of
        its fields gets the index attribute filters use."""

    async def get_opportunities(self, ids: Sequence[str]) -> dict[str, Opportunity]:
        """The opportunities for ids whose organization the reader may see."""

    async def opportunity_timelines(
        self, opportunity_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        """The activities linked to each deal the reader may see, newest first (ties by
        id), filtered and counted as a party's own timeline is; query.rollup is not read."""

    async def list_opportunities(self, query: OpportunityQuery) -> OpportunityPage:
        """A page of the filter's opportunities in the query's order, (key, id) cursors."""

    async def opportunities_under(
        self, organization_ids: Sequence[str], query: OpportunityQuery
    ) -> dict[str, OpportunityPage]:
        """list_opportunities for each organization (query's organization_id set to it),
        in one round trip: what nested Organization.opportunities fields read."""

    async def opportunity_figures(self, query: OpportunityQuery) -> list[Figure]:
        """What a pipeline summary sums of every opportunity the filter matches."""

    async def write_opportunity(
        self, opportunity_id: str, make: Callable[[Opportunity | None], Opportunity]
    ) -> Opportunity:
        """Read the opportunity (None when there is none), then write what `make` gives,
        checked against its pipeline and parties (opportunities.planned), with its history
        entry, in one transaction; nothing is written when anything raises."""

    async def convert_lead(
        self, party_id: str, category_id: str, deal: Opportunity | None, at: datetime
    ) -> tuple[Party, Opportunity | None]:
        """Move the party into the category, CONVERTED (leads.converted, checked as an
        update is), and open `deal` when given, with both history entries, in one
        transaction: when anything is refused, nothing is written."""

    async def pipelines(self, ids: Sequence[str] | None) -> dict[str, Pipeline]:
        """The sales pipelines for ids, or all of them when ids is None, by name."""

    async def write_pipeline(
        self, pipeline_id: str | None, make: Callable[[Pipeline | None], Pipeline], at: datetime
    ) -> Pipeline:
        """Read the pipeline (None when there is none, or pipeline_id is None), then write
        what `make` gives for it with its history entry (pipelines.planned), in one
        transaction that holds the pipelines' lock; nothing is written when make raises or
        changes nothing."""

    async def archive_party(self, party_id: str, at: datetime, archive: bool = True) -> Party:
        """Archive a party, or with archive False restore it; nothing changes when it is
        so already. Its relationships and activities stay either way."""

    async def link(self, rel: Relationship, seen: dict[str, Party] | None = None) -> Relationship:
        """Make the edge; `seen`, when given, receives its ends as the write read them (it
        changes neither), so that its answer need not read them again."""

    async def unlink(self, rel_id: str, until: datetime) -> Relationship: ...

    async def record_activity(
        self, activity: Activity, seen: ActivityRead | None = None
    ) -> Activity:
        """Record the activity; `seen`, when given, receives the parties it names (its
        author, subjects and the people it plans for) as the write read them, and the
        parties above its subjects where the store reads them in the write."""

    async def sweep_processes(self) -> int:
        """Start the runs of DATE_REACHED processes whose date is reached and that have not
        started for that date (process_dates); the number of steps opened."""

    async def change_activity(self, activity: Activity, kind: ChangeKind) -> Activity:
        """Store the activity's new state (its version one past the stored one, else
        CONFLICT; author and subjects kept), checked as a new one is, with a history entry
        of that kind."""

    async def merge_parties(
        self,
        survivor_id: str,
        merged_ids: Sequence[str],
        choices: Sequence[FieldChoice],
        at: datetime,
        dry_run: bool,
        move_grants: bool = True,
    ) -> MergePlan:
        """Fold the merged parties into the survivor (merging.py) in one transaction, with
        its history; with dry_run the same writes and checks, rolled back: the plan is
        what the merge would do, or the error it would meet. Without move_grants a merge
        that would move grants is FORBIDDEN."""

    async def unmerge_party(
        self, party_id: str, at: datetime, move_grants: bool = True
    ) -> UnmergePlan:
        """Restore a merged party with what it brought, from its merge's history entry
        (unmerging.unplan), in one transaction."""

    async def load_batch(self, batch: Batch) -> Batch:
        """Write a seed batch in one transaction, checked by the same rules; the batch as
        written, its parties' contact data in normal form."""

    async def seed_preparer(self) -> Prepare:
        """What makes a synthetic seed's batches into the rows load_rows writes, in the
        seed generator's process (seeds/pipeline.py)."""

    async def load_rows(self, rows: bytes, progress: str) -> None:
        """Write a batch the seed's Prepare made, in one transaction, with the seed's note
        of how far it got."""

    # dumps (interchange/): every record, in pages of `first` after a key, unscoped
    async def relationship_page(
        self, after: tuple[str, str] | None, first: int
    ) -> list[Relationship]:
        """Ordered by (from_id, id), after that key."""

    async def activity_page(self, after: str | None, first: int) -> list[Activity]:
        """Ordered by id."""

    async def change_page(self, after: tuple[str, str] | None, first: int) -> list[Change]:
        """History entries oldest first, by (at, id), with what each mentions."""

    async def opportunity_page(self, after: str | None, first: int) -> list[Opportunity]:
        """Ordered by id, each with its stage history."""

    async def step_page(self, after: str | None, first: int) -> list[RunStep]:
        """Process steps, open and done, ordered by id (the order they were opened in)."""

    async def all_grants(self) -> list[Grant]:
        """Every user's grants, by id."""

    async def restore(self, batches: Iterable[DumpBatch]) -> None:
        """Write a checked dump into this empty graph as it is (ids, versions, times and
        history kept; closure, search and keys derived again): all of it, or on an error
        nothing (each store says how)."""

    async def clear_unfinished_import(self) -> bool:
        """Remove what an import stopped half-way wrote; whether there was such a thing."""
