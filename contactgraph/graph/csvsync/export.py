"""The CSV export: a filtered list of parties, one row each, read page by page (the
columns: HEADER, docs/csv-import.md). A mapping shipped in docs/ reads it back."""

from __future__ import annotations

import csv
from typing import IO

from ..cursors import encode_cursor
from ..externalids import shown
from ..model import Direction, Page, Party, PartyFilter, PartyKind, Relationship, RelType
from ..store import GraphStore
from ..times import format_instant, utcnow
from .mapping import ADDRESS, FISCAL, PARTY

PAGE = 1_000
HEADER = (
    "id",
    *PARTY,
    "email",
    "phone",
    *ADDRESS,
    *FISCAL,
    "tags",
    "external_ids",
    "parent_id",
    "parent_role",
    "archived_at",
)
SEPARATOR = ";"  # between the values of one cell: tags, external ids
# the edge to a party's parent, by its kind: where it is filed
_PARENT = {PartyKind.ORGANIZATION: RelType.PART_OF, PartyKind.CONTACT: RelType.MEMBER_OF}


async def write_csv(store: GraphStore, where: PartyFilter, out: IO[str]) -> int:
    """Write the header and a row per party matching `where`; how many rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    written = 0
    cursor = None
    now = utcnow()
    while True:
        page = await store.list_parties(where, Page(PAGE, cursor), count=False)
        ids = [p.id for p in page.parties]
        edges = await store.relationships(ids, list(_PARENT.values()), Direction.OUTGOING, now)
        for party in page.parties:
            writer.writerow(_row(party, _parent(party, edges.get(party.id, []))))
        written += len(page.parties)
        if not page.has_next:
            return written
        cursor = encode_cursor(page.parties[-1].id)


def _parent(party: Party, edges: list[Relationship]) -> Relationship | None:
    wanted = _PARENT.get(party.kind)
    mine = [e for e in edges if e.type is wanted and e.from_id == party.id]
    return min(mine, key=lambda e: e.id) if mine else None


def _row(party: Party, parent: Relationship | None) -> list[str]:
    address = party.addresses[0] if party.addresses else None
    fiscal = party.fiscal

    def part(name: str) -> str:
        return (getattr(address, name) or "") if address else ""

    return [
        party.id,
        party.kind.value,
        party.name or "",
        party.first_name or "",
        party.last_name or "",
        party.legal_form.value,
        party.category_id or "",
        party.emails[0].address if party.emails else "",
        party.phones[0].number if party.phones else "",
        *(part(name) for name in ADDRESS),
        (fiscal.vat_number or "") if fiscal else "",
        (fiscal.tax_code or "") if fiscal else "",
        (fiscal.country or "") if fiscal else "",
        SEPARATOR.join(party.tags),
        SEPARATOR.join(shown(x) for x in party.external_ids),
        parent.to_id if parent else "",
        (parent.role or "") if parent else "",
        format_instant(party.archived_at) if party.archived_at else "",
    ]
