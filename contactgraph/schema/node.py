"""The Node interface: what every object with an id shares, for node(id)."""

import strawberry


@strawberry.interface(description="An object with a stable, server-made id.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque and unique across every type; it never changes, also not when "
        "the object is archived or merged."
    )
