"""The closure of the default hierarchy, kept by both stores so roll-ups never walk the tree.

The closure holds, for each (ancestor, descendant, depth), the times at which a
path of exactly that many edges leads from one to the other: disjoint [since,
until) windows, the union over every such path of the intersection of its
edges' windows. "The subtree as of t within d levels" is then one index range:
the ancestor's rows with depth <= d whose window holds t. Every party is its
own ancestor at depth 0 over all time.

Nothing here counts or enumerates paths (a layered DAG has exponentially
many). When an edge appears or its window changes, the rows it can affect are
re-derived from the edges: pairs (A, D) with A at most DEPTH - 1 levels above
its parent and D at most DEPTH - 1 below its child (the children's region).
Paths enter the region over edges from outside (the doors), whose own rows no
change here can touch, and are carried down inside it by a breadth-first
propagation, one entry per (A, D, depth): the work is the size of the region
times the ancestors above, never the number of paths. Rows stop at DEPTH
levels, the server's depth ceiling, so a chain of 10,000 units keeps 64 rows
per unit instead of 10,000.

This module is the derivation; each store reads the edges and door rows it
needs and writes the rows back (sqlite/closure.py, neo4j/closure.py). Instants
are their fixed-width text (times.format_instant), which sorts as it compares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from .identity import SCOPE_DEPTH
from .model import DEFAULT_HIERARCHY_TYPES, REL_RULES, ParentEnd, Relationship, RelType

BEGINNING = ""  # sorts before every instant's text
OPEN = "9999-12-31T23:59:59.999999+00:00"  # sorts after every instant's text: no end
ALWAYS = (BEGINNING, OPEN)
DEPTH = SCOPE_DEPTH  # the deepest row kept: the default depth ceiling of every walk

CLOSURE_TYPES: frozenset[RelType] = frozenset(DEFAULT_HIERARCHY_TYPES)

Window = tuple[str, str]
Windows = list[Window]  # disjoint, sorted, none empty
Entries = dict[tuple[str, str], Windows]  # (ancestor, descendant) -> windows, at one depth
Found = dict[int, Entries]  # by depth
Row = tuple[str, str, int, str, str]  # ancestor, descendant, depth, since, until
Held = Mapping[str, Sequence[tuple[str, int, Window]]]  # door -> (ancestor, depth, window)


def intersect(windows: Windows, window: Window) -> Windows:
    if window == ALWAYS:
        return windows
    since, until = window
    found = []
    for start, end in windows:
        start, end = max(start, since), min(end, until)
        if start < end:
            found.append((start, end))
    return found


def union(windows: Windows, more: Windows) -> Windows:
    if not windows or windows == more:
        return more
    merged: Windows = []
    for start, end in sorted([*windows, *more]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def parent_is_from(rel_type: RelType) -> bool:
    return REL_RULES[rel_type].parent_end is ParentEnd.FROM


def parent_child(rel: Relationship) -> tuple[str, str]:
    if parent_is_from(rel.type):
        return rel.from_id, rel.to_id
    return rel.to_id, rel.from_id


def changed_edges(rels: Iterable[Relationship]) -> list[tuple[str, str]]:
    """(parent, child) of the closure edges among `rels`."""
    return [parent_child(rel) for rel in rels if rel.type in CLOSURE_TYPES]


class Edges:
    """Closure edges by parent and by child, with their windows."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
        """rows: (parent, child, since, until) with until None while the edge is open."""
        self.below: dict[str, list[tuple[str, Window]]] = defaultdict(list)
        self.above: dict[str, list[tuple[str, Window]]] = defaultdict(list)
        for parent, child, since, until in rows:
            window = (since, until or OPEN)
            self.below[parent].append((child, window))
            self.above[child].append((parent, window))


def propagate(
    seeds: Found, edges: Edges, region: set[str], check: Callable[[], None] = lambda: None
) -> Found:
    """Carry (ancestor, party) windows down the edges into `region`, one depth at a time:
    each (ancestor, descendant, depth) is one entry, however many paths lead to it; it
    stops at the first depth past the seeds that nothing reached (a new contact's rows
    come from its seeds alone)."""
    found: Found = defaultdict(dict, {d: dict(e) for d, e in seeds.items()})
    deepest = max(seeds, default=DEPTH)
    for depth in range(min(seeds, default=DEPTH), DEPTH):
        reaching = found.get(depth)
        if not reaching and depth > deepest:
            break
        check()
        following = found[depth + 1]
        for (ancestor, party), windows in (reaching or {}).items():
            for child, window in edges.below.get(party, ()):
                if child not in region:
                    continue
                reached = intersect(windows, window)
                if reached:
                    key = (ancestor, child)
                    held = following.get(key)
                    following[key] = reached if held is None else union(held, reached)
    return found


def derive(
    region: set[str],
    into: Edges,
    held: Held,
    whole: bool,
    check: Callable[[], None] = lambda: None,
) -> Found:
    """The rows (depth > 0) of the region's parties from the ancestors outside it: `into`
    holds every edge entering a party of the region, `held` each door's own rows (the
    door itself at depth 0 included). With `whole` (a changed edge starts inside the
    region, as when a batch adds a unit and its parent together), the rows between the
    region's own parties too."""
    seeds: Found = defaultdict(dict)
    if whole:
        seeds[0] = {(party, party): [ALWAYS] for party in region}
    inside = []
    for party in region:
        for door, window in into.above.get(party, ()):
            if door in region:
                inside.append((door, party, *window))
                continue
            for ancestor, depth, kept in held.get(door, ()):
                if depth >= DEPTH:
                    continue
                reached = intersect([kept], window)
                if reached:
                    entries = seeds[depth + 1]
                    key = (ancestor, party)
                    entries[key] = union(entries.get(key, []), reached)
    return propagate(seeds, Edges(inside), region, check)


def rebuilds_whole(region: set[str], changed: Iterable[tuple[str, str]], held: Held) -> bool:
    """Whether the rows between the region's own parties are re-derived too: when a changed
    edge starts inside it (a batch adding a unit and its parent together), and when a door
    holds rows from a party of the region (a door at least DEPTH levels below a changed
    child that a party of the region reaches sooner), since the door's rows carry those
    paths back into the region and would add them again beside the kept ones."""
    return any(parent in region for parent, _ in changed) or any(
        ancestor in region for found in held.values() for ancestor, _, _ in found
    )


def rows(found: Found) -> list[Row]:
    """The rows to store, in key order."""
    return sorted(
        (ancestor, descendant, depth, since, until)
        for depth, entries in found.items()
        if depth > 0
        for (ancestor, descendant), windows in entries.items()
        for since, until in windows
    )


def below_in(children: Iterable[str], edges: Edges) -> set[str]:
    """The children and every party below them over `edges`, within DEPTH - 1 levels."""
    region = set(children)
    frontier = list(region)
    for _ in range(DEPTH - 1):
        frontier = list({c for p in frontier for c, _ in edges.below.get(p, ())} - region)
        if not frontier:
            break
        region.update(frontier)
    return region
