"""The domain enums, exposed to GraphQL under their own names and values."""

import strawberry

from ..graph import model

PartyKind = strawberry.enum(model.PartyKind, description="What a party is.")
LegalForm = strawberry.enum(model.LegalForm, description="How the law sees a party.")
UnitType = strawberry.enum(model.UnitType, description="The level of an organizational unit.")
RelType = strawberry.enum(
    model.RelType, description="A relationship type; the endpoint rules are in DESIGN.md."
)
Direction = strawberry.enum(model.Direction, description="Which edges of a party to read.")
ActivityType = strawberry.enum(model.ActivityType, description="What kind of activity.")
