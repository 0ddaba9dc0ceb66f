"""The party_keys table: what parties are compared and looked up by, one row per value.
VAT numbers and tax codes are unique among parties that are not archived (checked by the
writer thread before it writes, so no other write comes between); e-mail addresses are
indexed for look-up; with the name, phone and address keys they find duplicates
(duplicates.py). Values are duplicates.keys() of the stored parties."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from .. import contactdata, duplicates, externalids, rules
from ..model import ExternalId, Party

INSERT = "INSERT OR IGNORE INTO party_keys (kind, value, party_id) VALUES (?, ?, ?)"


def rows(party: Party) -> list[tuple[str, str, str]]:
    """The party's rows: (kind, value, party id)."""
    return [(kind, value, party.id) for kind, value in duplicates.keys(party)]


def rewrite(conn: sqlite3.Connection, party: Party) -> None:
    conn.execute("DELETE FROM party_keys WHERE party_id = ?", (party.id,))
    conn.executemany(INSERT, rows(party))


def check_claims(
    conn: sqlite3.Connection, claims: Sequence[rules.Claim], quote: bool = True
) -> None:
    """Refuse unique codes held by other parties that are not archived."""
    if not claims:
        return
    holders = conn.execute(
        "SELECT k.kind, k.value, k.party_id FROM party_keys k "
        "JOIN parties p ON p.id = k.party_id AND p.archived_at IS NULL "
        "WHERE (k.kind, k.value) IN "
        "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
        (json.dumps([(c.kind, c.key) for c in claims]),),
    )
    rules.check_claims(claims, holders.fetchall(), quote)


def by_email(conn: sqlite3.Connection, addresses: Sequence[str]) -> dict[str, list[str]]:
    """The ids of parties not archived holding each address, in id order."""
    wanted = {address: contactdata.lookup_key(address) for address in addresses}
    found = _holders(conn, "email", wanted.values())
    return {address: found.get(key, []) for address, key in wanted.items()}


def by_external_id(
    conn: sqlite3.Connection, ids: Sequence[ExternalId]
) -> dict[ExternalId, list[str]]:
    """The ids of parties not archived holding each external id (one at most)."""
    wanted = {x: externalids.token(x) for x in ids}
    found = _holders(conn, duplicates.EXTERNAL, wanted.values())
    return {x: found.get(token, []) for x, token in wanted.items()}


def by_code(
    conn: sqlite3.Connection, codes: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """The id of the party not archived holding each (kind, key) of a VAT number or tax
    code, as contactdata.keys compares it (one at most)."""
    found = {
        kind: _holders(conn, kind, [k for c, k in codes if c == kind]) for kind in ("vat", "tax")
    }
    return {(kind, key): found.get(kind, {}).get(key, []) for kind, key in codes}


def _holders(conn: sqlite3.Connection, kind: str, values: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for value, party_id in conn.execute(
        "SELECT k.value, k.party_id FROM party_keys k "
        "JOIN parties p ON p.id = k.party_id AND p.archived_at IS NULL "
        "WHERE k.kind = ? AND k.value IN (SELECT value FROM json_each(?)) "
        "ORDER BY k.party_id",
        (kind, json.dumps(sorted(set(values)))),
    ):
        found.setdefault(value, []).append(party_id)
    return found
