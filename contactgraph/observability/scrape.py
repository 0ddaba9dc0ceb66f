"""GET /metrics, and who may read it.

Metrics tell how the server is used (operation names, error rates), so they are not
public. A scrape is answered when it sends either the dedicated scrape token
(`serve --metrics-token`, compared in constant time, never stored in the graph:
a Prometheus server needs no user) or the bearer credential of a viewer holding
ADMIN everywhere, who then counts against their --rate-limit like any request.
With `serve --demo` on a loopback --host it is open, as GraphiQL there already
hands whoever opens it the administrator's token. Otherwise 401 without a valid
credential, 403 for one without ADMIN. The answer is read from memory (and, with
several workers, from their files), never from the store.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from ..access.authenticator import Authenticator
from ..access.credentials import bearer
from ..access.rate import RateLimiter
from ..config import Settings
from ..graph.identity import Permission
from ..http import RequestError, request_error, signed_in
from .metrics import Sampler, exposition


class MetricsEndpoint:
    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        limiter: RateLimiter,
        sampler: Sampler,
    ) -> None:
        self._settings = settings
        self._authenticator = authenticator
        self._limiter = limiter
        self._sampler = sampler

    def _scraper(self, request: Request) -> bool:
        token = self._settings.metrics_token
        given = bearer(request.headers.get("authorization"))
        return (
            token is not None
            and given is not None
            and hmac.compare_digest(given.encode(), token.encode())
        )

    async def handle(self, request: Request) -> Response:
        if not (self._settings.metrics_open or self._scraper(request)):
            try:
                viewer = await signed_in(
                    self._authenticator, self._limiter, request, self._settings
                )
            except RequestError as error:
                return request_error(error)
            if not viewer.can(Permission.ADMIN):
                message = "reading /metrics needs the ADMIN permission"
                return request_error(RequestError(403, message, None, {"code": "FORBIDDEN"}))
        self._sampler.sample()
        body, media_type = exposition()
        return Response(body, media_type=media_type)
