"""Walks over the graph on Neo4j, each one search that meets every party at most once.

Neo4j 5.26 runs a quantified path pattern as one breadth-first search with a visited set
(VarLengthExpand(Pruning,BFS) in the plan) when all the query keeps of the paths is each
end once, as `DISTINCT x` or as `min(length(path))` per x; a step may still test its
edge's direction against the node it leaves, or the node it enters against a list (a
scope's fence, scopes.py), but not with a subquery, which makes it Repeat(Trail). (With an
upper bound of 1 it plans a plain expand instead: one row per edge, as linear.) Every
other form enumerates paths, and legal hierarchies have too many: 60 layers of 3 units,
each PART_OF every unit of the layer above, hold 3^60 of them. Trails (the same pattern
keeping each path) and VarLengthExpand(Into) enumerate them, and so does ANY SHORTEST with
one end unbound (StatefulShortestPath(All)), which traces paths back from each end it
reaches: measured on those layers 1.6 s at 8, 5.4 s at 10, 51 s at 12.

Only `shortest_path` keeps ANY SHORTEST, with both ends bound: it then searches from both
ends (StatefulShortestPath(Into)), which enumerates nothing (60 layers of 3 and 30 layers
of 8 answer in tens of ms) and is the right search between two parties. Its cost grows
faster than the path is long (a chain of 2,000 / 8,000 / 16,000 links: 0.1 / 0.7 / 3.4 s),
which the depth ceiling (64) keeps out of reach of the API. It does take a subquery in a
step, but planning it then takes seconds (4 s at a ceiling of 64).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import neo4j

from .. import rules
from ..closure import CLOSURE_TYPES, DEPTH
from ..codec import PARTY_KINDS
from ..cursors import cursor_depth, decode_cursor
from ..model import (
    ACYCLIC_TYPES,
    REL_RULES,
    Ancestry,
    Below,
    Network,
    Page,
    ParentEnd,
    PartyRef,
    Path,
    Relationship,
    RelType,
    TreePage,
    TreeReading,
    TreeRow,
    parent_kinds,
)
from . import carrying, cypher
from .cypher import (
    EVERYWHERE,
    REACHES,
    REL_MAP,
    VALID_AT,
    WALKED_MAP,
    Reach,
    Tx,
    depth_in,
    encode,
    id_in,
    rank,
    rank_of,
    type_expression,
    valid_at,
)

# scoped shortest paths: searches that fence off the parties outside on the path they find,
# before one that keeps to the scope's parties, found whole
PATH_SEARCHES = 3


class Hierarchy:
    """A walk down (or up) the hierarchy over some types, as of the instant in parameter
    `at` (over edges of any time without one), entering only the parties `inside` lets it
    pass."""

    def __init__(
        self,
        types: Sequence[RelType],
        downward: bool,
        inside: Reach = EVERYWHERE,
        at: str | None = "at",
    ) -> None:
        self.forward, self.backward = rules.walk_directions(types, downward)
        self.types = types
        self.inside = inside
        self.at = at
        # Walking up over types where an edge whose parent is its `from` end (EMPLOYS) can
        # only be the first step, that step is taken apart and the rest is directed: an
        # undirected search would read every employee of each unit it passes.
        self.first_apart = (
            not downward and bool(self.forward and self.backward) and _leaf_first(types)
        )

    def _valid(self, var: str) -> str:
        return "true" if self.at is None else valid_at(var, self.at)

    def _step(self) -> str:
        """One step for a quantifier, from party a; directed when every type is crossed the
        same way, so the search reads only those edges of each party it meets."""
        if not self.backward:
            return self._onward()
        entered = f"{self._valid('r')} AND {self.inside.passes('b')}"
        if not self.forward:
            return f"(()<-[r:{type_expression(self.backward)}]-(b) WHERE {entered})"
        # type(r) against a list literal costs a third of the database hits of r:A|B
        crossing = (
            f"((type(r) IN {_names(self.forward)} AND startNode(r) = a) "
            f"OR (type(r) IN {_names(self.backward)} AND endNode(r) = a))"
        )
        return f"((a)-[r:{type_expression(self.types)}]-(b) WHERE {crossing} AND {entered})"

    def _onward(self) -> str:
        entered = f"{self._valid('r')} AND {self.inside.passes('b')}"
        return f"(()-[r:{type_expression(self.forward)}]->(b) WHERE {entered})"

    def _first(self, start: str) -> str:
        """The step taken apart: from `start` to y."""
        found = f"({start})<-[e:{type_expression(self.backward)}]-(y:Party)"
        return f"MATCH {found} WHERE {self._valid('e')} AND {self.inside.passes('y')} "

    def reach(self, start: str, most: int) -> str:
        """A subquery body: (x, depth) for `start` (depth 0) and every party within `most`
        steps of it, at its shortest depth; a party may come twice (take the least)."""
        depths = "RETURN x, min(length(path)) + {} AS depth"
        if most < 1 or not self.types:
            return f"RETURN {start} AS x, 0 AS depth"
        if not self.first_apart:
            return f"MATCH path = ({start}) {self._step()}{{0,{most}}} (x:Party) {depths.format(0)}"
        near = f"MATCH path = ({start}) {self._onward()}{{0,{most}}} (x:Party) {depths.format(0)}"
        if most == 1:
            return f"{near} UNION ALL {self._first(start)}RETURN y AS x, 1 AS depth"
        far = f"MATCH path = (y) {self._onward()}{{0,{most - 1}}} (x:Party) {depths.format(1)}"
        return f"{near} UNION ALL {self._first(start)}{far}"

    def past(self, start: str, most: int) -> str:
        """A subquery body: `beyond`, whether a party lies further than `most` steps from
        `start` at its shortest depth: the same search, one level further."""
        return (
            f"CALL ({start}) {{ {self.reach(start, most + 1)} }} "
            f"WITH x, min(depth) AS depth WHERE depth > {most} RETURN count(x) > 0 AS beyond"
        )

    def past_closure(self, root_id: str) -> str:
        """A subquery body: `beyond` as `past` gives it, from the closure of the default
        hierarchy: a child of a party $max_depth below the root whose id is `root_id` (one
        seek of the root's rows at that depth, from $deepest to $below: `closure_bounds`)
        that has no row from it within $max_depth."""
        return (
            f"MATCH (f:Reach)-[:{REACHES}]->(y:Party) {ranked('f')} "
            f"WHERE f.ancestor = {root_id} AND f.rank >= $deepest AND f.rank < $below "
            f"AND {in_closure('f')} CALL (y) {{ {self.hop('y')} }} "
            f"WITH DISTINCT n WHERE NOT EXISTS {{ MATCH (n)<-[:{REACHES}]-(h:Reach) "
            f"WHERE h.ancestor = {root_id} AND h.depth <= $max_depth AND {in_closure('h')} }} "
            "RETURN count(n) > 0 AS beyond"
        )

    def members(self, start: str, most: int) -> str:
        """A subquery body: x for `start` and every party within `most` steps of it, once."""
        if most < 1 or not self.types:
            return f"RETURN {start} AS x"
        return f"MATCH ({start}) {self._step()}{{0,{most}}} (x:Party) RETURN DISTINCT x"

    def leads_to(self, start: str, goal: str, most: int) -> str:
        """A predicate: `goal` is `start` or within `most` steps of it. EXISTS reads the
        search's rows only until `goal` comes, so the search stops there."""
        found = f"WITH DISTINCT x WHERE x = {goal} RETURN x"
        if most < 1 or not self.types:
            return f"{start} = {goal}"
        if not self.first_apart:
            return f"EXISTS {{ MATCH ({start}) {self._step()}{{0,{most}}} (x:Party) {found} }}"
        near = f"EXISTS {{ MATCH ({start}) {self._onward()}{{0,{most}}} (x:Party) {found} }}"
        if most == 1:
            return f"({near} OR EXISTS {{ {self._first(start)}AND y = {goal} }})"
        far = f"MATCH (y) {self._onward()}{{0,{most - 1}}} (x:Party) {found}"
        return f"({near} OR EXISTS {{ {self._first(start)}{far} }})"

    def hop(self, node: str) -> str:
        """A subquery body: (r, n) for every edge one step on from `node`, each read from
        `node`'s side of its type and direction."""
        parts = []
        entered = f"{self._valid('r')} AND {self.inside.passes('n')}"
        if self.forward:
            found = f"({node})-[r:{type_expression(self.forward)}]->(n:Party)"
            parts.append(f"MATCH {found} WHERE {entered} RETURN r, n")
        if self.backward:
            found = f"({node})<-[r:{type_expression(self.backward)}]-(n:Party)"
            parts.append(f"MATCH {found} WHERE {entered} RETURN r, n")
        return " UNION ALL ".join(parts)

    def tree(self, start: str, most: int, keys: str) -> str:
        """From rows binding `start` (one of `keys`) to a row (keys, n, depth, parent, edge)
        for each party within `most` steps of it, at its shortest depth, with the edge (an
        element id) from the party one level nearer whose (parent id, edge id) is least.
        The search stops a level short and one step from every party it met adds the last
        level: that step meets each edge once, so it sees every parent a party has at the
        level above it."""
        return (
            f"CALL ({start}) {{ {self.reach(start, most - 1)} }} "
            f"WITH {keys}, x, min(depth) AS depth "
            f"CALL (x) {{ {self.hop('x')} }} "
            f"WITH {keys}, n, depth, x, r WHERE n <> {start} "
            f"WITH {keys}, n, min([depth, x.id, r.id, elementId(r)]) AS via "
            f"WITH {keys}, n, via[0] + 1 AS depth, via[1] AS parent, via[3] AS edge "
        )


def ranked(row: str) -> str:
    """The hint that reads a subtree's closure rows from the index in page order: left to
    choose, the planner takes the ancestor's index and sorts (1.5 s for a group of
    100,000 parties rather than 2 ms)."""
    return f"USING INDEX {row}:Reach(ancestor, rank, since, until)"


def rows_of(row: str, ancestor: str) -> str:
    """Closure row `row` is one of `ancestor`'s, read from the ranked index, which holds
    every row (none lacks a rank or a window): an index of (ancestor) alone wrote five
    entries more a seeded party."""
    return (
        f"{row}.ancestor = {ancestor} AND {row}.rank IS NOT NULL "
        f"AND {row}.since IS NOT NULL AND {row}.until IS NOT NULL"
    )


def in_closure(row: str) -> str:
    """`valid_at` for closure rows, whose open windows end at OPEN, never null: a
    condition the ranked index answers by itself."""
    return f"{row}.since <= datetime($at) AND {row}.until > datetime($at)"


# the number of parties a root's closure rows reach within $below, as of $at, read from
# the indexes alone (rank, since and until are in them): its rows, less the surplus of
# the few that share a party with a row of another depth (closure.py's `shared`) —
# counting distinct parties over every row took 0.8 µs a row, counting rows 0.2-0.4
CLOSURE_COUNT = (
    f"CALL (rid) {{ MATCH (h:Reach) {ranked('h')} WHERE h.ancestor = rid AND h.rank < $below "
    f"AND {in_closure('h')} RETURN count(*) AS rows }} "
    "CALL (rid) { MATCH (g:Reach) USING INDEX g:Reach(shared, rank, since, until) "
    f"WHERE g.shared = rid AND g.rank < $below AND {in_closure('g')} "
    "RETURN count(*) - count(DISTINCT substring(g.rank, 2)) AS surplus } "
    "RETURN rows - surplus AS n"
)


def closure_bounds(max_depth: int) -> dict[str, str]:
    """The ranks where the closure's rows at depth `max_depth` begin and end."""
    return {"deepest": rank(max_depth), "below": rank(max_depth + 1)}


def _names(types: Sequence[RelType]) -> str:
    """A list literal of relationship type names, from enum members only."""
    return "[" + ", ".join(f"'{t.value}'" for t in types) + "]"


def _leaf_first(types: Sequence[RelType]) -> bool:
    """Whether the children of the types whose parent is the `from` end (EMPLOYS) are never
    parents over these types, so that such an edge can only start a walk up."""
    from_parent = [t for t in types if REL_RULES[t].parent_end is ParentEnd.FROM]
    parents = parent_kinds(tuple(types))
    return not any(REL_RULES[t].to_kinds & parents for t in from_parent)


def _tree_row(party: dict[str, Any], depth: int, parent: str, edge: dict[str, Any]) -> TreeRow:
    return TreeRow(cypher.party(party), depth, parent, cypher.rel(edge))


def _below(rows: list[list[Any]]) -> list[Below]:
    """Rows as `descendants` read them: each a party map or a reference, its depth and
    parent, an edge map or null. References without edges (what a page of ids and depths
    reads) are made here without a call a row: 500 rows took a millisecond in calls."""
    found = []
    for party, depth, parent, edge in rows:
        if type(party) is list and edge is None:
            ref = PartyRef(party[0], PARTY_KINDS[party[1]], party[2])
            found.append(Below(ref, depth, parent, None))
        else:
            read = cypher.party(party) if isinstance(party, dict) else cypher.party_ref(party)
            found.append(Below(read, depth, parent, None if edge is None else cypher.rel(edge)))
    return found


async def descendants(
    tx: Tx,
    root_ids: Sequence[str],
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    page: Page,
    count: bool,
    reading: TreeReading,
    inside: Reach = EVERYWHERE,
    tell_beyond: bool = False,
) -> dict[str, TreePage]:
    """One page of descendants per root: each statement reads every root at once."""
    roots = list(dict.fromkeys(root_ids))
    after = decode_cursor(page.after, 2) if page.after else None
    params: dict[str, Any] = {
        "roots": roots,
        "at": encode(as_of),
        "after_depth": cursor_depth(after[0], max_depth) if after else -1,
        "after_id": after[1] if after else "",
        "limit": page.first + 1,
        "max_depth": max_depth,
    }
    if max_depth < 1:
        return {root: TreePage([], False, 0 if count else None) for root in roots}
    region = Hierarchy(types, downward=True).members("s", max_depth + tell_beyond)
    await inside.fence(tx, roots, region, params)
    params |= inside.params
    down = Hierarchy(types, downward=True, inside=inside)
    start = f"UNWIND $roots AS rid MATCH (root:Party {{id: rid}}) WHERE {inside.passes('root')} "
    # an edge is found again by its element id, a look-up per row: only when it is read
    edge_found = "MATCH ()-[r]->() WHERE elementId(r) = edge " if reading.edges else ""
    edge_kept, edge_read = (", r", REL_MAP) if reading.edges else ("", "null")
    party_read = WALKED_MAP if reading.parties else cypher.ref_list("n")
    # the default hierarchy within the closure's depth, for a viewer who sees everything:
    # each party below and its shortest depth are the closure's rows (closure.py)
    closed = inside is EVERYWHERE and frozenset(types) == CLOSURE_TYPES and max_depth <= DEPTH
    totals: dict[str, int] = {}
    beyond: set[str] = set()  # roots with parties past max_depth
    # walking, whether parties lie past max_depth comes from the count's search, one
    # level deeper; over the closure, from a seek with the page
    walk_past = tell_beyond and not closed
    if closed:
        params |= closure_bounds(max_depth) | {
            "after_rank": rank(params["after_depth"], params["after_id"]) if after else ""
        }
    if count:
        counted = await tx.run(
            f"UNWIND $roots AS rid CALL (rid) {{ {CLOSURE_COUNT} }} RETURN collect([rid, n, false])"
            if closed
            else f"{start}CALL (root) {{ CALL (root) "
            f"{{ {down.reach('root', max_depth + walk_past)} }} "
            "WITH root, x, min(depth) AS depth WHERE x <> root "
            "RETURN count(CASE WHEN depth <= $max_depth THEN x END) AS n, "
            "coalesce(max(depth), 0) > $max_depth AS beyond } RETURN collect([rid, n, beyond])",
            params,
        )
        for root, total, past in await cypher.collected(counted):
            totals[root] = total
            if past:
                beyond.add(root)
    after_cursor = "(depth > $after_depth OR (depth = $after_depth AND n.id > $after_id))"
    if closed:
        # the rows in page order, each kept where no row of the same party is nearer; the
        # parent a level up with the least (id, edge id) found from each row kept
        parent = (
            f"WITH *, n AS x CALL (rid, x, depth) {{ "
            f"CALL (x) {{ {Hierarchy(types, downward=False).hop('x')} }} "
            f"WITH n, r WHERE (depth = 1 AND n.id = rid) OR EXISTS {{ "
            f"MATCH (g:Reach) WHERE g.ancestor = rid AND g.rank = {rank_of('depth - 1', 'n.id')} "
            f"AND {in_closure('g')} }} "
            "RETURN min([n.id, r.id, elementId(r)]) AS via } "
            if reading.parents or reading.edges
            else "WITH *, [null, null, null] AS via "
        )
        # REACHES leads to parties only, and the rank holds the depth and the party's id:
        # no label test, and neither read from the row or the party
        depth, party_id = depth_in("h.rank"), id_in("h.rank")
        named = party_read if reading.parties else f"[{id_in('place')}, n.kind, n.display_name]"
        statement = (
            f"UNWIND $roots AS rid CALL (rid) {{ MATCH (h:Reach)-[:{REACHES}]->(n) "
            f"{ranked('h')} WHERE h.ancestor = rid AND h.rank > $after_rank AND h.rank < $below "
            # a nearer row of the same party: only a row marked shared may have one (both
            # would hold at $at, so their windows overlap), found by the ranks it would
            # have, a seek each (a party's own rows read for every row were two thirds
            # of the statement's database hits; a subquery over the root's rows left to
            # the planner once read all of them for each row)
            f"AND {in_closure('h')} AND (h.shared IS NULL OR NOT EXISTS {{ MATCH (g:Reach) "
            "WHERE g.ancestor = rid AND g.rank IN "
            f"[d IN range(1, {depth} - 1) | {rank_of('d', party_id)}] AND {in_closure('g')} }}) "
            "WITH n, h ORDER BY h.ancestor, h.rank LIMIT $limit "
            f"WITH rid, n, {depth} AS depth, h.rank AS place {parent}"
            f"WITH n, depth, place, via[0] AS parent, via[2] AS edge "
            f"{edge_found}WITH n, depth, place, parent{edge_kept} ORDER BY place "
            f"RETURN collect([{named}, depth, parent, {edge_read}]) AS rows }} "
        )
    elif reading.parents or reading.edges:
        statement = (
            f"{start}CALL (root) {{ {down.tree('root', max_depth, 'root')}WHERE {after_cursor} "
            "WITH n, depth, parent, edge ORDER BY depth, n.id LIMIT $limit "
            f"{edge_found}WITH n, depth, parent{edge_kept} ORDER BY depth, n.id "
            f"RETURN collect([{party_read}, depth, parent, {edge_read}]) AS rows }} "
        )
    else:  # depths alone: the search, without a step on from every party to its parent
        statement = (
            f"{start}CALL (root) {{ CALL (root) {{ {down.reach('root', max_depth)} }} "
            "WITH root, x AS n, min(depth) AS depth "
            f"WHERE n <> root AND {after_cursor} "
            "WITH n, depth ORDER BY depth, n.id LIMIT $limit "
            f"RETURN collect([{party_read}, depth, null, null]) AS rows }} "
        )
    # over the closure, whether parties lie past max_depth is a seek: read with the page
    past = (
        f"CALL (rid) {{ {down.past_closure('rid')} }} "
        if closed and tell_beyond
        else "WITH *, false AS beyond "
    )
    read = await carrying.collected(
        tx, f"{statement}{past}", "collect([rid, rows, beyond])", params, inside
    )
    found: dict[str, list[Below]] = {}
    for root, rows, past_rows in read:
        found[root] = _below(rows)
        if past_rows:
            beyond.add(root)
    # walking, it is told when counted or on a root's last page, where it costs a search
    asked = [r for r in roots if walk_past and not count and len(found.get(r, ())) <= page.first]
    if asked:
        result = await tx.run(
            f"{start}CALL (root) {{ {down.past('root', max_depth)} }} "
            "WITH rid WHERE beyond RETURN collect(rid)",
            {**params, "roots": asked},
        )
        beyond |= set(await cypher.collected(result))
    pages = {}
    for root in roots:
        rows = found.get(root, [])
        has_next = len(rows) > page.first
        told = root in beyond and (count or not has_next)  # as every store tells it
        total = totals.get(root, 0) if count else None
        pages[root] = TreePage(rows[: page.first], has_next, total, told)
    return pages


async def ancestors(
    tx: Tx,
    party_ids: Sequence[str],
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    inside: Reach = EVERYWHERE,
    tell_beyond: bool = False,
) -> dict[str, Ancestry]:
    found: dict[str, list[TreeRow]] = defaultdict(list)
    if max_depth < 1:
        return {start: Ancestry([]) for start in party_ids}
    params = {"starts": list(dict.fromkeys(party_ids)), "at": encode(as_of)}
    region = Hierarchy(types, downward=False).reach("s", max_depth + tell_beyond)
    await inside.fence(tx, party_ids, region, params)
    params |= inside.params
    up = Hierarchy(types, downward=False, inside=inside)
    starts = f"UNWIND $starts AS start MATCH (s:Party {{id: start}}) WHERE {inside.passes('s')} "
    result = await tx.run(
        f"{starts}{up.tree('s', max_depth, 'start, s')}"
        "MATCH ()-[r]->() WHERE elementId(r) = edge "
        "WITH start, n, depth, parent, r ORDER BY start, depth, n.id "
        f"RETURN collect([start, {WALKED_MAP}, depth, parent, {REL_MAP}]) AS rows",
        params,
    )
    for start, *row in await cypher.collected(result):
        found[start].append(_tree_row(*row))
    beyond: set[str] = set()
    if tell_beyond:
        result = await tx.run(
            f"{starts}CALL (s) {{ {up.past('s', max_depth)} }} WITH start WHERE beyond "
            "RETURN collect(start) AS beyond",
            params,
        )
        beyond = set(await cypher.collected(result))
    return {start: Ancestry(found[start], start in beyond) for start in params["starts"]}


async def neighborhood(
    tx: Tx,
    root_ids: Sequence[str],
    types: Sequence[RelType],
    depth: int,
    limit: int,
    as_of: datetime,
    inside: Reach = EVERYWHERE,
) -> dict[str, Network]:
    """Each root's network: one search for all roots, one read of their parties, one of
    the edges within each."""
    roots = list(dict.fromkeys(root_ids))
    params: dict[str, Any] = {"roots": roots, "at": encode(as_of), "limit": limit}
    reached: dict[str, list[str]] = {}
    if depth >= 1 and types:
        # the root takes one place: `limit` others mean a cut was made
        edge = f"()-[r:{type_expression(types)}]-(b) WHERE {VALID_AT}"
        ball = f"MATCH (s) ({edge}){{0,{depth}}} (x:Party) RETURN DISTINCT x"
        await inside.fence(tx, roots, ball, params)
        result = await tx.run(
            f"UNWIND $roots AS rid MATCH (root:Party {{id: rid}}) WHERE {inside.passes('root')} "
            "CALL (root) { "
            f"MATCH path = (root) ({edge} AND {inside.passes('b')}){{1,{depth}}} (n:Party) "
            "WITH n, min(length(path)) AS distance WHERE n <> root "
            "WITH n, distance ORDER BY distance, n.id LIMIT $limit "
            "RETURN collect(n.id) AS reached } RETURN collect([rid, reached])",
            {**params, **inside.params},
        )
        reached = dict(await cypher.collected(result))
    kept = {root: [root, *reached.get(root, [])][:limit] for root in roots}
    parties = await cypher.parties(tx, list({i for ids in kept.values() for i in ids}), inside)
    rels: dict[str, list[Relationship]] = {}
    if types:
        result = await tx.run(
            "UNWIND $groups AS g CALL (g) { "
            f"MATCH (a:Party)-[r:{type_expression(types)}]->(b:Party) "
            f"WHERE a.id IN g[1] AND b.id IN g[1] AND {VALID_AT} "
            f"WITH r ORDER BY r.since, r.id RETURN collect({REL_MAP}) AS rels }} "
            "RETURN collect([g[0], rels])",
            groups=[[root, ids] for root, ids in kept.items() if root in parties],
            at=encode(as_of),
        )
        rels = {
            root: [cypher.rel(found) for found in edges]
            for root, edges in await cypher.collected(result)
        }
    return {
        root: Network(
            [parties[i] for i in kept[root] if i in parties],
            rels.get(root, []),
            truncated=len(reached.get(root, [])) >= limit,
        )
        if root in parties
        else Network([], [], truncated=False)
        for root in roots
    }


async def shortest_path(
    tx: Tx,
    from_id: str,
    to_id: str,
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    inside: Reach = EVERYWHERE,
) -> Path | None:
    ends = await cypher.parties(tx, [from_id, to_id], inside)
    rules.found(ends, [from_id, to_id])
    if from_id == to_id:
        return Path([ends[from_id]], [])
    if max_depth < 1 or not types:
        return None
    params = {"from_id": from_id, "to_id": to_id, "at": encode(as_of)}
    edge = f"()-[r:{type_expression(types)}]-(y) WHERE {VALID_AT}"

    async def search(bound: str, entered: str) -> neo4j.Record | None:
        result = await tx.run(
            f"MATCH (a:Party {{id: $from_id}}), (b:Party {{id: $to_id}}) {bound}"
            f"MATCH p = ANY SHORTEST (a) ({edge} AND {entered}){{1,{max_depth}}} (b) "
            f"RETURN [n IN nodes(p) | n.id] AS nodes, [r IN relationships(p) | {REL_MAP}] AS rels",
            {**params, **inside.params},
        )
        return await result.single()

    # the parties outside that a path found passes are fenced off for the next search; the
    # last keeps to the scope's parties, all found first, as many steps as the scope has
    for _ in range(PATH_SEARCHES):
        record = await search("", inside.passes("y"))
        if record is None or not await inside.fence(tx, record["nodes"], "RETURN s AS x", {}):
            break
    else:
        everyone = f"WITH a, b, COLLECT {{ {inside.parties('z')} RETURN z }} AS kept "
        record = await search(everyone, "y IN kept")
    if record is None:
        return None
    parties = await cypher.parties(tx, record["nodes"])
    return Path([parties[i] for i in record["nodes"]], [cypher.rel(r) for r in record["rels"]])


# an acyclic edge that still counts for a cycle: valid at or after $since
_LIVE = "(r.until IS NULL OR r.until > datetime($since))"


async def reaches(tx: Tx, start: str, goal: str, since: datetime) -> bool:
    """Whether start leads to goal from → to over the acyclic types, counting every edge
    still valid at or after `since` (an edge that ended before it cannot close a cycle).
    Everything above start is searched once; ANY SHORTEST between the two grew with the
    square of a long chain (2.8 s at 16,000 links, where this takes 9 ms)."""
    types = type_expression(ACYCLIC_TYPES)
    result = await tx.run(
        "MATCH (s:Party {id: $start}), (g:Party {id: $goal}) "
        f"RETURN g IN COLLECT {{ MATCH (s) (()-[r:{types}]->() WHERE {_LIVE})+ (x:Party) "
        "RETURN DISTINCT x } AS found",
        start=start,
        goal=goal,
        since=encode(since),
    )
    record = await result.single()
    return bool(record and record["found"])


async def acyclic_above(tx: Tx, targets: Sequence[str], since: datetime) -> list[tuple[str, str]]:
    """The stored acyclic edges (from, to) that lead on from → to from the targets, still
    valid at or after `since`: one search per target, then each edge above read once."""
    types = type_expression(ACYCLIC_TYPES)
    result = await tx.run(
        "UNWIND $targets AS id MATCH (t:Party {id: id}) "
        f"CALL (t) {{ MATCH (t) (()-[r:{types}]->() WHERE {_LIVE})* (x:Party) RETURN DISTINCT x }} "
        f"WITH DISTINCT x MATCH (x)-[r:{types}]->(y:Party) WHERE {_LIVE} "
        "RETURN x.id AS from_id, y.id AS to_id",
        targets=sorted(set(targets)),
        since=encode(since),
    )
    return [(record["from_id"], record["to_id"]) async for record in result]
