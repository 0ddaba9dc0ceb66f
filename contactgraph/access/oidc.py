"""OpenID Connect bearer tokens: who a JWT from the configured issuer says the caller is.

Only RS256 and ES256 are accepted, and each key is used only with its own algorithm, so a
token cannot pick `none`, an HMAC with the public key as secret, or another key's algorithm.
Every refusal raises the same Unauthenticated: the reason goes to the debug log, never to
the caller, who could otherwise probe which check a forged token passed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import jwt

from contactgraph.graph.errors import Unauthenticated

log = logging.getLogger("contactgraph.access")

ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_TOKEN = 16 * 1024
MAX_DOCUMENT = 1024 * 1024
MESSAGE = "invalid credential"


class _Refused(Exception):
    """Why a token or an issuer's document was not accepted; kept server-side."""


class OidcVerifier:
    """Verifies bearer tokens against one issuer's published keys.

    The keys are fetched on first use and again when a token names a `kid` not yet seen
    (the issuer rotated), but at most once per `refresh_interval` seconds, so random kids
    cannot make the server hammer the issuer; callers arriving during a fetch share it.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        claim: str = "preferred_username",
        *,
        timeout: float = 5.0,
        refresh_interval: float = 30.0,
        leeway: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.claim = claim
        self._timeout = timeout
        self._refresh_interval = refresh_interval
        self._leeway = leeway
        # No redirects: the keys must come from where the issuer's documents say.
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._jwks_uri: str | None = None
        self._keys: dict[str, tuple[str, Any]] = {}  # kid -> (its one algorithm, public key)
        self._attempted: float | None = None
        self._refreshing: asyncio.Task[None] | None = None

    async def username(self, token: str) -> str:
        """The value of `claim` in a valid token; raises Unauthenticated otherwise."""
        try:
            return await self._verify(token)
        except (_Refused, jwt.PyJWTError) as error:
            log.debug("bearer token refused: %s", error)
            raise Unauthenticated(MESSAGE) from None
        except Exception:
            # A token no check expected is still only a bad credential to its sender.
            log.warning("bearer token refused by an unexpected error", exc_info=True)
            raise Unauthenticated(MESSAGE) from None

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        await self._client.aclose()

    async def _verify(self, token: str) -> str:
        if len(token) > MAX_TOKEN:
            raise _Refused(f"token of {len(token)} characters")
        header = jwt.get_unverified_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise _Refused(f"algorithm {alg!r}")
        if not isinstance(kid, str):
            raise _Refused("no kid")
        if kid not in self._keys:
            await self._refresh()
        if kid not in self._keys:
            raise _Refused(f"unknown kid {kid!r}")
        algorithm, key = self._keys[kid]
        if algorithm != alg:
            raise _Refused(f"key {kid!r} is for {algorithm}, token says {alg}")
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self._leeway,
            options={"require": ["exp", "iss", "aud"]},
        )
        # Again by hand: PyJWT 2.10.0 accepted any substring of the issuer (CVE-2024-53861).
        if claims.get("iss") != self.issuer:
            raise _Refused(f"issuer {claims.get('iss')!r}")
        value = claims.get(self.claim)
        if not isinstance(value, str) or not value.strip():
            raise _Refused(f"claim {self.claim!r} is {value!r}")
        return value

    async def _refresh(self) -> None:
        """Reload the keys unless that was tried within the interval; join a running reload.

        The reload runs as its own task, shielded, so a caller that is cancelled (its client
        went away) does not cancel the fetch the others are waiting for.
        """
        task = self._refreshing
        if task is None:
            now = time.monotonic()
            if self._attempted is not None and now - self._attempted < self._refresh_interval:
                return
            self._attempted = now
            task = self._refreshing = asyncio.create_task(self._reload())
        await asyncio.shield(task)

    async def _reload(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                self._keys = await self._fetch_keys()
        except (_Refused, httpx.HTTPError, ValueError, TimeoutError) as error:
            # Keep the keys we have: tokens signed with them stay valid while the issuer is down.
            self._jwks_uri = None  # and discover again next time, in case it moved
            reason = str(error) or type(error).__name__
            log.warning("OIDC keys of %s not refreshed: %s", self.issuer, reason)
        finally:
            self._refreshing = None

    async def _fetch_keys(self) -> dict[str, tuple[str, Any]]:
        if self._jwks_uri is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            discovery = await self._get(url)
            # OpenID Connect Discovery 1.0, section 4.3: the document must name this issuer.
            if discovery.get("issuer") != self.issuer:
                raise _Refused(f"discovery names issuer {discovery.get('issuer')!r}")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                raise _Refused(f"jwks_uri {jwks_uri!r}")
            self._jwks_uri = jwks_uri
        jwks = await self._get(self._jwks_uri)
        entries = jwks.get("keys")
        keys: dict[str, tuple[str, Any]] = {}
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            algorithm = _algorithm(entry)
            if algorithm is None or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = (algorithm, jwt.PyJWK(entry, algorithm).key)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
                log.debug("JWKS of %s: key %r skipped: %s", self.issuer, entry["kid"], error)
        if not keys:
            raise _Refused(f"no RS256 or ES256 signing key in {self._jwks_uri}")
        return keys

    async def _get(self, url: str) -> dict[str, Any]:
        """A JSON object of at most MAX_DOCUMENT bytes, read in chunks so a huge or endless
        response is cut off rather than held in memory; uncompressed, so no small response
        inflates to a huge one."""
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        async with self._client.stream("GET", url, headers=headers) as r:
            r.raise_for_status()
            if r.headers.get("content-encoding", "identity") != "identity":
                raise _Refused(f"{url}: encoded {r.headers['content-encoding']}")
            if int(r.headers.get("content-length") or 0) > MAX_DOCUMENT:
                raise _Refused(f"{url}: {r.headers['content-length']} bytes")
            body = bytearray()
            async for chunk in r.aiter_raw():
                body += chunk
                if len(body) > MAX_DOCUMENT:
                    raise _Refused(f"{url}: more than {MAX_DOCUMENT} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise _Refused(f"{url}: not a JSON object")
        return document


def _algorithm(jwk: dict[str, Any]) -> str | None:
    """RS256 for an RSA key, ES256 for a P-256 key, if its `alg` (optional) agrees.

    Decided here rather than by PyJWK, whose guess may be another algorithm (a P-384 key)
    and which before PyJWT 2.9 does not say what it guessed.
    """
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    implied = "RS256" if kty == "RSA" else "ES256" if (kty, crv) == ("EC", "P-256") else None
    return implied if alg in (None, implied) else None
