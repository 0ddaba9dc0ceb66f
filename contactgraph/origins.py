"""Which browser pages may use the API: the origins `--cors-origin` names.

Over HTTP, CORS: pages on those origins may read answers (Starlette's CORSMiddleware
answers their preflights); without any, no CORS header is sent and browsers keep
cross-origin pages from reading. Browsers apply no CORS to a WebSocket handshake, so
the upgrade's Origin is checked against the same list (websocket.py): a page elsewhere
is refused, a client sending no Origin (not a browser) and the server's own pages
(GraphiQL) are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

FLAG = "--cors-origin"
_SEPARATORS = re.compile(r"[\s,]+")


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """Origins as browsers send them (`https://app.example`, `http://localhost:3000`),
    from flag values that may each hold several, comma- or space-separated; ValueError
    for anything else, `*` included: every origin allowed is one to name."""
    found: list[str] = []
    for value in values:
        for origin in _SEPARATORS.split(value.strip()):
            if not origin:
                continue
            if origin == "*":
                raise ValueError(f"{FLAG} takes origins one by one, not '*'")
            try:
                normalize_allowed_origins([origin])
            except ValueError:
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], no path"
                ) from None
            normalized = normalize_origin(origin)
            assert normalized is not None  # it passed the check above
            if normalized not in found:
                found.append(normalized)
    return tuple(found)


def cors(origins: tuple[str, ...]) -> list[Middleware]:
    """The CORS middleware for `origins`: none without any."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After"],  # so a page told 429 can tell when to ask again
            max_age=600,
        )
    ]


def refusal(origin: str) -> str:
    """Why a WebSocket from a page on `origin` was refused, and how to allow it."""
    shown = normalize_origin(origin)
    if shown is None:  # "null" (a sandboxed page, a file) or worse: nothing to allow
        return f"origin {origin[:200]!r} is not allowed: {FLAG} names the origins that are"
    return f"origin {shown} is not allowed: start the server with {FLAG} {shown}"
