"""External ids: the ids a party has in other systems, so a sync from one of them finds
the party it wrote last time. A (source, key) pair is held by one party not archived at
most (rules.claims, like VAT numbers); the stores index it as the key `ext` with the
value token() gives."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from .errors import InvalidValue
from .model import ExternalId

_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
MAX_KEY = 200
MAX_IDS = 20
"""External ids one party may hold: a party is known to a few systems, not hundreds."""


def normalised(ids: Iterable[ExternalId]) -> tuple[ExternalId, ...]:
    """The ids as stored: source lower case, key trimmed, each once, in the order given;
    InvalidValue naming the first that is not valid."""
    found: dict[ExternalId, None] = {}
    for i, given in enumerate(ids):
        source = given.source.strip().lower()
        if not _SOURCE.fullmatch(source):
            raise InvalidValue(
                f"externalIds[{i}].source",
                given.source,
                "is not 1-32 letters, digits, '.', '_' or '-' starting with a letter or digit",
            )
        key = given.key.strip()
        if not key or len(key) > MAX_KEY or not key.isprintable():
            raise InvalidValue(
                f"externalIds[{i}].key",
                given.key,
                f"is not 1-{MAX_KEY} printable characters",
            )
        found[ExternalId(source, key)] = None
    if len(found) > MAX_IDS:
        raise InvalidValue("externalIds", f"{len(found)} ids", f"are more than {MAX_IDS}")
    return tuple(found)


def token(external_id: ExternalId) -> str:
    """How the stores index an id: one whitespace-free token (keys are compared exactly,
    case and all, as the other system gives them)."""
    return f"{external_id.source}:{quote(external_id.key, safe='')}"


def shown(external_id: ExternalId) -> str:
    return f"{external_id.source}:{external_id.key}"
