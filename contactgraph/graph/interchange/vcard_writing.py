"""Writing parties as vCard 4.0, one VCARD each, a page of parties at a time.

A contact's employers and memberships as of now are property groups, one per edge
(item1.ORG, item1.TITLE, item1.ROLE): ORG holds the organization's chain of units from
the top of its PART_OF hierarchy down (and its UID in X-UID, telling namesakes apart),
TITLE an employment's role, ROLE a membership's.
An organization's own chain is its ORG without a group. Edges between people (KNOWS,
REPORTS_TO, HEIR_OF) are RELATED on the card of their from end, by vcards.RELATED_TYPES.
Ended edges are written too, each with its dates (X-SINCE, X-UNTIL), and so are the
fields vCard has no word for (legal form, category, fiscal data: vcards.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import vobject
from vobject.base import Component, ContentLine

from ..cursors import encode_cursor
from ..identity import SCOPE_DEPTH
from ..model import Direction, Page, Party, PartyFilter, PartyKind, Relationship, RelType
from ..store import GraphStore
from ..times import format_instant, utcnow
from . import vcards

PAGE = 500


@dataclass(frozen=True)
class Affiliation:
    """An employment or membership of the card's party: a group of ORG and TITLE or ROLE."""

    chain: list[str]
    rel: Relationship


async def chains(store: GraphStore, org_ids: set[str], as_of: datetime) -> dict[str, list[str]]:
    """Each organization's unit names from the top of its PART_OF hierarchy down to it;
    where a unit is part of two, the walk's nearest, smallest one."""
    orgs = await store.get_parties(sorted(org_ids))
    above = await store.ancestors(sorted(orgs), [RelType.PART_OF], SCOPE_DEPTH, as_of)
    found = {}
    for org_id, org in orgs.items():
        parents: dict[str | None, Party] = {}
        for row in above[org_id].rows:
            parents.setdefault(row.parent_id, row.party)
        chain, at = [org.display_name], org_id
        while at in parents:
            chain.append(parents[at].display_name)
            at = parents[at].id
        found[org_id] = chain[::-1]
    return found


def _label(line: ContentLine, label: str | None, tel: bool = False) -> None:
    if not label:
        return
    word = vcards.LABEL_TYPES.get(label.casefold())
    if word and (tel or word != "cell"):
        line.params["TYPE"] = [word]
    line.params[vcards.LABEL_PARAM] = [label]


def _add(card: Component, name: str, value: object, group: str | None = None) -> ContentLine:
    line: ContentLine = card.add(name)
    line.value = cast(str, value)  # or N's, ADR's, ORG's structure: the stubs know str only
    line.group = group
    return line


def _dated(line: ContentLine, rel: Relationship) -> ContentLine:
    line.params[vcards.SINCE_PARAM] = [format_instant(rel.since)]
    if rel.until is not None:
        line.params[vcards.UNTIL_PARAM] = [format_instant(rel.until)]
    return line


def _own_fields(card: Component, party: Party) -> None:
    """What vCard has no property for: X- properties (vcards.py)."""
    _add(card, vcards.LEGAL_FORM, party.legal_form.value)
    if party.category_id:
        _add(card, vcards.CATEGORY, party.category_id)
    for field, name in vcards.FISCAL.items():
        value = getattr(party.fiscal, field, None)
        if value:
            _add(card, name, value)


def card(party: Party, chains: dict[str, list[str]], rels: Sequence[Relationship]) -> Component:
    """The party's VCARD; `rels` are its edges, ended ones too, `chains` the ORG of every
    organization they or it name."""
    found = vobject.vCard()
    _add(found, "version", vcards.VERSION)
    _add(found, "kind", vcards.KINDS[party.kind])
    _add(found, "fn", party.display_name)
    _add(found, "uid", vcards.UID_PREFIX + party.id)
    if party.kind is PartyKind.CONTACT:
        name = vobject.vcard.Name(family=party.last_name or "", given=party.first_name or "")
        _add(found, "n", name)
    else:
        _add(found, "org", chains[party.id])
    _own_fields(found, party)
    affiliations = [r for r in rels if r.type in (RelType.EMPLOYS, RelType.MEMBER_OF)]
    for number, rel in enumerate(affiliations, 1):
        group = f"item{number}"
        employs = rel.type is RelType.EMPLOYS
        org_id = rel.from_id if employs else rel.to_id
        org = _dated(_add(found, "org", chains[org_id], group), rel)
        org.params[vcards.UID_PARAM] = [vcards.UID_PREFIX + org_id]
        if employs:
            _add(found, "title", rel.role or "", group)
            if isinstance(rel.properties.get(vcards.ROLE_PROPERTY), str):
                _add(found, "role", rel.properties[vcards.ROLE_PROPERTY], group)
        else:  # ROLE without TITLE reads back as a membership, even an empty one
            _add(found, "role", rel.role or "", group)
    for email in party.emails:
        _label(_add(found, "email", email.address), email.label)
    for phone in party.phones:
        if phone.e164:
            tel = _add(found, "tel", vcards.TEL_PREFIX + phone.e164)
            tel.params["VALUE"] = ["uri"]
        else:
            tel = _add(found, "tel", phone.number)
        _label(tel, phone.label, tel=True)
    for address in party.addresses:
        adr = vobject.vcard.Address(
            street=address.street or "",
            city=address.city or "",
            region=address.region or "",
            code=address.postal_code or "",
            country=address.country or "",
        )
        _label(_add(found, "adr", adr), address.label)
    if party.tags:
        _add(found, "categories", list(party.tags))
    for rel in rels:
        words = vcards.RELATED_TYPES.get(rel.type)
        if words and rel.from_id == party.id:
            related = _dated(_add(found, "related", vcards.UID_PREFIX + rel.to_id), rel)
            related.params["VALUE"] = ["uri"]
            related.params["TYPE"] = list(words)
            if rel.role:
                related.params[vcards.ROLE_PARAM] = [rel.role]
    _add(found, "rev", party.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return found


async def _page_cards(store: GraphStore, parties: list[Party], as_of: datetime) -> list[str]:
    ids = [party.id for party in parties]
    edges = await store.relationships(ids, [RelType.EMPLOYS], Direction.INCOMING, None)
    outgoing = [RelType.MEMBER_OF, *vcards.RELATED_TYPES]
    mine = await store.relationships(ids, outgoing, Direction.OUTGOING, None)
    rels = {i: edges.get(i, []) + mine.get(i, []) for i in ids}
    orgs = {p.id for p in parties if p.kind is PartyKind.ORGANIZATION}
    for rel in (r for found in rels.values() for r in found):
        if rel.type is RelType.EMPLOYS:
            orgs.add(rel.from_id)
        elif rel.type is RelType.MEMBER_OF:
            orgs.add(rel.to_id)
    named = await chains(store, orgs, as_of)
    return [card(party, named, rels[party.id]).serialize() for party in parties]


async def vcards_of(store: GraphStore, where: PartyFilter) -> AsyncIterator[str]:
    """The cards of the contacts and organizations `where` matches, in id order."""
    kinds = tuple(k for k in where.kinds or tuple(vcards.KINDS) if k in vcards.KINDS)
    where = PartyFilter(kinds=kinds, tags=where.tags, search=where.search)
    as_of = utcnow()
    cursor = None
    while True:
        page = await store.list_parties(where, Page(PAGE, cursor), count=False)
        for text in await _page_cards(store, page.parties, as_of):
            yield text
        if not page.has_next:
            break
        cursor = encode_cursor(page.parties[-1].id)
