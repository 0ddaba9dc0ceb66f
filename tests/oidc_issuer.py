"""A real OpenID Connect issuer on a loopback port, for tests of bearer-token verification.

It serves discovery and a JWKS over HTTP with uvicorn, and signs real JWTs with RSA and
EC P-256 keys it generates, so tests exercise the same network and crypto paths as
production:

    async with Issuer() as issuer:
        token = issuer.sign(issuer.claims(username="alice"))
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

AUDIENCE = "contactgraph"


def generate(alg: str) -> PrivateKey:
    """A fresh private key for RS256 or ES256."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"no key type for {alg}")


def public_jwk(key: PrivateKey, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = algorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


class Issuer:
    """An async context manager; `issuer` is its URL once entered.

    `current` maps each algorithm to the kid `sign` uses by default; `rotate` adds a key and
    makes it current. `jwks_fetches` and `discovery_fetches` count requests served;
    `jwks_body`, when set, is served instead of the real JWKS, in 64 KB chunks without a
    Content-Length if `chunked`; `stop` makes it unreachable.
    """

    def __init__(self, audience: str = AUDIENCE) -> None:
        self.audience = audience
        self.keys: dict[str, tuple[str, PrivateKey]] = {}  # kid -> (alg, private key)
        self.current: dict[str, str] = {}
        self.published: list[str] = []  # kids in the JWKS, in order
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.jwks_body: bytes | None = None
        self.chunked = False
        self.issuer = ""
        for alg in ("RS256", "ES256"):
            self.rotate(alg)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    def rotate(self, alg: str = "RS256") -> str:
        """Publish a new key for `alg` and sign with it from now on; returns its kid."""
        kid = f"{alg.lower()}-{uuid.uuid4().hex[:12]}"
        self.keys[kid] = (alg, generate(alg))
        self.current[alg] = kid
        self.published.append(kid)
        return kid

    def retire(self, kid: str) -> None:
        """Stop publishing a key (it can still sign, as a leaked key would)."""
        self.published.remove(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.keys[k][1], k, self.keys[k][0]) for k in self.published]}

    def claims(self, username: str | None = "alice", **overrides: Any) -> dict[str, Any]:
        """Valid claims for this issuer and audience, five minutes to live; an override of
        None removes that claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "preferred_username": username,
            **overrides,
        }
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        alg: str = "RS256",
        kid: str | None = None,
        key: PrivateKey | None = None,
    ) -> str:
        """A JWT signed with `key`, else the key of `kid`, else the current key for `alg`.
        The header names `kid` if given, else the signing key's kid (if it is one of ours)."""
        if key is None:
            kid = kid or self.current[alg]
            key = self.keys[kid][1]
        headers = {"kid": kid} if kid else None
        return jwt.encode(claims, key, algorithm=alg, headers=headers)

    def public_key(self, kid: str) -> Any:
        return self.keys[kid][1].public_key()

    async def _discovery(self, request: Request) -> Response:
        self.discovery_fetches += 1
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        body = self.jwks_body
        if body is not None and self.chunked:
            chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
            return StreamingResponse(iter(chunks), media_type="application/json")
        if body is not None:
            return Response(body, media_type="application/json")
        return JSONResponse(self.jwks())

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        self.issuer = f"http://{host}:{port}"
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks.json", self._jwks),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close the port: from now on connections to the issuer are refused."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None

    async def __aenter__(self) -> Issuer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
