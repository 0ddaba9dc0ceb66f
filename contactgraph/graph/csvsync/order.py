"""The order a CSV import creates and links parties in: by their place in the hierarchy
the file describes, a row next to the other rows under the same parent and parents
numbered depth first, so that a batch writes one subtree.

Why: the embedded store keeps the closure by ancestor and by descendant (ids made in
creation order). In file order a batch's parties hang under ancestors all over the
graph, and each of their closure rows rewrote a page of its own, which once the graph
outgrew the page cache was also read back first: a link's cost grew with the graph. In
tree order the parties of a batch share their ancestors and their ids follow each other,
so the closure rows of a batch land on few pages, each ancestor's appended at its end.

The rows are sorted outside memory, in a private temporary SQLite file deleted when
closed, so memory stays what the check holds."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from ..closure import parent_is_from
from .checks import Hierarchy, Node

Cells = dict[str, str]


def places(hierarchy: Hierarchy, index: Mapping[str, int]) -> dict[Node, int]:
    """Each party that is a parent of the file's links, numbered depth first (a parent
    before its children, a child under its first parent), so that a subtree's parents
    have consecutive numbers."""
    parent_of: dict[Node, Node] = {}
    for start, end, kind in hierarchy.edges(index):
        parent, child = (start, end) if parent_is_from(kind) else (end, start)
        parent_of.setdefault(child, parent)
    parents = dict.fromkeys(parent_of.values())
    children: dict[Node, list[Node]] = defaultdict(list)
    for child, parent in parent_of.items():
        if child in parents:
            children[parent].append(child)
    numbered: dict[Node, int] = {}
    for root in parents:
        if root in parent_of:
            continue  # numbered below its parent
        stack = [root]
        while stack:
            party = stack.pop()
            if party not in numbered:  # each once: a party may have two parents
                numbered[party] = len(numbered)
                stack += reversed(children.get(party, ()))
    return numbered


class Sorted:
    """The file's good rows by place, then line, in a private temporary SQLite file
    (deleted when closed), to be read once per pass."""

    def __init__(self, rows: Iterable[tuple[int, int, int, Cells]]) -> None:
        """rows: (place, kind, line, cells)."""
        self._spill = sqlite3.connect("")  # "": a temporary file
        self._spill.execute("PRAGMA journal_mode = OFF")
        self._spill.execute("CREATE TABLE row (place INTEGER, kind INTEGER, line INTEGER, cells)")
        with self._spill:
            self._spill.executemany(
                "INSERT INTO row VALUES (?, ?, ?, ?)",
                ((place, kind, line, json.dumps(cells)) for place, kind, line, cells in rows),
            )

    def rows(self, kind: int | None = None) -> Iterator[tuple[int, Cells]]:
        """Every row, or those of one kind."""
        where, params = ("", ()) if kind is None else ("WHERE kind = ?", (kind,))
        for line, cells in self._spill.execute(
            f"SELECT line, cells FROM row {where} ORDER BY place, line", params
        ):
            yield line, json.loads(cells)

    def close(self) -> None:
        self._spill.close()
