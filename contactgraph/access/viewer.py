"""The signed-in user a request acts as, and the checks made against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..graph.errors import Forbidden
from ..graph.identity import Permission, Scope
from ..graph.model import Party


@dataclass(frozen=True)
class Viewer:
    user: Party
    everywhere: frozenset[Permission]  # from grants without a scope
    # permissions held only through scoped grants, and where they reach
    scoped: Mapping[Permission, Scope] = field(default_factory=dict)
    token_id: str | None = None  # None when a JWT signed the user in
    read_only: bool = False  # signed in by a read-only token: READ is all it may use

    @property
    def id(self) -> str:
        return self.user.id

    def can(self, permission: Permission) -> bool:
        """Whether the permission is held everywhere (ADMIN counts only so)."""
        return permission in self.everywhere

    def require(self, permission: Permission, action: str) -> None:
        if permission not in self.everywhere:
            raise Forbidden(f"{action} needs the {permission.value} permission")

    def scope(self, permission: Permission, action: str) -> Scope | None:
        """Where the permission reaches: None for everywhere, FORBIDDEN for nowhere."""
        if permission in self.everywhere:
            return None
        if permission in self.scoped and permission is not Permission.ADMIN:
            return self.scoped[permission]
        raise Forbidden(f"{action} needs the {permission.value} permission")
