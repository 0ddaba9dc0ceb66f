"""The signed-in user a request acts as, and the checks made against it."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph.errors import Forbidden
from ..graph.identity import Permission
from ..graph.model import Party


@dataclass(frozen=True)
class Viewer:
    user: Party
    permissions: frozenset[Permission]
    token_id: str | None = None  # None when a JWT signed the user in

    @property
    def id(self) -> str:
        return self.user.id

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, action: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"{action} needs the {permission.value} permission")
