"""What parties are compared and looked up by, as properties of their nodes: vat_key and
tax_key (range indexes; unique among parties that are not archived, checked under the
fiscal write lock) and email_keys (the addresses, space-separated, in a full-text index
that keeps each one whole: search.INDEX); external ids are dup_keys tokens `ext=...` in
that index too. Values are contactdata.keys() of the stored
parties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .. import attributes, contactdata, duplicates, externalids, rules
from ..errors import BadUserInput, Conflict
from ..model import Category, ExternalId, Party, PartyKind
from . import cypher, pending, search, vocabulary
from .cypher import PARTY_MAP, Reach, Tx, key_props, party

SCHEMA: tuple[str, ...] = (
    "CREATE INDEX party_vat IF NOT EXISTS FOR (p:Party) ON (p.vat_key)",
    "CREATE INDEX party_tax IF NOT EXISTS FOR (p:Party) ON (p.tax_key)",
)
_BATCH = 2_000


async def lock(tx: Tx) -> None:
    """Writes that give parties unique codes take turns: the check that a code is free
    and the write that takes it must not interleave with another's."""
    await tx.run("MERGE (l:WriteLock {name: 'fiscal'}) SET l.taken = timestamp()")


async def check_claims(tx: Tx, claims: Sequence[rules.Claim], quote: bool = True) -> None:
    """Refuse unique codes held by other parties that are not archived."""
    if not claims:
        return
    await lock(tx)
    holders = await _fiscal_holders(tx, [(c.kind, c.key) for c in claims], cypher.EVERYWHERE)
    external = {_dup_token(c.key): c.key for c in claims if c.kind == duplicates.EXTERNAL}
    if external:
        found = await _holders(tx, "dup_keys", external, cypher.EVERYWHERE)
        holders += [("ext", external[t], i) for t, ids in found.items() for i in ids]
    rules.check_claims(claims, holders, quote)


async def _fiscal_holders(
    tx: Tx, codes: Sequence[tuple[str, str]], inside: Reach
) -> list[tuple[str, str, str]]:
    """(kind, key, party id) of the parties not archived holding these VAT ("vat") and
    tax ("tax") keys; other kinds are passed over."""
    result = await tx.run(
        "MATCH (p:Party) WHERE p.vat_key IN $vats AND p.archived_at IS NULL "
        f"AND {inside.test('p')} RETURN 'vat' AS kind, p.vat_key AS key, p.id AS id "
        "UNION ALL "
        "MATCH (p:Party) WHERE p.tax_key IN $taxes AND p.archived_at IS NULL "
        f"AND {inside.test('p')} RETURN 'tax' AS kind, p.tax_key AS key, p.id AS id",
        vats=[key for kind, key in codes if kind == "vat"],
        taxes=[key for kind, key in codes if kind == "tax"],
        **inside.params,
    )
    return [(r["kind"], r["key"], r["id"]) async for r in result]


async def by_code(
    tx: Tx, codes: Sequence[tuple[str, str]], inside: Reach
) -> dict[tuple[str, str], list[str]]:
    """The id of the party not archived holding each (kind, key) of a VAT number or tax
    code, as contactdata.keys compares it (one at most)."""
    found: dict[tuple[str, str], list[str]] = {code: [] for code in codes}
    for kind, key, party_id in await _fiscal_holders(tx, codes, inside):
        found[kind, key].append(party_id)
    return found


async def by_email(tx: Tx, addresses: Sequence[str], inside: Reach) -> dict[str, list[str]]:
    """The ids of parties not archived holding each address, in id order."""
    wanted = {address: contactdata.lookup_key(address) for address in addresses}
    found = await _holders(tx, "email_keys", wanted.values(), inside)
    return {address: found.get(key, []) for address, key in wanted.items()}


async def by_external_id(
    tx: Tx, ids: Sequence[ExternalId], inside: Reach
) -> dict[ExternalId, list[str]]:
    """The ids of parties not archived holding each external id (one at most)."""
    wanted = {x: _dup_token(externalids.token(x)) for x in ids}
    found = await _holders(tx, "dup_keys", wanted.values(), inside)
    return {x: found.get(token, []) for x, token in wanted.items()}


def _dup_token(key: str) -> str:
    """An external id's key as a token of a node's dup_keys (cypher.key_props)."""
    return f"{duplicates.EXTERNAL}={key}"


async def _holders(
    tx: Tx, field: str, tokens: Iterable[str], inside: Reach
) -> dict[str, list[str]]:
    """The parties not archived holding each token in the full-text indexed `field`."""
    result = await tx.run(
        search.found("key.query", "true", each="UNWIND $keys AS key ")
        + "WITH key, p WHERE p.archived_at IS NULL "
        f"AND key.value IN split({pending.current('p', field)}, ' ') AND {inside.test('p')} "
        "RETURN key.value AS value, p.id AS id ORDER BY id",
        {
            "keys": [{"value": k, "query": search.exactly(field, k)} for k in sorted(set(tokens))],
            **inside.params,
        },
    )
    found: dict[str, list[str]] = {}
    async for record in result:
        found.setdefault(record["value"], []).append(record["id"])
    return found


async def backfill(tx: Tx) -> bool:
    """Write the key properties of up to a batch of parties stored before keys (or the
    duplicate keys, dup_keys) existed; whether any were left."""
    result = await tx.run(
        f"MATCH (p:Party) WHERE (p.email_keys IS NULL OR p.dup_keys IS NULL) "
        f"AND NOT p:{pending.LABEL} "
        f"RETURN {PARTY_MAP} AS p LIMIT $n",
        n=_BATCH,
    )
    found = [party(record["p"]) async for record in result]
    await tx.run(
        "UNWIND $rows AS row MATCH (p:Party {id: row.id}) SET p += row.keys",
        rows=[{"id": p.id, "keys": key_props(p)} for p in found],
    )
    return bool(found)


async def check_party(
    tx: Tx,
    party: Party,
    region: str | None,
    before: Party | None = None,
    categories: Mapping[str, Category] | None = None,
) -> Party:
    """The party to write, as rules.check_party gives it, once the unique values it takes
    are free; `before` is the stored party a change starts from, `categories` the ones the
    write read already."""
    found = await cypher.categories(tx) if categories is None else categories
    category = found.get(party.category_id or "")
    party = rules.check_party(party, category, region, before)
    await vocabulary.check_level(tx, party)
    named = attributes.references(party, category, before)
    if named:
        attributes.check_references(named, await cypher.parties(tx, list(named.values())))
    await check_claims(tx, rules.claims(party, before))
    if party.username is not None:
        result = await tx.run(
            "MATCH (u:User {username: $username}) WHERE u.id <> $id RETURN u.id AS id LIMIT 1",
            username=party.username,
            id=party.id,
        )
        if await result.single() is not None:
            raise Conflict(f"username {party.username!r} is taken")
    if party.contact_id is not None:
        contact = rules.found(await cypher.parties(tx, [party.contact_id]), [party.contact_id])[0]
        if contact.kind is not PartyKind.CONTACT:
            raise BadUserInput(f"{party.contact_id} is a {contact.kind.value}, not a CONTACT")
    return party
