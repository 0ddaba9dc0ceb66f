"""A subgraph for analysts' tools: the parties a walk from one root reaches and the edges
it took, as the API's `descendants` and `network` answer them, and written by networkx
as GraphML or GEXF. The walks are the store's own, with the API's ceilings: a walk that
would go past one fails naming it, since a file cut short without a word would be
analysed as if whole.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, TYPE_CHECKING, cast

from ..cursors import encode_cursor
from ..errors import BadUserInput, LimitExceeded, NotFound
from ..model import DEFAULT_HIERARCHY_TYPES, Page, Party, Relationship, RelType
from ..store import GraphStore
from ..times import parse_instant

if TYPE_CHECKING:  # loaded when a file is written: the CLI's other commands skip its cost
    import networkx as nx

PAGE = 1_000  # descendants read per round trip


class Walk(enum.Enum):
    DESCENDANTS = "descendants"  # down the hierarchy, each party once by the edge it came by
    NETWORK = "network"  # any direction, with every edge between the parties reached


@dataclass(frozen=True)
class SubgraphQuery:
    root_id: str
    walk: Walk
    types: tuple[RelType, ...]  # () for the walk's default: hierarchy types, or all
    depth: int | None  # None: to the depth ceiling, and refused if the walk goes on past it
    as_of: datetime
    depth_ceiling: int
    limit: int  # the most parties of a network, the root included
    # the most parties of descendants, the root included: an answer over HTTP is held
    # whole in memory; None for the command line, which streams to a file
    most: int | None = None


@dataclass(frozen=True)
class Subgraph:
    parties: list[Party]
    relationships: list[Relationship]


def parse_as_of(text: str) -> datetime:
    """A date is its midnight in UTC; a date-time needs its UTC offset."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
        return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else parse_instant(text)
    except (ValueError, BadUserInput):
        raise BadUserInput(
            f"{text!r} is neither a date (2025-01-31) nor a date-time with its UTC offset"
        ) from None


def parse_types(text: str) -> tuple[RelType, ...]:
    """Relationship types, comma-separated, each once."""
    names = [name.strip().upper() for name in text.split(",") if name.strip()]
    known = {t.value: t for t in RelType}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BadUserInput(
            f"{', '.join(unknown)} is not a relationship type; types: {', '.join(known)}"
        )
    return tuple(dict.fromkeys(known[name] for name in names))


async def subgraph(store: GraphStore, query: SubgraphQuery) -> Subgraph:
    """The parties the walk reaches, the root first, and its edges; NotFound for an
    unknown root, LimitExceeded for a walk past a ceiling."""
    if (query.depth is not None and query.depth < 1) or query.limit < 1:
        raise BadUserInput("depth and limit must be at least 1")
    if query.depth is not None and query.depth > query.depth_ceiling:
        raise LimitExceeded(f"depth may be at most {query.depth_ceiling}")
    roots = await store.get_parties([query.root_id])
    if query.root_id not in roots:
        raise NotFound(f"party {query.root_id} does not exist")
    if query.walk is Walk.NETWORK:
        return await _network(store, query)
    return await _descendants(store, query, roots[query.root_id])


async def _descendants(store: GraphStore, query: SubgraphQuery, root: Party) -> Subgraph:
    types = query.types or DEFAULT_HIERARCHY_TYPES
    depth = query.depth or query.depth_ceiling
    parties, relationships = [root], []
    after = None
    while True:
        page = (
            await store.descendants(
                [root.id],
                types,
                depth,
                query.as_of,
                Page(PAGE, after),
                count=False,
                tell_beyond=query.depth is None,
            )
        )[root.id]
        for row in page.rows:
            parties.append(cast(Party, row.party))  # whole rows were asked
            if row.relationship is not None:
                relationships.append(row.relationship)
        if query.most is not None and len(parties) > query.most:
            raise LimitExceeded(
                f"the hierarchy below {root.id} holds more than {query.most} parties: give "
                "a smaller depth"
            )
        if not page.has_next:
            break
        last = page.rows[-1]
        after = encode_cursor(str(last.depth), last.party.id)
    if page.beyond:
        raise LimitExceeded(
            f"the hierarchy below {root.id} goes on past the depth ceiling of "
            f"{query.depth_ceiling} levels: give a depth (at most {query.depth_ceiling}) to "
            "export as deep as that"
        )
    return Subgraph(parties, relationships)


async def _network(store: GraphStore, query: SubgraphQuery) -> Subgraph:
    types = query.types or tuple(RelType)
    depth = query.depth or 2
    networks = await store.neighborhood([query.root_id], types, depth, query.limit, query.as_of)
    found = networks[query.root_id]
    if found.truncated:
        raise LimitExceeded(
            f"the network of {query.root_id} within {depth} hops holds more than "
            f"{query.limit} parties: give a smaller depth or a larger limit"
        )
    return Subgraph(found.parties, found.relationships)


def _node(party: Party) -> dict[str, str]:
    """A node's attributes; a value the party lacks is left out (neither format has null)."""
    attributes = {
        "name": party.display_name,
        "label": party.display_name,  # what Gephi and yEd show on a node
        "kind": party.kind.value,
        "legal_form": party.legal_form.value,
        "category": party.category_id,
        "unit_type": str(party.unit_type) if party.unit_type else None,
        "tags": ";".join(party.tags) or None,
    }
    return {key: value for key, value in attributes.items() if value is not None}


def _edge(rel: Relationship, type_key: str) -> dict[str, str]:
    attributes = {
        "id": rel.id,
        type_key: rel.type.value,
        "label": rel.type.value,
        "role": rel.role,
        "since": rel.since.isoformat(),
        "until": rel.until.isoformat() if rel.until else None,
    }
    return {key: value for key, value in attributes.items() if value is not None}


def to_networkx(found: Subgraph, type_key: str = "type") -> nx.MultiDiGraph[str]:
    """Directed from → to as stored, several edges between two parties kept apart; the
    relationship type under `type_key` (GEXF has an edge attribute `type` of its own, for
    directed or not), and as the edge's label."""
    import networkx as nx

    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for party in found.parties:
        graph.add_node(party.id, **_node(party))
    for rel in found.relationships:
        graph.add_edge(rel.from_id, rel.to_id, key=rel.id, **_edge(rel, type_key))
    return graph


FORMATS: Sequence[str] = ("graphml", "gexf")


def write(found: Subgraph, file_format: str, out: IO[bytes]) -> None:
    import networkx as nx

    if file_format == "gexf":
        nx.write_gexf(to_networkx(found, "relationship_type"), out)
    else:
        nx.write_graphml(to_networkx(found), out, edge_id_from_attribute="id")
