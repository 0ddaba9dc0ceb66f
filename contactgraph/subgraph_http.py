"""GET /export/graphml and /export/gexf: the subgraph a walk from one party reaches, for
the explorer to hand to analysts' tools, as `contactgraph export --format graphml` writes
it. It is a read like GraphQL's `descendants` and `network`: the viewer's bearer token,
READ within its scope (a root outside it is as unknown as one that does not exist), the
viewer's rate limit, the request timeout and the server's ceilings (--max-depth,
--max-network-size) hold as they do there; `limit` (at most --max-network-size) bounds
the parties of either walk.

    GET /export/graphml?root=ID[&walk=descendants|network][&depth=N][&types=A,B]
        [&asOf=DATE][&limit=N]
"""

from __future__ import annotations

import io
from typing import cast

from starlette.requests import Request
from starlette.responses import Response

from .access.authenticator import Authenticator
from .access.guard import GuardedStore
from .access.rate import RateLimiter
from .config import Settings
from .graph import deadlines
from .graph.errors import BadUserInput, GraphError, LimitExceeded
from .graph.interchange.subgraph import (
    FORMATS,
    SubgraphQuery,
    Walk,
    parse_as_of,
    parse_types,
    subgraph,
    write,
)
from .graph.store import GraphStore
from .graph.times import utcnow
from .http import RequestError, request_error, signed_in

MEDIA = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}
STATUS = {
    "BAD_USER_INPUT": 400,
    "LIMIT_EXCEEDED": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "TIMEOUT": 504,
    "SERVICE_UNAVAILABLE": 503,
}


def _number(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadUserInput(f"{name} must be a whole number, not {text!r}") from None


def _query(request: Request, settings: Settings) -> SubgraphQuery:
    """The walk the query string asks for; BadUserInput or LimitExceeded naming what."""
    root = request.query_params.get("root")
    if not root:
        raise BadUserInput("give root=PARTY_ID")
    walk = request.query_params.get("walk", Walk.DESCENDANTS.value)
    if walk not in {w.value for w in Walk}:
        raise BadUserInput(f"walk is descendants or network, not {walk!r}")
    limit = _number(request, "limit") or settings.max_network_size
    if limit > settings.max_network_size:
        raise LimitExceeded(f"limit may be at most {settings.max_network_size}")
    as_of = request.query_params.get("asOf")
    return SubgraphQuery(
        root_id=root,
        walk=Walk(walk),
        types=parse_types(request.query_params.get("types", "")),
        depth=_number(request, "depth"),
        as_of=parse_as_of(as_of) if as_of else utcnow(),
        depth_ceiling=settings.max_depth,
        limit=limit,
        most=limit,
    )


class SubgraphEndpoint:
    def __init__(
        self,
        store: GraphStore,
        settings: Settings,
        authenticator: Authenticator,
        limiter: RateLimiter,
    ) -> None:
        self._store = store
        self._settings = settings
        self._authenticator = authenticator
        self._limiter = limiter

    async def handle(self, request: Request) -> Response:
        file_format = request.path_params["format"]
        try:
            if file_format not in FORMATS:
                known = ", ".join(FORMATS)
                raise RequestError(404, f"exports are {known}", None, {"code": "NOT_FOUND"})
            viewer = await signed_in(self._authenticator, self._limiter, request, self._settings)
            query = _query(request, self._settings)
            guarded = GuardedStore(self._store, viewer, utcnow())  # scopes as they are now
            with deadlines.limit(self._settings.request_timeout):
                found = await subgraph(cast(GraphStore, guarded), query)
        except RequestError as error:
            return request_error(error)
        except GraphError as error:
            status = STATUS.get(error.code, 500)
            return request_error(RequestError(status, error.message, None, {"code": error.code}))
        out = io.BytesIO()
        write(found, file_format, out)
        name = f"{query.root_id}-{query.walk.value}.{file_format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(out.getvalue(), media_type=MEDIA[file_format], headers=headers)
