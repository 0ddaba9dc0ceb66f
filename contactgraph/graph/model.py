"""The domain: one Party record kind, typed dated relationships, activities.

Plain dataclasses shared by every backend and by the GraphQL layer. The
relationship rules live here, next to the types they constrain, so every
store enforces exactly the same table (DESIGN.md, "Domain").
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .hashed import hashed_once


class PartyKind(enum.Enum):
    ORGANIZATION = "ORGANIZATION"
    CONTACT = "CONTACT"
    USER = "USER"


class LegalForm(enum.Enum):
    NATURAL_PERSON = "NATURAL_PERSON"
    LEGAL_PERSON = "LEGAL_PERSON"
    ASSOCIATION = "ASSOCIATION"


class LeadStatus(enum.Enum):
    """How far a prospect has come: contacts and organizations only."""

    NEW = "NEW"
    CONTACTED = "CONTACTED"
    QUALIFIED = "QUALIFIED"
    DISQUALIFIED = "DISQUALIFIED"
    CONVERTED = "CONVERTED"


class UnitType(enum.StrEnum):
    """The levels there were before levels were data (levels.py): a level's id is a plain
    string, these among them, so a member and its name compare equal."""

    COMPANY = "COMPANY"
    BRANCH = "BRANCH"
    DEPARTMENT = "DEPARTMENT"
    TEAM = "TEAM"
    POSITION = "POSITION"


class RelType(enum.Enum):
    PART_OF = "PART_OF"
    EMPLOYS = "EMPLOYS"
    MEMBER_OF = "MEMBER_OF"
    HEIR_OF = "HEIR_OF"
    REPORTS_TO = "REPORTS_TO"
    RESPONSIBLE_FOR = "RESPONSIBLE_FOR"
    KNOWS = "KNOWS"

    # members are singletons that equal only themselves: the identity's hash is as good
    # as Enum's hash of the name, and is not a Python call per hash of a loader's key
    __hash__ = object.__hash__


class Direction(enum.Enum):
    OUTGOING = "OUTGOING"
    INCOMING = "INCOMING"
    BOTH = "BOTH"


class ActivityType(enum.Enum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    MEETING = "MEETING"
    NOTE = "NOTE"
    AGREEMENT = "AGREEMENT"
    TASK = "TASK"
    DOCUMENT = "DOCUMENT"


class ActivityStatus(enum.Enum):
    PLANNED = "PLANNED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class Response(enum.Enum):
    """An attendee's answer to an invitation, as RFC 5545's PARTSTAT names it."""

    NEEDS_ACTION = "NEEDS_ACTION"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"


class ParentEnd(enum.Enum):
    """Which end of an edge is the parent when the edge is read as hierarchy."""

    FROM = "FROM"
    TO = "TO"


_ANY = frozenset(PartyKind)
_PERSONS = frozenset({PartyKind.CONTACT, PartyKind.USER})
_ORG = frozenset({PartyKind.ORGANIZATION})


@dataclass(frozen=True)
class RelRule:
    from_kinds: frozenset[PartyKind]
    to_kinds: frozenset[PartyKind]
    parent_end: ParentEnd | None
    acyclic: bool


REL_RULES: dict[RelType, RelRule] = {
    RelType.PART_OF: RelRule(_ORG, _ORG, ParentEnd.TO, acyclic=True),
    RelType.EMPLOYS: RelRule(_ORG, _PERSONS, ParentEnd.FROM, acyclic=False),
    RelType.MEMBER_OF: RelRule(_ANY, _ORG, ParentEnd.TO, acyclic=True),
    RelType.HEIR_OF: RelRule(
        frozenset({PartyKind.CONTACT}), frozenset({PartyKind.CONTACT}), ParentEnd.TO, acyclic=True
    ),
    RelType.REPORTS_TO: RelRule(_PERSONS, _PERSONS, ParentEnd.TO, acyclic=True),
    RelType.RESPONSIBLE_FOR: RelRule(frozenset({PartyKind.USER}), _ANY, None, acyclic=False),
    RelType.KNOWS: RelRule(_ANY, _ANY, None, acyclic=False),
}


@functools.cache
def parent_kinds(types: tuple[RelType, ...]) -> frozenset[PartyKind]:
    """The kinds of party that are a parent over any of these types. Every write checks
    an edge's ends against REL_RULES, so a party of another kind has nothing below it."""
    found: set[PartyKind] = set()
    for rel_type in types:
        rule = REL_RULES[rel_type]
        if rule.parent_end is not None:
            found |= rule.from_kinds if rule.parent_end is ParentEnd.FROM else rule.to_kinds
    return frozenset(found)


DEFAULT_HIERARCHY_TYPES: tuple[RelType, ...] = (
    RelType.PART_OF,
    RelType.EMPLOYS,
    RelType.MEMBER_OF,
)
HIERARCHY_TYPES = frozenset(t for t, rule in REL_RULES.items() if rule.parent_end)
# from → to along these, mixed, must never come back: the graph over them stays acyclic
ACYCLIC_TYPES: tuple[RelType, ...] = tuple(t for t, rule in REL_RULES.items() if rule.acyclic)


@dataclass(frozen=True)
class Email:
    address: str
    label: str | None = None


@dataclass(frozen=True)
class Phone:
    number: str  # as entered, for display
    label: str | None = None
    e164: str | None = None  # the number in E.164 (+436641234567): how it is compared


@dataclass(frozen=True)
class Address:
    label: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Fiscal:
    vat_number: str | None = None
    tax_code: str | None = None
    country: str | None = None  # ISO 3166 alpha-2: whose rules the tax code follows


@dataclass(frozen=True)
class ExternalId:
    """A party's id in another system, for syncing with it (externalids.py)."""

    source: str  # a short name of the other system: "sap"
    key: str  # the party's id there


@dataclass(frozen=True)
class Party:
    id: str
    kind: PartyKind
    legal_form: LegalForm
    display_name: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    category_id: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    unit_type: str | None = None  # an organization's level: a level's id (levels.py)
    username: str | None = None
    contact_id: str | None = None
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    addresses: tuple[Address, ...] = ()
    fiscal: Fiscal | None = None
    tags: tuple[str, ...] = ()
    external_ids: tuple[ExternalId, ...] = ()
    archived_at: datetime | None = None
    merged_into: str | None = None  # a merged duplicate's survivor (merging.py)
    # the values of its category's own fields, by field name, as JSON values (attributes.py)
    attributes: dict[str, Any] = field(default_factory=dict)
    lead_status: LeadStatus | None = None  # a prospect's; None: not a lead


def display_order(party: Party | PartyRef) -> tuple[str, str]:
    """How lists of parties sort by name on every backend: case-folded name, then id."""
    return (party.display_name.casefold(), party.id)


@dataclass(frozen=True)
class Relationship:
    id: str
    type: RelType
    from_id: str
    to_id: str
    since: datetime
    until: datetime | None = None
    role: str | None = None
    properties: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Attendee:
    party_id: str  # a user or a contact
    response: Response = Response.NEEDS_ACTION


@dataclass(frozen=True)
class Schedule:
    """When planned work happens and who takes part (schedules.py checks and expands it):
    an appointment has starts_at (and ends_at), a task due_at."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # the IANA zone the appointment was planned in: how it is shown, and where a
    # recurrence keeps its wall-clock time across daylight-saving changes
    time_zone: str | None = None
    due_at: datetime | None = None
    location: str | None = None
    recurrence: str | None = None  # an RFC 5545 RRULE value, without "RRULE:"
    assignee_ids: tuple[str, ...] = ()  # users
    attendees: tuple[Attendee, ...] = ()


@dataclass(frozen=True)
class Activity:
    id: str
    type: ActivityType
    occurred_at: datetime
    summary: str
    author_id: str
    subject_ids: tuple[str, ...]
    body: str | None = None
    # the viewer who recorded it: the author, unless an admin imported it for someone;
    # None for seeds and for activities recorded before identity existed
    recorded_by_id: str | None = None
    status: ActivityStatus = ActivityStatus.DONE  # what is recorded has happened
    version: int = 1  # one more at each change: updateActivity's expectedVersion
    schedule: Schedule | None = None
    # the sales opportunity it was for: its own link, beside the subjects, so that party
    # timelines stay as they are and the deal's timeline is one index range
    opportunity_id: str | None = None


class FieldType(enum.Enum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    DECIMAL = "DECIMAL"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    ONE_OF = "ONE_OF"
    MANY_OF = "MANY_OF"
    PARTY = "PARTY"
    URL = "URL"
    EMAIL = "EMAIL"
    PHONE = "PHONE"


@dataclass(frozen=True)
class FieldDef:
    """A field a category adds to its parties; values are checked by attributes.py."""

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    default: Any = None  # given to a party of the category that brings no value
    options: tuple[str, ...] = ()  # what ONE_OF and MANY_OF choose from


@dataclass(frozen=True)
class DocumentRule:
    """A document a party of the category must have; checked by processes, not on write."""

    name: str
    legal_forms: tuple[LegalForm, ...] = ()  # whose parties need it; empty: every one


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str = ""
    legal_forms: tuple[LegalForm, ...] = ()
    unit_types: tuple[str, ...] = ()  # the levels it allows (ids); empty: any
    kinds: tuple[PartyKind, ...] = ()  # the party kinds it files; empty: any
    fields: tuple[FieldDef, ...] = ()
    documents: tuple[DocumentRule, ...] = ()
    version: int = 1
    archived_at: datetime | None = None  # no party may enter it since
    # its organizations may be PART_OF organizations of any level, not only higher ones
    any_level_order: bool = False
    processes: tuple[process_defs.Process, ...] = ()  # what happens to its parties


def category_named(categories: Mapping[str, Category], value: str) -> Category | None:
    """A category by its id, else by its name ignoring case: how a file names one."""
    if value in categories:
        return categories[value]
    wanted = value.casefold()
    return next((c for c in categories.values() if c.name.casefold() == wanted), None)


@dataclass(frozen=True)
class Page:
    """A window of a newest-first or id-ordered list: `first` items after a cursor."""

    first: int
    after: str | None = None


@dataclass(frozen=True)
class Rollup:
    """Which parties below a timeline's party feed it: the hierarchy as of a date."""

    types: tuple[RelType, ...]
    as_of: datetime
    max_depth: int
    # tell whether parties lie past max_depth (TimelinePage.beyond): a search more, asked
    # only where the answer is used (no maxDepth given)
    tell_beyond: bool = False


@hashed_once
@dataclass(frozen=True)
class TimelineQuery:
    page: Page
    types: tuple[ActivityType, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    rollup: Rollup | None = None  # None: the party's own activities only
    search: str | None = None  # words every activity has in its summary or body
    count: bool = False  # TimelinePage.counts_by_type: only when asked, it reads them all
    # whole activities (else ActivityRef): a page asked for ids reads no subjects or text
    whole: bool = True
    # a roll-up's entries name their source (else None): it is found from the subjects
    sources: bool = True


class ActivityRef(NamedTuple):
    """An activity known by its id and time only: what a timeline hands over when its
    reader asks nothing else of the activities (the time is half of an edge's cursor).
    This and the other row types made once a row (TimelineEntry, PartyRef, Below) are
    named tuples: a frozen dataclass's constructor sets each field by a call, some
    1-1.4 µs a row against 0.3, and a page holds thousands of rows."""

    id: str
    occurred_at: datetime


class TimelineEntry(NamedTuple):
    """An activity on a timeline and the subject that put it there: the timeline's own
    party when it is a subject, else its first subject (in recorded order) in the subtree."""

    activity: Activity | ActivityRef
    source_id: str | None  # None in a roll-up whose query does not ask for sources


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    has_next: bool
    # a roll-up's hierarchy goes on below its depth bound: parties past it are left out
    beyond: bool = False
    # every activity the filters keep (the cursor aside), by type: when the query counts
    counts_by_type: dict[ActivityType, int] | None = None

    @property
    def activities(self) -> list[Activity | ActivityRef]:
        return [entry.activity for entry in self.entries]


@dataclass(frozen=True)
class ActivityQuery:
    """Activities across the graph, newest first: of any of `subject_ids` when given,
    having every word of `search` when given."""

    page: Page
    search: str | None = None
    types: tuple[ActivityType, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    subject_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivityPage:
    activities: list[Activity]
    has_next: bool


@dataclass(frozen=True)
class TreeRow:
    """A party met walking a hierarchy, at its shortest depth, and the edge it came by."""

    party: Party
    depth: int
    parent_id: str
    relationship: Relationship


class PartyRef(NamedTuple):
    """A party known by its id, kind and name only: what a walk or a children list hands
    over when its reader asks nothing else of the parties (the name is what a tree shows,
    and what its lists sort by)."""

    id: str
    kind: PartyKind
    display_name: str


@dataclass(frozen=True)
class TreeReading:
    """What a page of descendants or a children list carries beside ids (and depths and
    parents): whole parties (else PartyRef) and the edges from their parents (else
    None). Reading thousands of rows, the parties and edges nobody asked for cost more
    than the walk."""

    parties: bool = True
    edges: bool = True
    # the parent ids (else None): finding each party's parent is another step from each
    parents: bool = True


WHOLE_ROWS = TreeReading()


class Below(NamedTuple):
    """A party below a root, at its shortest depth, read as a TreeReading asked."""

    party: Party | PartyRef
    depth: int
    parent_id: str | None
    relationship: Relationship | None


@dataclass(frozen=True)
class TreePage:
    rows: list[Below]
    has_next: bool
    total_count: int | None
    # parties lie below the depth bound, left out: told when the count was asked or the
    # page is the last (a page that fills sooner need not walk that deep)
    beyond: bool = False


@dataclass(frozen=True)
class Ancestry:
    """The parties above one, nearest first, and whether more lie past the depth bound."""

    rows: list[TreeRow]
    beyond: bool = False


@dataclass(frozen=True)
class Network:
    """The parties within reach of one, nearest first, and the edges between them."""

    parties: list[Party]
    relationships: list[Relationship]
    truncated: bool


@dataclass(frozen=True)
class Path:
    parties: list[Party]  # from the start to the goal, one more than the edges
    relationships: list[Relationship]


@dataclass(frozen=True)
class PartyFilter:
    kinds: tuple[PartyKind, ...] = ()
    category_ids: tuple[str, ...] = ()
    legal_forms: tuple[LegalForm, ...] = ()
    tags: tuple[str, ...] = ()
    search: str | None = None
    include_archived: bool = False
    search_fiscal: bool = False  # whether search matches fiscal codes: FISCAL viewers only
    attributes: tuple[AttributeTest, ...] = ()
    lead_statuses: tuple[LeadStatus, ...] = ()


@dataclass(frozen=True)
class AttributeTest:
    """A condition on one attribute: equal to a value, within a range, or present (or
    absent). Values are JSON values as the field stores them (attributes.py)."""

    field: str
    equals: Any = None
    min: Any = None
    max: Any = None
    exists: bool | None = None
    type: FieldType = FieldType.TEXT  # the field's: how stores compare its values


@dataclass(frozen=True)
class PartyPage:
    parties: list[Party]
    has_next: bool
    total_count: int | None  # None when not asked for: counting costs a scan


@dataclass
class Batch:
    """Records loaded together by the seeders; checked like single writes."""

    parties: list[Party] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    # the seeder's note of how far it got, stored in the batch's own transaction; "" clears
    progress: str | None = None
    # whether it starts and closes process runs as its single writes would (filed_runs):
    # a party created with its edges does; seeds are data, and a dump carries its runs
    processes: bool = False


# last, as a module: its definitions build on the enums above (msgspec reads the name
# Category's annotation holds when it decodes, by then complete)
from . import processes as process_defs  # noqa: E402
