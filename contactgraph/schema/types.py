"""The GraphQL object types, by the names they have always been imported under; each
subject has its own module."""

from ..resolvers.context import ContextInfo
from .activities import Activity
from .categories import Category
from .contact_data import Address, Email, Fiscal, Phone
from .node import Node
from .parties import (
    Contact,
    HierarchyConnection,
    HierarchyRow,
    Network,
    Organization,
    Party,
    PartyConnection,
    User,
    node_of,
    party_of,
    party_ref_of,
)
from .relationships import ContactPerson, Path, Relationship, Responsibility

__all__ = [
    "Activity",
    "Address",
    "Category",
    "Contact",
    "ContactPerson",
    "ContextInfo",
    "Email",
    "Fiscal",
    "HierarchyConnection",
    "HierarchyRow",
    "Network",
    "Node",
    "Organization",
    "Party",
    "PartyConnection",
    "Path",
    "Phone",
    "Relationship",
    "Responsibility",
    "User",
    "node_of",
    "party_of",
    "party_ref_of",
]
