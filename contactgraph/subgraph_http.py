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
from dataclasses import dataclass
from typing import cast

from starlette.requests import Request
from starlette.responses import Response

from .access.authenticator import Authenticator
from .access.guard import GuardedStore
from .access.rate import RateLimiter
from .config import Settings
from .graph import deadlines
from .graph.errors import BadUserInput, GraphError, LimitExceeded
from .graph.interchange import subgraph as walks
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


def _query(request: Request, settings: Settings) -> walks.SubgraphQuery:
    """The walk the query string asks for; BadUserInput or LimitExceeded naming what."""
    root = request.query_params.get("root")
    if not root:
        raise BadUserInput("give root=PARTY_ID")
    walk = request.query_params.get("walk", walks.Walk.DESCENDANTS.value)
    if walk not in {w.value for w in walks.Walk}:
        raise BadUserInput(f"walk is descendants or network, not {walk!r}")
    limit = _number(request, "limit") or settings.max_network_size
    if limit > settings.max_network_size:
        raise LimitExceeded(f"limit may be at most {settings.max_network_size}")
    as_of = request.query_params.get("asOf")
    return walks.SubgraphQuery(
        root_id=root,
        walk=walks.Walk(walk),
        types=walks.parse_types(request.query_params.get("types", "")),
        depth=_number(request, "depth"),
        as_of=walks.parse_as_of(as_of) if as_of else utcnow(),
        depth_ceiling=settings.max_depth,
        limit=limit,
        most=limit,
    )


@dataclass(frozen=True)
class SubgraphEndpoint:
    store: GraphStore
    settings: Settings
    authenticator: Authenticator
    limiter: RateLimiter

    async def handle(self, request: Request) -> Response:
        file_format = request.path_params["format"]
        try:
            if file_format not in walks.FORMATS:
                known = ", ".join(walks.FORMATS)
                raise RequestError(404, f"exports are {known}", None, {"code": "NOT_FOUND"})
            viewer = await signed_in(self.authenticator, self.limiter, request, self.settings)
            query = _query(request, self.settings)
            guarded = GuardedStore(self.store, viewer, utcnow())  # scopes as they are now
            with deadlines.limit(self.settings.request_timeout):
                found = await walks.subgraph(cast(GraphStore, guarded), query)
        except RequestError as error:
            return request_error(error)
        except GraphError as error:
            status = STATUS.get(error.code, 500)
            return request_error(RequestError(status, error.message, None, {"code": error.code}))
        out = io.BytesIO()
        walks.write(found, file_format, out)
        name = f"{query.root_id}-{query.walk.value}.{file_format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(out.getvalue(), media_type=MEDIA[file_format], headers=headers)
