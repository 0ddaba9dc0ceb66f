"""The domain enums, exposed to GraphQL under their own names and values, each value
described here: the domain's enums stay plain, so descriptions are attached to their
Strawberry definitions."""

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

from ..graph import identity, lookups, model

E = TypeVar("E", bound=type[Enum])


def described_enum(
    enum: E, description: str, values: Mapping[str, str], name: str | None = None
) -> E:
    """`enum` as a GraphQL enum whose values carry `values`' descriptions (by member name);
    one left out, or one too many, is a mistake caught here, when the module loads."""
    exposed = strawberry.enum(enum, name=name, description=description)
    definition = exposed.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"{enum.__name__}: described {sorted(values)}, has {sorted(names)}")
    for value in definition.values:
        value.description = values[value.name]
    return exposed


PartyKind = described_enum(
    model.PartyKind,
    "What a party is; it decides the party's GraphQL type.",
    {
        "ORGANIZATION": "A company, association or unit of one (an Organization).",
        "CONTACT": "A person or body the business deals with (a Contact).",
        "USER": "Someone who signs in to contactgraph (a User).",
    },
)
LegalForm = described_enum(
    model.LegalForm,
    "How the law sees a party.",
    {
        "NATURAL_PERSON": "A human being; the default of a contact.",
        "LEGAL_PERSON": "A company or other body with legal personality; the default of an "
        "organization.",
        "ASSOCIATION": "A body without legal personality, such as an owners' association or "
        "a community of heirs.",
    },
)
UnitType = described_enum(
    model.UnitType,
    "The level of an organizational unit.",
    {
        "COMPANY": "A whole company, the top of its tree.",
        "BRANCH": "A site or subsidiary of a company.",
        "DEPARTMENT": "A department within a company or branch.",
        "TEAM": "A team within a department.",
        "POSITION": "A post that a person holds (through EMPLOYS or MEMBER_OF).",
    },
)
RelType = described_enum(
    model.RelType,
    "A relationship type; which kinds of party it may join is checked on write. In a "
    "hierarchy type, the parent is the end the description names.",
    {
        "PART_OF": "An organization (from) is a unit of another (to, the parent). Hierarchy; "
        "never circular.",
        "EMPLOYS": "An organization (from, the parent) employs a contact or user (to); the "
        "edge's role says as what. Hierarchy.",
        "MEMBER_OF": "A party (from) belongs to an organization (to, the parent); the edge's "
        "role says as what. Hierarchy; never circular.",
        "HEIR_OF": "A contact (from) is an heir of another contact (to, the parent: the "
        "estate). Hierarchy; never circular.",
        "REPORTS_TO": "A person (from) reports to another (to, the parent). Hierarchy; never "
        "circular.",
        "RESPONSIBLE_FOR": "A user (from) looks after a party (to), such as an account "
        "manager; it also makes PORTFOLIO scopes.",
        "KNOWS": "Two parties know each other; the direction carries no meaning.",
    },
)
Direction = described_enum(
    model.Direction,
    "Which edges of a party to read.",
    {
        "OUTGOING": "Edges from this party.",
        "INCOMING": "Edges to this party.",
        "BOTH": "Edges either way.",
    },
)
Toward = described_enum(
    lookups.Toward,
    "Where a look-up from an organizational unit searches, nearest first.",
    {
        "UP": "The unit and the units above it.",
        "DOWN": "The unit and the units below it.",
        "BOTH": "The unit and the units above and below it.",
    },
)
ActivityType = described_enum(
    model.ActivityType,
    "What kind of activity.",
    {
        "CALL": "A phone or video call.",
        "EMAIL": "An e-mail sent or received.",
        "MEETING": "A meeting in person or online.",
        "NOTE": "A note for the record.",
        "AGREEMENT": "An agreement or contract made.",
        "TASK": "Something to do, or done.",
        "DOCUMENT": "A document sent, received or filed.",
    },
)
Permission = described_enum(
    identity.Permission,
    "What a role lets a user do.",
    {
        "READ": "Read parties, relationships and timelines.",
        "WRITE": "Create and change parties, relationships and activities.",
        "FISCAL": "Read and write fiscal data: VAT numbers and tax codes.",
        "ADMIN": "Manage users, roles, grants and every token; record an activity for "
        "another author.",
        "CATEGORIES": "Create, change and archive categories, whose rules and fields every "
        "party of theirs meets.",
    },
)
ScopeKind = described_enum(
    identity.ScopeKind,
    "How a grant's scope party reaches: SUBTREE, the party and every party up to 64 levels "
    "below it in the default hierarchy as of now; PORTFOLIO, the parties that the users at "
    "or below it are RESPONSIBLE_FOR now, and their subtrees.",
    {
        "SUBTREE": "The scope party and everything below it.",
        "PORTFOLIO": "What the users at or below the scope party are RESPONSIBLE_FOR, with "
        "everything below that.",
    },
)
ActivityStatus = described_enum(
    model.ActivityStatus,
    "Where an activity stands: planned, done or called off.",
    {
        "PLANNED": "Scheduled and not yet done: an appointment to come, an open task.",
        "DONE": "It happened; every recorded activity is DONE.",
        "CANCELLED": "Called off; kept, and shown in agendas only when asked for.",
    },
)
Response = described_enum(
    model.Response,
    "An attendee's answer to an invitation (RFC 5545 PARTSTAT).",
    {
        "NEEDS_ACTION": "Not answered yet.",
        "ACCEPTED": "Will attend.",
        "DECLINED": "Will not attend: the appointment takes none of their time.",
        "TENTATIVE": "May attend.",
    },
)
LeadStatus = described_enum(
    model.LeadStatus,
    "How far a prospect (a contact or organization) has come.",
    {
        "NEW": "Not yet approached.",
        "CONTACTED": "Approached, no answer on fit yet.",
        "QUALIFIED": "A fit: worth a deal.",
        "DISQUALIFIED": "Not a fit.",
        "CONVERTED": "Made a client by convertLead.",
    },
)
