"""What a CSV import checks across rows, before it writes: VAT numbers and tax codes
given twice in the file or held by another party of the graph, and links over the
acyclic types (a parent column's PART_OF among them) that close a cycle, within the file
or with the hierarchy stored. Each finding is a RowError naming the row's line, so a dry
run lists every bad row. Memory grows with the codes and acyclic links of the file, as
it does with the index of its keys (sync.py): some 100 bytes a link while the file is
read, a few hundred more while the cycles are looked for."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from ..identity import SCOPE_DEPTH
from ..model import ACYCLIC_TYPES, ExternalId, Party, RelType
from ..store import GraphStore
from ..times import utcnow
from .rows import Row, RowError

if TYPE_CHECKING:
    import networkx as nx

_NAMES = {"vat": "VAT number", "tax": "tax code"}
_CYCLE_TYPES = sorted(ACYCLIC_TYPES, key=lambda t: t.value)


T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """itertools.batched, which comes with Python 3.12."""
    found = iter(items)
    while batch := list(islice(found, size)):
        yield batch


class FileCodes:
    """The file's VAT numbers and tax codes: the first line giving each, and its row's key."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], tuple[int, str, str | None]] = {}

    def add(self, row: Row) -> list[RowError]:
        """Errors for the row's codes an earlier line gives already."""
        errors = []
        for code in row.codes:
            line, _, _ = self.first.setdefault(
                (code.kind, code.key), (row.line, row.key, code.column)
            )
            if line != row.line:
                reason = f"{_NAMES[code.kind]} is on line {line} already"
                errors.append(RowError(row.line, code.column, reason))
        return errors

    async def held(self, store: GraphStore, source: str, batch: int) -> list[RowError]:
        """Errors for the codes a party of the graph holds, other than the row's own."""
        errors = []
        for codes in batched(self.first.items(), batch):
            holders = await store.parties_by_code([code for code, _ in codes])
            rows = {key for code, (_, key, _) in codes if holders[code]}
            if not rows:
                continue
            owners = await store.parties_by_external_id([ExternalId(source, k) for k in rows])
            own = {x.key: ids[0] for x, ids in owners.items() if ids}
            for code, (line, key, column) in codes:
                holder = next(iter(holders[code]), None)
                if holder is not None and holder != own.get(key):
                    reason = f"{_NAMES[code[0]]} is held by party {holder} already"
                    errors.append(RowError(line, column, reason))
        return errors


Node = int | str  # a row's party by its line, or a party the file lacks by its key


class Hierarchy:
    """The file's links over the acyclic types: the line asking each, the other end's key,
    and its shape (type, direction, column), one of the few the mapping allows."""

    def __init__(self) -> None:
        self.lines = array("q")
        self.others: list[str] = []
        self.shapes = array("B")
        self._shapes: dict[tuple[RelType, bool, str], int] = {}

    def add(self, row: Row) -> None:
        for link in row.links:
            if link.type in ACYCLIC_TYPES:
                shape = (link.type, link.incoming, link.column)
                self.lines.append(row.line)
                self.others.append(link.other)
                self.shapes.append(self._shapes.setdefault(shape, len(self._shapes)))

    def edges(self, index: Mapping[str, int]) -> Iterator[tuple[Node, Node, RelType]]:
        """Each link as (from, to, type), in the order the file asks them; `index` is the
        file's keys (key -> line * 2 + kind)."""
        shapes = list(self._shapes)
        for line, other, shape in zip(self.lines, self.others, self.shapes, strict=True):
            kind, incoming, _ = shapes[shape]
            end = index[other] // 2 if other in index else other
            yield (end, line, kind) if incoming else (line, end, kind)

    async def cycles(
        self, store: GraphStore, source: str, index: Mapping[str, int], batch: int
    ) -> list[RowError]:
        """Errors for the links that close a cycle, among themselves or with the stored
        hierarchy above their upper ends; `index` is the file's keys (key -> line * 2 +
        kind)."""
        shapes = list(self._shapes)
        edges = [(start, end) for start, end, _ in self.edges(index)]
        lower = {start for start, _ in edges}
        above = await self._stored_above(
            {end for _, end in edges}, lower, store, source, index, batch
        )
        errors = []
        for i in sorted(_on_cycles([*edges, *above])):
            if i >= len(self.lines):
                continue  # a stored edge: the file's on the cycle are reported
            kind, incoming, column = shapes[self.shapes[i]]
            way = "from" if incoming else "to"
            reason = f"{kind.value} {way} {source}:{self.others[i]} would close a cycle"
            errors.append(RowError(self.lines[i], column, reason))
        return errors

    @staticmethod
    async def _stored_above(
        upper: set[Node],
        lower: set[Node],
        store: GraphStore,
        source: str,
        index: Mapping[str, int],
        batch: int,
    ) -> list[tuple[Node, Node]]:
        """Edges from each upper end to the lower ends of the file above it in the graph:
        the stored hierarchy's part in a cycle."""
        keys: dict[Node, str] = {
            line: key for key, packed in index.items() if (line := packed // 2) in upper
        }
        keys |= {n: n for n in upper if isinstance(n, str)}
        found: list[tuple[Node, Node]] = []
        for chunk in batched(keys.items(), batch):
            held = await store.parties_by_external_id([ExternalId(source, k) for _, k in chunk])
            ids = {h[0]: n for n, k in chunk if (h := held[ExternalId(source, k)])}
            walked = await store.ancestors(list(ids), _CYCLE_TYPES, SCOPE_DEPTH, utcnow())
            for party_id, ancestry in walked.items():
                for row in ancestry.rows:
                    found += [
                        (ids[party_id], n) for n in _nodes(row.party, source, index) if n in lower
                    ]
        return found


def _nodes(party: Party, source: str, index: Mapping[str, int]) -> Iterator[Node]:
    for x in party.external_ids:
        if x.source == source:
            yield index[x.key] // 2 if x.key in index else x.key


def _on_cycles(edges: Sequence[tuple[Node, Node]]) -> set[int]:
    """The positions of the edges that lie on a cycle. Edges into parties no cycle can
    pass are peeled off first (a hierarchy has none left), in arrays; networkx finds the
    strongly connected components of what remains."""
    numbers: dict[str, int] = {}
    top = max((n for e in edges for n in e if isinstance(n, int)), default=0) + 1

    def number(n: Node) -> int:
        return n if isinstance(n, int) else numbers.setdefault(n, top + len(numbers))

    starts = array("q", (number(a) for a, _ in edges))
    ends = array("q", (number(b) for _, b in edges))
    size = top + len(numbers)
    first = array("q", bytes(8 * (size + 1)))  # edges by start: first[n]..first[n + 1]
    for a in starts:
        first[a + 1] += 1
    for n in range(size):
        first[n + 1] += first[n]
    order, filled = array("q", bytes(8 * len(edges))), array("q", first)
    for i, a in enumerate(starts):
        order[filled[a]] = i
        filled[a] += 1
    entering = array("q", bytes(8 * size))
    for b in ends:
        entering[b] += 1
    free = [n for n in set(starts) if entering[n] == 0]
    while free:
        n = free.pop()
        for i in order[first[n] : first[n + 1]]:
            entering[ends[i]] -= 1
            if entering[ends[i]] == 0:
                free.append(ends[i])
    import networkx as nx  # here: every CLI command would otherwise pay for loading it

    rest: nx.DiGraph[int] = nx.DiGraph()
    kept = [i for i in range(len(edges)) if entering[starts[i]] and entering[ends[i]]]
    rest.add_edges_from((starts[i], ends[i]) for i in kept)
    component = {n: c for c, ns in enumerate(nx.strongly_connected_components(rest)) for n in ns}
    return {i for i in kept if component[starts[i]] == component[ends[i]] and starts[i] != ends[i]}
