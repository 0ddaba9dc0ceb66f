"""A reproducible generator of realistic contact graphs, for scale tests and benchmarks.

The graph mixes what the demo tells at small scale: companies with unit trees
3-8 levels deep and their employees (some with two employers), private
clients, associations with members under umbrella organizations, owners'
associations, communities of heirs, KNOWS links, and users responsible for
accounts (some responsibilities changed hands), with about five activities
per party over two years. Some people and companies are entered twice, spelt
another way (the duplicates bench/duplicates.py looks for). The same seed and
day give the same graph, ids included.

From `groups_from` parties on (500,000 by default, so smaller graphs stay as they
were), the graph also holds what corporate registries hold at scale: four
corporate groups of a tenth, a hundredth, a 250th and a 500th of the graph
(100,000 members at 1,000,000 parties), each a holding over a chain of 20-30
intermediate holdings with companies hung at every level; and matrix units, a
unit PART_OF two units of the same level.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from ..graph.ids import uuid7
from ..graph.model import (
    Activity,
    ActivityType,
    Batch,
    Email,
    Fiscal,
    LegalForm,
    Party,
    PartyKind,
    Phone,
    Relationship,
    RelType,
    UnitType,
)
from ..graph.records import new_party
from .vocabulary import (
    ADJECTIVES,
    COMPANY_FORMS,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    NOUNS,
    SUMMARIES,
    mobile,
    tax_code,
    vat_number,
)

_TYPES = tuple(ActivityType)
_HISTORY_DAYS = 730
# people and companies entered a second time by someone who did not find the first record
_PERSON_TWINS = 0.02
_COMPANY_TWINS = 0.05
GROUPS_FROM = 500_000  # parties from which a graph holds corporate groups and matrix units
_GROUP_SHARES = (10, 100, 250, 500)  # each group holds total // share parties
_MATRIX_UNITS = 0.03  # of units below a branch, when the graph has groups


class _Generator:
    def __init__(self, total: int, seed: int, now: datetime, groups: bool = False) -> None:
        self.rng = random.Random(seed)
        # the twins draw from a stream of their own: the rest of the graph stays as it was
        self.twins = random.Random(seed + 1)
        self.total = total
        self.now = now
        self.batch = Batch()
        self.made = 0
        self.users: list[str] = []
        self.contacts: list[str] = []
        self.umbrellas: list[str] = []
        self.companies = 0
        self.groups = groups
        self.twins_made = 0  # entered twice: no part of the tree their first record is in

    # -- records -------------------------------------------------------------

    def _id(self, at: datetime) -> str:
        return uuid7(int(at.timestamp() * 1000), self.rng.randbytes(10))

    def _past(self, days: int) -> datetime:
        return self.now - timedelta(seconds=self.rng.randint(60, days * 86400))

    def _party(self, kind: PartyKind, **values: object) -> Party:
        at = self.now - timedelta(days=_HISTORY_DAYS) + timedelta(milliseconds=self.made)
        party = new_party(
            kind, values.pop("display_name", None), party_id=self._id(at), at=at, **values
        )
        self.batch.parties.append(party)
        self.made += 1
        if kind is PartyKind.CONTACT:
            self.contacts.append(party.id)
        return party

    def _twin(self, kind: PartyKind, **values: object) -> None:
        """A second record of a party, without its fiscal data (codes are unique)."""
        at = self.now - timedelta(days=_HISTORY_DAYS) + timedelta(milliseconds=self.made)
        twin = new_party(
            kind,
            party_id=uuid7(int(at.timestamp() * 1000), self.twins.randbytes(10)),
            at=at,
            **values,
        )
        self.batch.parties.append(twin)
        self.made += 1
        self.twins_made += 1

    def _person_twin(self, person: Party) -> None:
        """Another spelling of the name (initial, capitals, first and last swapped) with the
        same e-mail address, the same mobile number, or neither."""
        first, last = person.first_name or "", person.last_name or ""
        first, last = self.twins.choice(
            ((f"{first[:1]}.", last), (first, last.upper()), (last, first))
        )
        email, phone = person.emails[0], person.phones[0]
        shared = self.twins.choice(
            (
                {"emails": (Email(email.address.title(), "private"),)},
                {"phones": (Phone(phone.e164 or phone.number, None, phone.e164),)},
                {},
            )
        )
        self._twin(
            PartyKind.CONTACT,
            first_name=first,
            last_name=last,
            legal_form=LegalForm.NATURAL_PERSON,
            **shared,
        )

    def _person(self, **values: object) -> Party:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        email = Email(f"{first}.{last}.{self.made}@example.com".lower(), "work")
        known = (
            self.rng.choice(self.contacts) if self.contacts and self.rng.random() < 0.3 else None
        )
        person = self._party(
            PartyKind.CONTACT,
            first_name=first,
            last_name=last,
            legal_form=LegalForm.NATURAL_PERSON,
            emails=(email,),
            phones=(mobile(self.rng.randint(100, 999), self.made),),
            **values,
        )
        if known is not None:  # about three in ten people know someone met earlier
            self._link(
                RelType.KNOWS,
                person.id,
                known,
                self.rng.choice(("colleague", "friend", "referral")),
            )
        if self.made < self.total and self.twins.random() < _PERSON_TWINS:
            self._person_twin(person)
        return person

    def _org(self, name: str, legal_form: LegalForm, category: str, **values: object) -> Party:
        return self._party(
            PartyKind.ORGANIZATION, name=name, legal_form=legal_form, category_id=category, **values
        )

    def _link(
        self,
        rel_type: RelType,
        source: str,
        target: str,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        properties: dict[str, object] | None = None,
    ) -> None:
        since = since or self._past(_HISTORY_DAYS * 2)
        self.batch.relationships.append(
            Relationship(
                self._id(since), rel_type, source, target, since, until, role, properties or {}
            )
        )

    def _activities(self, party: Party, account: str) -> None:
        for _ in range(self.rng.randint(3, 7)):
            at = self._past(_HISTORY_DAYS)
            kind = self.rng.choice(_TYPES)
            subjects = (
                (party.id,)
                if party.id == account or self.rng.random() < 0.8
                else (party.id, account)
            )
            self.batch.activities.append(
                Activity(
                    self._id(at), kind, at, SUMMARIES[kind], self.rng.choice(self.users), subjects
                )
            )

    def _responsible(self, account: str) -> None:
        owner = self.rng.choice(self.users)
        if self.rng.random() < 0.1:  # this account changed hands
            handover = self._past(_HISTORY_DAYS)
            earlier = self.rng.choice(self.users)
            if earlier != owner:
                self._link(
                    RelType.RESPONSIBLE_FOR,
                    earlier,
                    account,
                    "account",
                    since=handover - timedelta(days=400),
                    until=handover,
                )
            self._link(RelType.RESPONSIBLE_FOR, owner, account, "account", since=handover)
        else:
            self._link(RelType.RESPONSIBLE_FOR, owner, account, "account")

    # -- clusters ------------------------------------------------------------

    def home(self) -> None:
        home = self._org(
            "Synthetic Home Services GmbH",
            LegalForm.LEGAL_PERSON,
            "home-organization",
            unit_type=UnitType.COMPANY,
        )
        for number in range(min(max(3, self.total // 200), self.total - 1)):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            user = self._party(
                PartyKind.USER,
                display_name=f"{first} {last}",
                username=f"{first}.{last}.{number}".lower(),
                legal_form=LegalForm.NATURAL_PERSON,
            )
            self.users.append(user.id)
            self._link(RelType.EMPLOYS, home.id, user.id, "staff")

    def group(self, members: int) -> Iterator[None]:
        """A corporate group of about `members` parties: a holding over a chain of 20-30
        intermediate holdings, each level holding companies; yields after each company,
        so the caller may write what is made."""
        rng = self.rng
        start = self.made - self.twins_made
        chain = [
            self._org(
                f"{rng.choice(ADJECTIVES)} Group Holding {rng.choice(COMPANY_FORMS)}",
                LegalForm.LEGAL_PERSON,
                "commercial-client",
                unit_type=UnitType.COMPANY,
                tags=("holding",),
            )
        ]
        self._responsible(chain[0].id)
        self._activities(chain[0], chain[0].id)
        for level in range(1, rng.randint(20, 30) + 1):
            if self.made >= self.total:
                return
            link = self._org(
                f"{rng.choice(LAST_NAMES)} Beteiligungen {level} {rng.choice(COMPANY_FORMS)}",
                LegalForm.LEGAL_PERSON,
                "commercial-client",
                unit_type=UnitType.COMPANY,
                tags=("intermediate-holding",),
            )
            self._link(RelType.PART_OF, link.id, chain[-1].id)
            self._activities(link, chain[0].id)
            chain.append(link)
        while self.made - self.twins_made - start < members and self.made < self.total:
            self.company(holder=rng.choice(chain).id)
            yield

    def company(self, holder: str | None = None) -> None:
        rng = self.rng
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(COMPANY_FORMS)}"
        company = self._org(
            name,
            LegalForm.LEGAL_PERSON,
            "commercial-client",
            unit_type=UnitType.COMPANY,
            fiscal=Fiscal(vat_number(rng.randint(10**7, 10**8 - 1), self.companies), None),
            tags=("b2b",),
        )
        if holder is not None:
            self._link(RelType.PART_OF, company.id, holder)
        self._responsible(company.id)
        self._activities(company, company.id)
        if self.made < self.total and self.twins.random() < _COMPANY_TWINS:
            self._twin(  # capitals, and no legal form
                PartyKind.ORGANIZATION,
                name=name.rsplit(" ", 1)[0].upper(),
                legal_form=LegalForm.LEGAL_PERSON,
                category_id="commercial-client",
            )
        # one company in thirty is a group, wide and deep; in a graph of 20,000 parties or
        # more the first one is too, so every large graph has a large subtree to walk
        group = (self.companies == 0 and self.total >= 20_000) or rng.random() < 1 / 30
        self.companies += 1
        depth = rng.randint(5, 6) if group else rng.randint(3, 8)
        units = [company]
        at_level: dict[int, list[Party]] = {0: [company]}
        frontier = [(company, 0)]
        while frontier and self.made < self.total:
            parent, level = frontier.pop()
            if level + 1 >= depth:
                continue
            unit_type = (
                UnitType.BRANCH
                if level == 0
                else UnitType.POSITION
                if level + 2 == depth
                else UnitType.TEAM
                if level >= 3
                else UnitType.DEPARTMENT
            )
            width = rng.randint(2, 5) if group else rng.randint(1, 3 if level < 3 else 2)
            for _ in range(width):
                if self.made >= self.total:
                    break
                label = (
                    rng.choice(DEPARTMENTS)
                    if unit_type is not UnitType.BRANCH
                    else rng.choice(LAST_NAMES)
                )
                unit = self._org(
                    f"{label} {unit_type.value.title()} {self.made}",
                    LegalForm.LEGAL_PERSON,
                    "commercial-client",
                    unit_type=unit_type,
                )
                self._link(RelType.PART_OF, unit.id, parent.id)
                if self.groups and level >= 1 and rng.random() < _MATRIX_UNITS:
                    self._matrix(unit, parent, at_level[level])
                units.append(unit)
                at_level.setdefault(level + 1, []).append(unit)
                frontier.append((unit, level + 1))
        for unit in units[1:]:
            for _ in range(rng.randint(0, 3)):
                if self.made >= self.total:
                    return
                person = self._person()
                self._link(
                    RelType.EMPLOYS, unit.id, person.id, rng.choice(("staff", "lead", "assistant"))
                )
                if rng.random() < 0.05:  # a second employer in the same company
                    self._link(RelType.EMPLOYS, rng.choice(units).id, person.id, "part-time")
                self._activities(person, company.id)
        for unit in units[1:]:
            self._activities(unit, company.id)

    def _matrix(self, unit: Party, parent: Party, peers: list[Party]) -> None:
        """A second parent of the parent's level: made before the unit, it is not below
        it, so the hierarchy stays acyclic while becoming a DAG."""
        others = [peer for peer in peers if peer.id != parent.id]
        if others:
            self._link(RelType.PART_OF, unit.id, self.rng.choice(others).id, "matrix")

    def private_client(self) -> None:
        client = self._person(category_id="private-client", fiscal=tax_code(self.made))
        self._responsible(client.id)
        self._activities(client, client.id)

    def association(self) -> None:
        rng = self.rng
        if not self.umbrellas or rng.random() < 0.05:
            umbrella = self._org(
                f"{rng.choice(ADJECTIVES)} Federation {self.made}",
                LegalForm.ASSOCIATION,
                "umbrella-organization",
            )
            self.umbrellas.append(umbrella.id)
            self._responsible(umbrella.id)
        club = self._org(
            f"{rng.choice(LAST_NAMES)} Club {self.made}", LegalForm.ASSOCIATION, "association"
        )
        if rng.random() < 0.6:
            self._link(RelType.MEMBER_OF, club.id, rng.choice(self.umbrellas), "member association")
        self._responsible(club.id)
        self._activities(club, club.id)
        for _ in range(rng.randint(3, 12)):
            if self.made >= self.total:
                return
            member = self._person()
            self._link(
                RelType.MEMBER_OF, member.id, club.id, rng.choice(("member", "member", "board"))
            )
            self._activities(member, club.id)

    def owners(self) -> None:
        building = self._org(
            f"Owners' Association {self.rng.choice(LAST_NAMES)}gasse {self.made}",
            LegalForm.ASSOCIATION,
            "owners-association",
        )
        self._responsible(building.id)
        self._activities(building, building.id)
        for unit in range(self.rng.randint(3, 10)):
            if self.made >= self.total:
                return
            owner = self._person()
            self._link(
                RelType.MEMBER_OF,
                owner.id,
                building.id,
                "owner",
                properties={"unit": f"Top {unit + 1}"},
            )
            self._activities(owner, building.id)

    def heirs(self) -> None:
        deceased = self._person(tags=("deceased",))
        estate = self._org(
            f"Community of Heirs of {deceased.display_name}",
            LegalForm.ASSOCIATION,
            "community-of-heirs",
        )
        self._responsible(estate.id)
        self._activities(estate, estate.id)
        for _ in range(self.rng.randint(2, 4)):
            if self.made >= self.total:
                return
            heir = self._person()
            self._link(RelType.HEIR_OF, heir.id, deceased.id, "heir")
            self._link(RelType.MEMBER_OF, heir.id, estate.id, "heir")
            self._activities(heir, estate.id)

    def flush(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch


def synthetic_batches(
    total: int,
    seed: int = 1,
    batch_size: int = 20000,
    now: datetime | None = None,
    groups_from: int = GROUPS_FROM,
) -> Iterator[Batch]:
    """Batches of about batch_size parties that add up to exactly `total` parties."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    generator = _Generator(total, seed, now or today, groups=total >= groups_from)
    generator.home()
    for share in _GROUP_SHARES if generator.groups else ():
        for _ in generator.group(total // share):
            if len(generator.batch.parties) >= batch_size:
                yield from _bounded(generator.flush(), batch_size)
    clusters = (
        (generator.company, 45),
        (generator.private_client, 25),
        (generator.association, 10),
        (generator.owners, 10),
        (generator.heirs, 10),
    )
    makers, weights = zip(*clusters, strict=True)
    while generator.made < total:
        # clusters start with up to three parties; near the end only single ones fit
        fits = total - generator.made >= 4
        (generator.rng.choices(makers, weights)[0] if fits else generator.private_client)()
        if len(generator.batch.parties) >= batch_size:
            yield from _bounded(generator.flush(), batch_size)
    if generator.batch.parties or generator.batch.relationships:
        yield from _bounded(generator.flush(), batch_size)


def _bounded(batch: Batch, size: int) -> Iterator[Batch]:
    """A batch cut into batches of at most about `size` parties, in the order they were
    made: each edge and activity goes with the batch that writes the last of its parties,
    so every batch names only parties written by then. A large company is made whole, and
    as one transaction (with its history) it would outgrow a small Neo4j's memory."""
    if len(batch.parties) <= size + size // 2:
        yield batch
        return
    pending = {p.id for p in batch.parties}
    rels, activities = batch.relationships, batch.activities
    for start in range(0, len(batch.parties), size):
        parties = batch.parties[start : start + size]
        pending.difference_update(p.id for p in parties)

        def ready(ids: Iterable[str]) -> bool:
            return pending.isdisjoint(ids)

        now_rels = [r for r in rels if ready((r.from_id, r.to_id))]
        now_acts = [a for a in activities if ready((a.author_id, *a.subject_ids))]
        rels = [r for r in rels if not ready((r.from_id, r.to_id))]
        activities = [a for a in activities if not ready((a.author_id, *a.subject_ids))]
        yield Batch(parties, now_rels, now_acts)
