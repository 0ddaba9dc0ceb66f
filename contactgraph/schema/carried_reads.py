"""`party(id:)` read by a nested read of its selection (graph/carried.py).

A client asking for one party's descendants, children, relationships or timeline sent two
statements to Neo4j, the party's and then the field's, and a statement's own cost there
is most of a small read's. The field's read depends only on its arguments and selection,
known before the party is read, so `party(id:)` runs it first, carrying the party's read,
and leaves its answer in the field's loader, where the field's resolver finds it.
Whatever does not fit (a fragment at that level, a directive, arguments the field would
refuse) is read as before, and a read that fails is the field's error, in its place,
without reading it again (a timeout is the request's, and the party's); a merged party's
field is read again for its survivor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLError, GraphQLInterfaceType, get_argument_values
from graphql.execution.values import VariableValues
from strawberry.types.arguments import convert_arguments
from strawberry.types.nodes import SelectedField

from ..graph import model
from ..graph.carried import carrying
from ..graph.errors import GraphError, ServiceUnavailable, Timeout
from ..resolvers.context import ContextInfo, field_selections
from ..resolvers.loaders import GroupedLoader, Loaders
from .parties import (
    children_query,
    descendants_query,
    party_timeline_query,
    relationships_query,
)

Carrier = tuple[Callable[..., Any], Callable[[Loaders], GroupedLoader[Any, Any]]]
# a nested field whose read can carry its party's: how its key is made from the field's
# arguments (by their Python names) and selection, and the loader that reads it
CARRIERS: dict[str, Carrier] = {
    "children": (children_query, lambda loaders: loaders.children),
    "descendants": (descendants_query, lambda loaders: loaders.descendants),
    "relationships": (relationships_query, lambda loaders: loaders.relationships),
    "timeline": (party_timeline_query, lambda loaders: loaders.timelines),
}


async def party_by_id(info: ContextInfo, party_id: str) -> model.Party | None:
    loaders = info.context.loaders
    nested = _nested_read(info)
    if nested is None:
        return await loaders.parties.load(party_id)
    loader, query = nested
    failed: GraphError | None = None
    with carrying(party_id) as carried:
        try:
            await loader.read_one(party_id, query)
        except (Timeout, ServiceUnavailable):
            raise  # the request's, not the field's: no read would fare better
        except GraphError as error:
            failed = error
    if carried.found is None:  # it failed before reading the party
        party = await loaders.parties.load(party_id)
    else:
        party = carried.found[0] if carried.found else None
        if party is not None:
            loaders.parties.prime(party_id, party)
    if failed is not None and party is not None and party.merged_into is None:
        loader.prime((party_id, query), failed)  # the field's error, in its place, once
    return party


def _nested_read(info: ContextInfo) -> tuple[GroupedLoader[Any, Any], Any] | None:
    """The loader and key of the first carrier field the selection asks for, as its
    resolver will make them; None when there is none, plainly asked."""
    raw = info._raw_info
    if len(raw.field_nodes) != 1 or raw.field_nodes[0].selection_set is None:
        return None
    nodes = raw.field_nodes[0].selection_set.selections
    if not all(isinstance(node, FieldNode) for node in nodes):
        return None  # a fragment may ask for one more, or only for some kinds
    node = next(
        (n for n in nodes if n.name.value in CARRIERS and not n.directives),  # type: ignore[attr-defined]
        None,
    )
    if node is None:
        return None
    assert isinstance(node, FieldNode)
    name, alias = node.name.value, node.alias.value if node.alias else None
    interface = raw.schema.get_type("Party")
    assert isinstance(interface, GraphQLInterfaceType)
    field = interface.fields[name]
    converter = raw.schema._strawberry_schema.schema_converter  # type: ignore[attr-defined]
    selected = next(
        s.selections
        for s in field_selections(info)
        if isinstance(s, SelectedField) and (s.name, s.alias) == (name, alias)
    )
    build, loader_of = CARRIERS[name]
    try:
        values = convert_arguments(
            get_argument_values(field, node, VariableValues({}, raw.variable_values)),
            field.extensions["strawberry-definition"].arguments,
            converter.scalar_registry,
            converter.config,
        )
        query = build(info.context, selected, **values)
    except (GraphQLError, GraphError):
        return None
    return loader_of(info.context.loaders), query
