"""GET /calendar/USER_ID.ics and /calendar/team/TEAM_ID.ics: an agenda as an RFC 5545
feed a calendar application subscribes to (docs/calendar.md).

Calendar applications cannot send an Authorization header, so the credential may come
as ?token=: only a read-only token (createApiToken(readOnly: true)) is taken there,
since a URL travels further than a header (bookmarks, the application's sync service).
It reads as its user reads: READ within their scope, the rate limit and the request
timeout. The window is calendars.PAST before now to calendars.AHEAD after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request
from starlette.responses import Response

from .access.authenticator import Authenticator
from .access.guard import GuardedStore
from .access.rate import RateLimiter
from .config import Settings
from .graph import calendars, deadlines, teams
from .graph.agenda import AgendaQuery
from .graph.errors import BadUserInput, Forbidden, GraphError
from .graph.model import ActivityStatus
from .graph.store import GraphStore
from .graph.times import utcnow
from .http import RequestError, request_error, signed_in
from .subgraph_http import STATUS

MEDIA = "text/calendar; charset=utf-8"


def _credential(request: Request) -> tuple[str | None, bool]:
    """The Authorization value, and whether it came in the URL."""
    token = request.query_params.get("token")
    if token is None:
        return request.headers.get("authorization"), False
    if "authorization" in request.headers:
        raise BadUserInput("send the token once: as ?token= or in Authorization, not both")
    return f"Bearer {token}", True


@dataclass(frozen=True)
class CalendarEndpoint:
    store: GraphStore
    settings: Settings
    authenticator: Authenticator
    limiter: RateLimiter

    async def user(self, request: Request) -> Response:
        return await self._feed(request, team=False)

    async def team(self, request: Request) -> Response:
        return await self._feed(request, team=True)

    async def _feed(self, request: Request, team: bool) -> Response:
        name = request.path_params["name"]
        try:
            if not name.endswith(".ics"):
                raise RequestError(404, "a feed's name ends in .ics", None, {"code": "NOT_FOUND"})
            authorization, in_url = _credential(request)
            viewer = await signed_in(
                self.authenticator, self.limiter, request, self.settings, authorization
            )
            if in_url and not viewer.read_only:
                raise Forbidden(
                    "only a read-only token may travel in a URL: make one with "
                    "createApiToken(readOnly: true), or send this one in Authorization"
                )
            now = utcnow()
            store = cast(GraphStore, GuardedStore(self.store, viewer, now))
            party_id = name.removesuffix(".ics")
            with deadlines.limit(self.settings.request_timeout):
                people = (
                    await teams.members(store, party_id, now, self.settings.max_depth)
                    if team
                    else [party_id]
                )
                since, until = calendars.window(now)
                query = AgendaQuery(
                    await teams.users(store, people), since, until, statuses=tuple(ActivityStatus)
                )
                body = calendars.feed(party_id, await store.agenda(query), now)
        except RequestError as error:
            return request_error(error)
        except GraphError as error:
            status = STATUS.get(error.code, 500)
            return request_error(RequestError(status, error.message, None, {"code": error.code}))
        return Response(body, media_type=MEDIA)
