"""Bearer secrets: made random, stored only as a hash, read from request headers."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta

PREFIX = "cgt_"  # lets secret scanners and people recognise a contactgraph token
_LIFETIME = re.compile(r"(\d{1,6})([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """SHA-256, hex. A random 256-bit secret needs no slow hash or salt: nothing can be
    guessed, and a deterministic hash is what lets a token be looked up by it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer SECRET` value (scheme in any case), or None."""
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authorization_in(payload: Mapping[str, object]) -> str | None:
    """The Authorization value of a WebSocket connection_init payload, key in any case."""
    for key, value in payload.items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


def lifetime(text: str) -> timedelta | None:
    """`90d`, `12h`, `2w`; `never` for a token that does not expire."""
    if text == "never":
        return None
    match = _LIFETIME.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a lifetime: write 12h, 90d, 2w or never")
    count, unit = match.groups()
    if int(count) == 0:
        raise ValueError("a lifetime must be longer than nothing")
    return timedelta(**{_UNITS[unit]: int(count)})
