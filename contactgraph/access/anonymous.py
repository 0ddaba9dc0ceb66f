"""`serve --insecure-anonymous-admin`: requests without any credential act as an
administrator, for experiments on one's own machine.

They act as a real User party, `anonymous-admin`, so what they write has an author;
it is found, or made, with the admin role when the server starts. The CLI refuses the
flag unless the server listens on loopback only.
"""

from __future__ import annotations

import logging

from ..graph.errors import Conflict
from ..graph.identity import Grant
from ..graph.ids import new_id
from ..graph.model import LegalForm, Party, PartyKind
from ..graph.records import new_party
from ..graph.store import GraphStore
from ..graph.times import utcnow

FLAG = "--insecure-anonymous-admin"
USERNAME = "anonymous-admin"
ROLE = "admin"

log = logging.getLogger("contactgraph.access")


async def anonymous_admin(store: GraphStore) -> Party:
    """The user anonymous requests act as: found or made, and holding the admin role."""
    user = await store.user_by_username(USERNAME)
    if user is None:
        made = new_party(
            PartyKind.USER,
            "Anonymous administrator",
            username=USERNAME,
            legal_form=LegalForm.NATURAL_PERSON,
        )
        try:
            user = await store.create_user(made, [])
        except Conflict:  # another process starting on the same graph made it first
            user = await store.user_by_username(USERNAME)
            if user is None:
                raise
    await store.grant_role(Grant(new_id(), user.id, ROLE, utcnow()))  # kept if held
    log.warning(
        "%s: every request without an Authorization header acts as the administrator "
        "%r (user %s); never use this on a graph with real data or a shared machine",
        FLAG,
        USERNAME,
        user.id,
    )
    if user.archived_at is not None:
        log.error("user %r is archived: requests without a credential are refused", USERNAME)
    return user
