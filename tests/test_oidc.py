"""The OIDC bearer-token verifier against a real issuer on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from oidc_issuer import Issuer, generate, public_jwk

from contactgraph.access.oidc import OidcVerifier, _algorithm
from contactgraph.graph.errors import Unauthenticated

AUDIENCE = "contactgraph"


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async with Issuer(AUDIENCE) as issuer:
        yield issuer


@pytest.fixture
async def verifier(issuer: Issuer) -> AsyncIterator[OidcVerifier]:
    verifier = OidcVerifier(issuer.issuer, AUDIENCE)
    yield verifier
    await verifier.close()


async def refused(verifier: OidcVerifier, token: str) -> None:
    """Refused, with the one message every refusal carries."""
    with pytest.raises(Unauthenticated) as caught:
        await verifier.username(token)
    assert caught.value.message == "invalid credential"
    assert str(caught.value) == "invalid credential"
    assert caught.value.code == "UNAUTHENTICATED"
    assert caught.value.__cause__ is None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_valid_token_gives_the_username(
    issuer: Issuer, verifier: OidcVerifier, alg: str
) -> None:
    token = issuer.sign(issuer.claims(username="alice"), alg=alg)
    assert await verifier.username(token) == "alice"


async def test_another_claim_and_an_audience_list(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, claim="email")
    try:
        claims = issuer.claims(email="bob@example.com", aud=["other", AUDIENCE])
        assert await verifier.username(issuer.sign(claims)) == "bob@example.com"
    finally:
        await verifier.close()


async def test_expired(issuer: Issuer, verifier: OidcVerifier) -> None:
    now = int(time.time())
    await refused(verifier, issuer.sign(issuer.claims(iat=now - 600, exp=now - 60)))


async def test_leeway_covers_small_clock_skew(issuer: Issuer, verifier: OidcVerifier) -> None:
    now = int(time.time())
    token = issuer.sign(issuer.claims(exp=now - 10, nbf=now + 10, iat=now + 10))
    assert await verifier.username(token) == "alice"


async def test_no_expiry(issuer: Issuer, verifier: OidcVerifier) -> None:
    claims = issuer.claims()
    del claims["exp"]
    await refused(verifier, issuer.sign(claims))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid(issuer: Issuer, verifier: OidcVerifier, claim: str) -> None:
    now = int(time.time())
    claims = issuer.claims(exp=now + 900, **{claim: now + 120})
    await refused(verifier, issuer.sign(claims))


@pytest.mark.parametrize("aud", ["someone-else", ["a", "b"], None, f"{AUDIENCE}x"])
async def test_wrong_audience(issuer: Issuer, verifier: OidcVerifier, aud: Any) -> None:
    claims = issuer.claims(aud=aud)
    if aud is None:
        claims.pop("aud", None)
    await refused(verifier, issuer.sign(claims))


async def test_wrong_issuer(issuer: Issuer, verifier: OidcVerifier) -> None:
    # A prefix of the issuer (CVE-2024-53861), one with a trailing slash, a stranger, none.
    for iss in (issuer.issuer[:-1], issuer.issuer + "/", "https://evil.example", None):
        await refused(verifier, issuer.sign(issuer.claims(iss=iss)))
    assert await verifier.username(issuer.sign(issuer.claims())) == "alice"


@pytest.mark.parametrize("value", [None, "", "   ", 42, ["alice"], {"name": "alice"}])
async def test_missing_or_unusable_claim(
    issuer: Issuer, verifier: OidcVerifier, value: Any
) -> None:
    await refused(verifier, issuer.sign(issuer.claims(username=value)))


async def test_unknown_kid_is_refreshed_and_accepted_after_rotation(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, refresh_interval=0.3)
    try:
        assert await verifier.username(issuer.sign(issuer.claims())) == "alice"
        assert issuer.jwks_fetches == 1
        old = issuer.current["RS256"]
        new = issuer.rotate("RS256")
        await asyncio.sleep(0.35)
        assert await verifier.username(issuer.sign(issuer.claims(username="bob"))) == "bob"
        assert issuer.jwks_fetches == 2
        # The old key is still published, so still good, and known: no further fetch.
        token = issuer.sign(issuer.claims(username="carol"), kid=old)
        assert await verifier.username(token) == "carol"
        assert issuer.jwks_fetches == 2
        # Discovery once; after that only the JWKS.
        assert issuer.discovery_fetches == 1
        assert new != old
    finally:
        await verifier.close()


async def test_retired_key_is_dropped_on_refresh(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, refresh_interval=0)
    try:
        old = issuer.current["RS256"]
        assert await verifier.username(issuer.sign(issuer.claims())) == "alice"
        issuer.rotate("RS256")
        issuer.retire(old)
        assert await verifier.username(issuer.sign(issuer.claims())) == "alice"
        await refused(verifier, issuer.sign(issuer.claims(), kid=old))
    finally:
        await verifier.close()


async def test_rotation_within_the_interval_waits_for_it(
    issuer: Issuer, verifier: OidcVerifier
) -> None:
    assert await verifier.username(issuer.sign(issuer.claims())) == "alice"
    issuer.rotate("RS256")
    await refused(verifier, issuer.sign(issuer.claims()))
    assert issuer.jwks_fetches == 1


async def test_random_kids_cause_at_most_one_fetch(issuer: Issuer, verifier: OidcVerifier) -> None:
    key = generate("RS256")
    tokens = [issuer.sign(issuer.claims(), key=key, kid=uuid.uuid4().hex) for _ in range(50)]
    # Concurrently on a cold cache: they share one fetch.
    results = await asyncio.gather(
        *(verifier.username(t) for t in tokens[:25]), return_exceptions=True
    )
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert issuer.jwks_fetches == 1
    # Then one by one within the interval: none fetches again.
    for token in tokens[25:]:
        await refused(verifier, token)
    assert issuer.jwks_fetches == 1
    assert issuer.discovery_fetches == 1
    # And the issuer's real keys were loaded by that one fetch.
    assert await verifier.username(issuer.sign(issuer.claims())) == "alice"


async def test_concurrent_first_requests_share_one_fetch(
    issuer: Issuer, verifier: OidcVerifier
) -> None:
    tokens = [issuer.sign(issuer.claims(username=f"u{i}"), alg="ES256") for i in range(20)]
    names = await asyncio.gather(*(verifier.username(t) for t in tokens))
    assert names == [f"u{i}" for i in range(20)]
    assert issuer.jwks_fetches == 1


async def test_cancelled_caller_does_not_cancel_the_shared_fetch(
    issuer: Issuer, verifier: OidcVerifier
) -> None:
    token = issuer.sign(issuer.claims())
    first = asyncio.create_task(verifier.username(token))
    await asyncio.sleep(0)
    second = asyncio.create_task(verifier.username(token))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "alice"
    assert issuer.jwks_fetches == 1


async def test_alg_none_refused(issuer: Issuer, verifier: OidcVerifier) -> None:
    claims = issuer.claims()
    for alg in ("none", "None", "NONE"):
        await refused(verifier, forge({"alg": alg, "typ": "JWT"}, claims))
        await refused(verifier, forge({"alg": alg, "kid": issuer.current["RS256"]}, claims))
    assert issuer.jwks_fetches == 0


@pytest.mark.parametrize("encoding", ["pem", "der", "jwk"])
async def test_hs256_with_the_public_key_as_secret_refused(
    issuer: Issuer, verifier: OidcVerifier, encoding: str
) -> None:
    """Algorithm confusion: a verifier trusting the header's alg would check this HMAC with
    the RSA public key as the secret, and accept it."""
    kid = issuer.current["RS256"]
    public = issuer.public_key(kid)
    secret = {
        "pem": lambda: public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": lambda: public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": lambda: json.dumps(issuer.jwks()["keys"][0]).encode(),
    }[encoding]()
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        unsigned = forge(header, issuer.claims()).rsplit(".", 1)[0]
        signature = hmac.new(secret, unsigned.encode(), digest).digest()
        await refused(verifier, f"{unsigned}.{b64(signature)}")


async def test_key_of_the_other_algorithm_refused(issuer: Issuer, verifier: OidcVerifier) -> None:
    """An RS256 signature under the kid of the EC key (and the reverse) is not accepted."""
    rsa_kid, ec_kid = issuer.current["RS256"], issuer.current["ES256"]
    rsa_key, ec_key = issuer.keys[rsa_kid][1], issuer.keys[ec_kid][1]
    await refused(verifier, issuer.sign(issuer.claims(), alg="RS256", key=rsa_key, kid=ec_kid))
    await refused(verifier, issuer.sign(issuer.claims(), alg="ES256", key=ec_key, kid=rsa_kid))


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES384", "EdDSA"])
async def test_other_algorithms_refused(issuer: Issuer, verifier: OidcVerifier, alg: str) -> None:
    kid = issuer.current["ES256" if alg.startswith("ES") else "RS256"]
    token = forge({"alg": alg, "kid": kid}, issuer.claims(), b"x" * 64)
    await refused(verifier, token)


async def test_tampered_token_refused(issuer: Issuer, verifier: OidcVerifier) -> None:
    for alg in ("RS256", "ES256"):
        token = issuer.sign(issuer.claims(username="alice"), alg=alg)
        header, payload, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
        raw[len(raw) // 2] ^= 0x01
        await refused(verifier, f"{header}.{payload}.{b64(bytes(raw))}")
        # The signature of one token over the claims of another.
        other = issuer.claims(username="mallory")
        forged_payload = b64(json.dumps(other).encode())
        await refused(verifier, f"{header}.{forged_payload}.{signature}")
        # Signed by a key the issuer never published, under the issuer's kid.
        stranger = generate(alg)
        kid = issuer.current[alg]
        await refused(verifier, issuer.sign(issuer.claims(), alg=alg, key=stranger, kid=kid))
        assert await verifier.username(token) == "alice"


async def test_token_over_16_kb_refused_before_decoding(
    issuer: Issuer, verifier: OidcVerifier
) -> None:
    big = issuer.sign(issuer.claims(padding="x" * 16_384))
    assert len(big) > 16 * 1024
    await refused(verifier, big)
    assert issuer.jwks_fetches == 0
    # Just under the limit is fine.
    small = issuer.sign(issuer.claims(padding="x" * 11_000))
    assert len(small) <= 16 * 1024
    assert await verifier.username(small) == "alice"


@pytest.mark.parametrize(
    "token", ["", "garbage", "a.b.c", "..", "a.b", "e30.e30.", "W10.e30.", "e30.W10.e30"]
)
async def test_malformed_tokens_refused(verifier: OidcVerifier, token: str) -> None:
    await refused(verifier, token)


async def test_issuer_unreachable(issuer: Issuer, caplog: pytest.LogCaptureFixture) -> None:
    token = issuer.sign(issuer.claims())
    await issuer.stop()
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, timeout=2)
    try:
        with caplog.at_level(logging.WARNING, logger="contactgraph.access"):
            await refused(verifier, token)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings and issuer.issuer in warnings[0].getMessage()
    finally:
        await verifier.close()


async def test_cached_keys_kept_when_a_refresh_fails(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, refresh_interval=0)
    try:
        known = issuer.sign(issuer.claims(username="alice"))
        assert await verifier.username(known) == "alice"
        issuer.rotate("RS256")
        unknown = issuer.sign(issuer.claims(username="bob"))
        await issuer.stop()
        await refused(verifier, unknown)
        assert await verifier.username(known) == "alice"
    finally:
        await verifier.close()


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_jwks_refused(
    issuer: Issuer, caplog: pytest.LogCaptureFixture, chunked: bool
) -> None:
    jwks = issuer.jwks()
    jwks["padding"] = "x" * (1024 * 1024)
    issuer.jwks_body = json.dumps(jwks).encode()
    issuer.chunked = chunked
    verifier = OidcVerifier(issuer.issuer, AUDIENCE)
    try:
        with caplog.at_level(logging.WARNING, logger="contactgraph.access"):
            await refused(verifier, issuer.sign(issuer.claims()))
        assert issuer.jwks_fetches == 1
        assert any("bytes" in r.getMessage() for r in caplog.records)
    finally:
        await verifier.close()


async def test_discovery_must_name_the_issuer(issuer: Issuer) -> None:
    """The configured issuer with a trailing slash finds the same discovery document, whose
    `issuer` then differs: refused, as OpenID Connect Discovery requires."""
    verifier = OidcVerifier(issuer.issuer + "/", AUDIENCE)
    try:
        await refused(verifier, issuer.sign(issuer.claims(iss=issuer.issuer + "/")))
        assert issuer.discovery_fetches == 1
        assert issuer.jwks_fetches == 0
    finally:
        await verifier.close()


async def test_the_reason_is_logged_at_debug_only(
    issuer: Issuer, verifier: OidcVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    with caplog.at_level(logging.DEBUG, logger="contactgraph.access"):
        await refused(verifier, issuer.sign(issuer.claims(exp=now - 600)))
    reasons = [r for r in caplog.records if r.name == "contactgraph.access"]
    assert [r.levelno for r in reasons] == [logging.DEBUG]
    assert "expired" in reasons[0].getMessage()


async def test_unusable_jwks_entries_are_skipped(issuer: Issuer) -> None:
    """A symmetric key, a P-384 key, an encryption key, a key whose `alg` contradicts its
    type and junk sit beside a good key: only the good key is used."""
    good = issuer.current["ES256"]
    secret = b"s" * 32
    junk: list[Any] = [
        {"kty": "oct", "kid": "oct", "k": b64(secret), "alg": "HS256"},
        {**public_jwk(issuer.keys[good][1], "enc", "ES256"), "use": "enc"},
        {**public_jwk(issuer.keys[issuer.current["RS256"]][1], "rs512", "RS256"), "alg": "RS512"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kid": "no-kty"},
        "not a key",
        public_jwk(issuer.keys[good][1], good, "ES256"),
    ]
    issuer.jwks_body = json.dumps({"keys": junk}).encode()
    verifier = OidcVerifier(issuer.issuer, AUDIENCE, refresh_interval=0)
    try:
        assert await verifier.username(issuer.sign(issuer.claims(), alg="ES256")) == "alice"
        unsigned = forge({"alg": "HS256", "kid": "oct"}, issuer.claims()).rsplit(".", 1)[0]
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        await refused(verifier, f"{unsigned}.{b64(signature)}")
        key = issuer.keys[good][1]
        await refused(verifier, issuer.sign(issuer.claims(), alg="ES256", key=key, kid="enc"))
        rsa_key = issuer.keys[issuer.current["RS256"]][1]
        await refused(verifier, issuer.sign(issuer.claims(), key=rsa_key, kid="rs512"))
        p384 = {"kty": "EC", "crv": "P-384", "x": "", "y": ""}
        assert _algorithm(p384) is None
    finally:
        await verifier.close()
