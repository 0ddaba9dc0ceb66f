"""The domain enums, exposed to GraphQL under their own names and values."""

import strawberry

from ..graph import identity, model

PartyKind = strawberry.enum(model.PartyKind, description="What a party is.")
LegalForm = strawberry.enum(model.LegalForm, description="How the law sees a party.")
UnitType = strawberry.enum(model.UnitType, description="The level of an organizational unit.")
RelType = strawberry.enum(
    model.RelType,
    description="A relationship type; which kinds of party it may join is checked on write.",
)
Direction = strawberry.enum(model.Direction, description="Which edges of a party to read.")
ActivityType = strawberry.enum(model.ActivityType, description="What kind of activity.")
Permission = strawberry.enum(identity.Permission, description="What a role lets a user do.")
ScopeKind = strawberry.enum(
    identity.ScopeKind,
    description="How a grant's scope party reaches: SUBTREE, the party and every party up to "
    "64 levels below it in the default hierarchy as of now; PORTFOLIO, the parties that the "
    "users at or below it are RESPONSIBLE_FOR now, and their subtrees.",
)
