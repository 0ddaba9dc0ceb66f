"""Importing an address book: its cards (vcard_reading.py) made into one Batch, every
value checked by the rules a single write meets, before anything is written; then written
in batches (batches()), a transaction each, so no transaction outgrows Neo4j's memory.

- A card becomes a new party. Its UID, when a urn:uuid (as an export writes it),
  becomes the party's id: a card whose party the graph holds already is refused, since
  an import adds parties and never updates one.
- An ORG names an organization by its chain of units, top down. The chain is a card's
  of the file with that same ORG, else the graph's organization not archived of that
  name whose PART_OF chain as of now has those names (the smallest id of several),
  else it is made, each unit PART_OF the one before it. An export's ORG names its
  organization's card by X-UID too, which tells namesakes apart.
- An ORG's group with TITLE (or with neither TITLE nor ROLE) is an employment, EMPLOYS
  from the deepest unit with the TITLE as role and ROLE kept as its `vcard_role`
  property; with ROLE alone it is a membership, MEMBER_OF with ROLE as role.
- RELATED names a card of the file by UID, or a party of the graph by urn:uuid; its
  type is read from vcards.RELATED_MARKS.
- An edge begins at its X-SINCE (else the import's time) and ends at its X-UNTIL, if
  any. X-LEGAL-FORM, X-CATEGORY (an id, else a name) and the fiscal X- properties set
  those fields, checked as a write checks them (the category's rules included).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import BadUserInput, InvalidValue
from ..ids import new_id
from ..model import (
    Batch,
    Category,
    LegalForm,
    Page,
    Party,
    PartyFilter,
    PartyKind,
    Relationship,
    RelType,
    UnitType,
    category_named,
)
from ..rules import Claim, check_link, check_party, claims
from ..store import GraphStore
from . import vcards
from .vcard_reading import Affiliation, BadCard, BadCards, Card, id_of_uid
from .vcard_writing import chains

_FIELD = re.compile(r"(emails|phones|addresses)\[(\d+)\]")
_PROPERTIES = {"emails": "EMAIL", "phones": "TEL", "addresses": "ADR"}
MATCHES = 100  # organizations of one name looked at when matching an ORG


@dataclass
class Plan:
    """What an import writes, and what it made up beside the cards."""

    batch: Batch = field(default_factory=Batch)
    cards: int = 0
    made: int = 0  # organizations an ORG named that neither the file nor the graph held


@dataclass
class _Planner:
    store: GraphStore
    region: str | None
    at: datetime
    plan: Plan = field(default_factory=Plan)
    parties: dict[str, Party] = field(default_factory=dict)  # of the batch, and read
    by_chain: dict[tuple[str, ...], str] = field(default_factory=dict)
    by_uid: dict[str, str] = field(default_factory=dict)
    edges: set[tuple[object, ...]] = field(default_factory=set)
    categories: dict[str, Category] = field(default_factory=dict)
    # the codes only one party may hold (VAT numbers, tax codes), each with its card's line
    claimed: dict[tuple[str, str], tuple[int, Claim]] = field(default_factory=dict)
    problems: list[BadCard] = field(default_factory=list)

    @contextmanager
    def noting(self) -> Iterator[None]:
        """Runs one card's (or one property's) step; a BadCard is kept and the import
        goes on to the next, so every card at fault is named at once."""
        try:
            yield
        except BadCard as problem:
            self.problems.append(problem)

    def party(self, card: Card, party: Party) -> Party:
        """The party as check_party stores it; BadCard at the property at fault."""
        try:
            checked = check_party(party, self.categories.get(party.category_id or ""), self.region)
        except InvalidValue as error:
            found = _FIELD.match(error.field)
            if found is None:
                line = card.field_lines.get(error.field, card.line)
                raise BadCard(line, str(error)) from None
            kind, index = found.group(1), int(found.group(2))
            line = getattr(card, kind)[index][0]
            raise BadCard(line, f"{_PROPERTIES[kind]} {error.value!r} {error.reason}") from None
        except BadUserInput as error:
            raise BadCard(card.line, str(error)) from None
        for claim in claims(checked):
            first = self.claimed.setdefault((claim.kind, claim.key), (card.line, claim))
            if first[1].party_id != checked.id:
                raise BadCard(
                    card.line, f"{claim.field} {claim.value} is on the card at line {first[0]} too"
                )
        self.parties[checked.id] = checked
        self.plan.batch.parties.append(checked)
        return checked

    async def check_held(self) -> None:
        """BadCard for a code of the file another party of the graph holds: checked here,
        since the cards are written in several transactions."""
        wanted = [key for key in self.claimed if key[0] != "ext"]
        for code, holders in (await self.store.parties_by_code(wanted)).items():
            if holders:
                line, claim = self.claimed[code]
                self.problems.append(
                    BadCard(
                        line, f"{claim.field} {claim.value} is already held by party {holders[0]}"
                    )
                )

    def link(
        self,
        line: int,
        kind: RelType,
        ends: tuple[str, str],
        role: str | None = None,
        properties: dict[str, object] | None = None,
        dates: tuple[datetime | None, datetime | None] = (None, None),
    ) -> None:
        """An edge from ends[0] to ends[1] over `dates` (since: as of the import when
        None); BadCard at `line` if the rules refuse it. One edge said twice, as two
        groups of one card may, is written once."""
        since, until = dates[0] or self.at, dates[1]
        key = (kind, *ends, role, since, until)
        if key in self.edges:
            return
        self.edges.add(key)
        rel = Relationship(
            new_id(), kind, *ends, since, until, role=role, properties=properties or {}
        )
        try:
            check_link(rel, self.parties[ends[0]], self.parties[ends[1]])
        except BadUserInput as error:
            raise BadCard(line, str(error)) from None
        self.plan.batch.relationships.append(rel)

    def new(self, card: Card, party_id: str, unit_type: UnitType | None = None) -> Party:
        """The party a card describes, before the rules have checked it."""
        common = {
            "emails": tuple(email for _, email in card.emails),
            "phones": tuple(phone for _, phone in card.phones),
            "addresses": tuple(address for _, address in card.addresses),
            "tags": tuple(dict.fromkeys(card.tags)),
            "fiscal": card.fiscal,
            "category_id": self.category(card),
        }
        if card.kind is PartyKind.ORGANIZATION:
            return Party(
                party_id,
                card.kind,
                card.legal_form or LegalForm.LEGAL_PERSON,
                card.chain[-1],
                self.at,
                self.at,
                name=card.chain[-1],
                unit_type=unit_type,
                **common,  # type: ignore[arg-type]
            )
        return Party(
            party_id,
            card.kind,
            card.legal_form or LegalForm.NATURAL_PERSON,
            card.name,
            self.at,
            self.at,
            first_name=card.first_name,
            last_name=card.last_name,
            **common,  # type: ignore[arg-type]
        )

    def category(self, card: Card) -> str | None:
        if card.category is None:
            return None
        found = category_named(self.categories, card.category)
        if found is None:
            line = card.field_lines["categoryId"]
            raise BadCard(line, f"X-CATEGORY {card.category!r}: no category has that id or name")
        return found.id

    async def ids(self, cards: list[Card]) -> list[str]:
        """Each card's party id, refusing a UID that repeats or that the graph holds."""
        wanted = [id_of_uid(card.uid) or new_id() for card in cards]
        held = await self.store.get_parties(wanted)
        for card, party_id in zip(cards, wanted, strict=True):
            if party_id in held:
                reason = (
                    f"UID {card.uid} is party {party_id} of the graph already: an import "
                    "adds parties, it never updates one"
                )
                self.problems.append(BadCard(card.uid_line, reason))
            elif card.uid is not None and card.uid in self.by_uid:
                self.problems.append(
                    BadCard(card.uid_line, f"UID {card.uid} is another card's too")
                )
            elif card.uid is not None:
                self.by_uid[card.uid] = party_id
        return wanted

    async def organization(self, line: int, chain: tuple[str, ...]) -> str:
        """The organization an ORG names (see the module's docstring)."""
        if chain in self.by_chain:
            return self.by_chain[chain]
        where = PartyFilter(kinds=(PartyKind.ORGANIZATION,), search=chain[-1])
        page = await self.store.list_parties(where, Page(MATCHES), count=False)
        named = {p.id: p for p in page.parties if p.display_name == chain[-1]}
        found = await chains(self.store, set(named), self.at) if named else {}
        same = sorted(org_id for org_id, units in found.items() if tuple(units) == chain)
        if same:
            self.parties[same[0]] = named[same[0]]
            self.by_chain[chain] = same[0]
            return same[0]
        made = Card(line, PartyKind.ORGANIZATION, chain[-1], chain=chain)
        unit = UnitType.COMPANY if len(chain) == 1 else None
        party = self.party(made, self.new(made, new_id(), unit))
        self.plan.made += 1
        self.by_chain[chain] = party.id
        if len(chain) > 1:
            parent = await self.organization(line, chain[:-1])
            self.link(line, RelType.PART_OF, (party.id, parent))
        return party.id

    async def related(self, line: int, uid: str) -> str:
        if uid in self.by_uid:
            return self.by_uid[uid]
        other = id_of_uid(uid)
        held = await self.store.get_parties([other]) if other else {}
        if other is None or other not in held:
            raise BadCard(line, f"RELATED {uid} is no card of the file nor a party of the graph")
        self.parties[other] = held[other]
        return other


async def plan(store: GraphStore, cards: list[Card], region: str | None, at: datetime) -> Plan:
    """The batch that imports the cards; BadCards naming every card that is wrong."""
    planner = _Planner(store, region, at, categories=await store.get_categories(None))
    ids = await planner.ids(cards)
    own = []
    for card, party_id in zip(cards, ids, strict=True):
        with planner.noting():
            party = planner.party(card, planner.new(card, party_id))
            if card.kind is PartyKind.ORGANIZATION:
                planner.by_chain.setdefault(card.chain, party.id)  # namesakes: the first
                own.append((card, party))
    for card, party in own:
        if len(card.chain) > 1:
            with planner.noting():
                parent = await planner.organization(card.line, card.chain[:-1])
                planner.link(card.line, RelType.PART_OF, (party.id, parent))
    for card, party_id in zip(cards, ids, strict=True):
        for group in card.affiliations:
            with planner.noting():
                await _affiliation(planner, party_id, group)
        for related in card.related:
            with planner.noting():
                other = await planner.related(related.line, related.uid)
                dates = (related.since, related.until)
                ends = (party_id, other)
                planner.link(related.line, related.type, ends, related.role, None, dates)
    await planner.check_held()
    if planner.problems:
        raise BadCards(planner.problems, len(cards))
    planner.plan.cards = len(cards)
    return planner.plan


async def _affiliation(planner: _Planner, party_id: str, group: Affiliation) -> None:
    """The edge an ORG group makes: an employment or a membership."""
    org = planner.by_uid.get(group.uid or "") or await planner.organization(group.line, group.chain)
    if group.employment:
        properties: dict[str, object] = {}
        if group.role:
            properties[vcards.ROLE_PROPERTY] = group.role
        dates = (group.since, group.until)
        title = group.title or None
        planner.link(group.line, RelType.EMPLOYS, (org, party_id), title, properties, dates)
    else:
        dates = (group.since, group.until)
        ends = (party_id, org)
        planner.link(group.line, RelType.MEMBER_OF, ends, group.role or None, None, dates)


def batches(batch: Batch, size: int) -> Iterator[Batch]:
    """The plan's parties, then its relationships, at most `size` records a transaction:
    every end of an edge is written before the edge."""
    for start in range(0, len(batch.parties), size):
        yield Batch(parties=batch.parties[start : start + size])
    for start in range(0, len(batch.relationships), size):
        yield Batch(relationships=batch.relationships[start : start + size])
