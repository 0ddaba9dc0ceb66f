"""A CSV import: every row checked before anything is written, then parties upserted by
external id and links made once (docs/csv-import.md).

The file is read four times, one row at a time, so memory does not grow with it beyond
the index of its external ids (key -> line and kind) and what checks.py keeps: 1. each
row on its own, by the write rules; 2. each row's links, against that index and the
graph, then the file's VAT numbers and tax codes and its hierarchy (checks.py); 3. the
parties the graph holds, updated one by one in file order where a mapped field changed;
4. into a sorted copy of its rows (order.py), read back to create the other parties in
batches, then to make the links not there yet, in batches, organizations' rows first, in
the order of the file's hierarchy. A run that finds a bad row in 1 or 2 writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Set
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import IO

from .. import rules
from ..closure import parent_is_from
from ..errors import NotFound
from ..ids import new_id
from ..model import (
    ACYCLIC_TYPES,
    REL_RULES,
    Batch,
    Category,
    Direction,
    ExternalId,
    Party,
    PartyKind,
    Relationship,
)
from ..store import GraphStore
from ..times import utcnow
from .checks import FileCodes, Hierarchy, Node, batched
from .mapping import Mapping
from .order import Sorted, places
from .rows import BadRow, LinkRow, Row, RowError, key_of, kind_of, links, parse, read

Opener = Callable[[], IO[str]]
Tick = Callable[[str, int], None]  # a pass's name and the rows it just went through
_KINDS = {PartyKind.ORGANIZATION: 0, PartyKind.CONTACT: 1}


@dataclass
class Outcome:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    existing: int = 0  # rows whose external id a party of the graph holds (check())
    linked: int = 0
    index_size: int = 0  # external ids held in memory between the passes


class CsvImport:
    def __init__(
        self, store: GraphStore, mapping: Mapping, open_file: Opener, batch_size: int, tick: Tick
    ) -> None:
        self.store = store
        self.mapping = mapping
        self.open_file = open_file
        # no more than a batch the store writes well: Neo4j holds a transaction in memory
        self.batch_size = min(batch_size, store.seed_batch_size)
        self.tick = tick
        # the file's external ids: key -> line * 2 + kind bit, for duplicates and links
        self.index: dict[str, int] = {}
        self.categories: dict[str, Category] = {}
        self.codes = FileCodes()
        self.hierarchy = Hierarchy()
        self.outcome = Outcome()

    async def check(self) -> Outcome:
        """Passes 1 and 2: every bad row, by line and column; nothing is written."""
        self.categories = await self.store.get_categories(None)
        self._check_rows()
        for chunk in self._chunks():
            await self._check_links(chunk)
            self.tick("links checked", len(chunk))
        source, size = self.mapping.source, self.batch_size
        self.outcome.errors += await self.codes.held(self.store, source, size)
        self.outcome.errors += await self.hierarchy.cycles(self.store, source, self.index, size)
        self.outcome.index_size = len(self.index)
        self.outcome.errors.sort(key=lambda e: e.line)
        return self.outcome

    async def write(self) -> Outcome:
        """Passes 3 and 4, after a check() that found nothing wrong."""
        for chunk in self._chunks():
            await self._update_parties(chunk)  # in file order: the later row naming a party wins
            self.tick("parties updated", len(chunk))
        with closing(self._sorted()) as ordered:
            for chunk in batched(ordered.rows(), self.batch_size):
                await self._create_parties(chunk)
                self.tick("parties created", len(chunk))
            for bit in _KINDS.values():  # organizations' first: see _write_links
                for chunk in batched(ordered.rows(bit), self.batch_size):
                    await self._write_links(chunk)
                    self.tick("links written", len(chunk))
        return self.outcome

    def _rows(self) -> Iterator[tuple[int, dict[str, str]] | RowError]:
        with self.open_file() as stream:
            yield from read(stream, self.mapping)

    def _good(self) -> Iterator[tuple[int, dict[str, str]]]:
        return (item for item in self._rows() if not isinstance(item, RowError))

    def _chunks(self) -> Iterator[list[tuple[int, dict[str, str]]]]:
        """The file's good rows, `batch_size` at a time."""
        yield from batched(self._good(), self.batch_size)

    def _sorted(self) -> Sorted:
        """The good rows by their parent's place in the file's hierarchy (order.py)."""
        numbered = places(self.hierarchy, self.index)
        return Sorted(
            (self._place(cells, numbered), _KINDS[kind_of(cells, self.mapping)], line, cells)
            for line, cells in self._good()
        )

    def _place(self, cells: dict[str, str], numbered: dict[Node, int]) -> int:
        """The number of the row's first parent in the file's hierarchy; -1 without one."""
        for link in links(cells, self.mapping, kind_of(cells, self.mapping)):
            if link.type in ACYCLIC_TYPES and link.incoming == parent_is_from(link.type):
                packed = self.index.get(link.other)
                return numbered.get(link.other if packed is None else packed // 2, -1)
        return -1

    def _check_rows(self) -> None:
        region = self.store.default_region
        errors = self.outcome.errors
        for item in self._rows():
            self.outcome.rows += 1
            if isinstance(item, RowError):
                errors.append(item)
                continue
            line, cells = item
            try:
                row = parse(line, cells, self.mapping, self.categories, region)
            except BadRow as error:
                errors.append(RowError(line, error.column, error.reason))
                row = None
            if row is not None:
                first = self.index.setdefault(row.key, line * 2 + _KINDS[row.kind])
                if first // 2 != line:
                    errors.append(
                        RowError(
                            line,
                            self.mapping.id_column,
                            f"external id {self.mapping.source}:{row.key} is on line "
                            f"{first // 2} already",
                        )
                    )
                errors += self.codes.add(row)
                self.hierarchy.add(row)
            self.tick("rows checked", 1)

    async def _holders(self, keys: set[str]) -> dict[str, str]:
        """The ids of the stored parties not archived holding these keys of the mapping's
        source (the links pass needs no more: no party is read)."""
        source = self.mapping.source
        found = await self.store.parties_by_external_id([ExternalId(source, k) for k in keys])
        return {ext.key: held[0] for ext, held in found.items() if held}

    async def _held(self, keys: set[str]) -> dict[str, Party]:
        """The stored parties not archived holding these keys of the mapping's source."""
        ids = await self._holders(keys)
        parties = await self.store.get_parties(list(ids.values()))
        return {key: parties[i] for key, i in ids.items() if i in parties}

    def _kind(self, key: str, stored: dict[str, Party]) -> PartyKind | None:
        """A key's party kind: the file's row, else the graph's party, else None."""
        if key in self.index:
            return PartyKind.CONTACT if self.index[key] % 2 else PartyKind.ORGANIZATION
        return stored[key].kind if key in stored else None

    async def _check_links(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        parsed: list[tuple[int, str, PartyKind, list[LinkRow]]] = []
        for line, cells in chunk:
            try:
                key, kind = key_of(cells, self.mapping), kind_of(cells, self.mapping)
                parsed.append((line, key, kind, links(cells, self.mapping, kind)))
            except BadRow:
                continue  # pass 1 told
        wanted = {key for _, key, _, _ in parsed}
        wanted |= {link.other for *_, found in parsed for link in found} - self.index.keys()
        stored = await self._held(wanted)
        source = self.mapping.source
        for line, key, kind, found in parsed:
            held = stored.get(key)
            self.outcome.existing += held is not None
            if held is not None and held.kind is not kind:
                self.outcome.errors.append(
                    RowError(
                        line,
                        self.mapping.id_column,
                        f"{source}:{key} is held by {held.kind.value} {held.id}, not a "
                        f"{kind.value}",
                    )
                )
            for link in found:
                reason = _link_refusal(link, key, kind, self._kind(link.other, stored), source)
                if reason:
                    self.outcome.errors.append(RowError(line, link.column, reason))

    def _parsed(self, chunk: list[tuple[int, dict[str, str]]], keys: Set[str]) -> list[Row]:
        """The rows of these keys, as given: the store normalises a new party, _update
        what a held one does not hold yet."""
        region = self.store.default_region
        return [
            parse(line, cells, self.mapping, self.categories, region, False)
            for line, cells in chunk
            if key_of(cells, self.mapping) in keys
        ]

    async def _create_parties(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        """The parties of the chunk's rows whose keys no party holds, in one batch."""
        keys = {key_of(cells, self.mapping) for _, cells in chunk}
        held = await self._holders(keys)
        created = [self._new(row) for row in self._parsed(chunk, keys - held.keys())]
        if created:
            await self.store.load_batch(Batch(parties=created))
            self.outcome.created += len(created)

    async def _update_parties(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        stored = await self._held({key_of(cells, self.mapping) for _, cells in chunk})
        written: dict[str, Party] = {}  # a party two keys name (a merge): the later row sees it
        for row in self._parsed(chunk, stored.keys()):
            current = stored[row.key]
            updated = await self._update(row, written.get(current.id, current))
            if updated is None:
                self.outcome.unchanged += 1
            else:
                written[current.id] = updated
                self.outcome.updated += 1

    def _new(self, row: Row) -> Party:
        now = utcnow()
        party = Party(
            id=new_id(),
            kind=row.kind,
            legal_form=row.legal_form,
            display_name="",
            created_at=now,
            updated_at=now,
            external_ids=(ExternalId(self.mapping.source, row.key),),
            **{k: v for k, v in row.fields.items() if k != "legal_form"},  # type: ignore[arg-type]
        )
        return replace(party, display_name=rules.derived_display_name(party))

    async def _update(self, row: Row, current: Party) -> Party | None:
        """Write the row's mapped fields where they differ: the party written, or None when
        nothing changed."""
        mine = ExternalId(self.mapping.source, row.key)
        changes = dict(row.fields)
        if mine not in current.external_ids:
            changes["external_ids"] = (*current.external_ids, mine)
        category = self.categories.get(str(changes.get("category_id", current.category_id)))
        candidate = replace(current, **changes)  # type: ignore[arg-type]
        normal = rules.check_party(candidate, category, self.store.default_region, current)
        changes = {name: getattr(normal, name) for name in changes}
        if rules.apply_changes(current, changes, utcnow()) is current:
            return None
        return await self.store.update_party(current.id, changes, current.version, utcnow())

    async def _write_links(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        """The chunk's links not there yet. A link rewrites the closure of everything below
        its lower end, so organizations' links come first: contacts, the leaves, are
        linked last, each below a closure already complete."""
        asked: list[tuple[str, LinkRow]] = []
        for _, cells in chunk:
            key = key_of(cells, self.mapping)
            asked += [
                (key, link) for link in links(cells, self.mapping, kind_of(cells, self.mapping))
            ]
        if not asked:
            return
        wanted = {k for k, _ in asked} | {link.other for _, link in asked}
        ids = await self._holders(wanted)
        gone = sorted(wanted - ids.keys())
        if gone:  # archived or changed since the check
            raise NotFound(f"no party holds external id {self.mapping.source}:{gone[0]} now")
        types = sorted({link.type for _, link in asked}, key=lambda t: t.value)
        now = utcnow()
        current = await self.store.relationships(
            [ids[k] for k, _ in asked], types, Direction.BOTH, now
        )
        held = {
            (r.type, r.from_id, r.to_id, r.role)
            for edges in current.values()
            for r in edges
            if r.until is None
        }
        made: list[Relationship] = []
        for key, link in asked:
            ends = (ids[link.other], ids[key]) if link.incoming else (ids[key], ids[link.other])
            if (link.type, *ends, link.role) in held:
                continue
            held.add((link.type, *ends, link.role))
            made.append(
                Relationship(new_id(), link.type, *ends, since=link.since or now, role=link.role)
            )
        if made:
            await self.store.load_batch(Batch(relationships=made))
            self.outcome.linked += len(made)


def _link_refusal(
    link: LinkRow, key: str, kind: PartyKind, other: PartyKind | None, source: str
) -> str | None:
    """Why a row's link cannot be made, or None."""
    if other is None:
        return f"no party has external id {source}:{link.other}, in the file or the graph"
    if link.other == key:
        return "a party cannot be linked to itself"
    rule = REL_RULES[link.type]
    start, end = (other, kind) if link.incoming else (kind, other)
    if start not in rule.from_kinds or end not in rule.to_kinds:
        return f"{link.type.value} cannot link a {start.value} to a {end.value}"
    return None
