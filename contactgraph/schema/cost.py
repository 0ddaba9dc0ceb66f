"""What an operation would cost to run, how deep its fields nest and how many aliases it
has: one walk over the operation, after validation and with its variables coerced.

graphql-core and Strawberry have no cost estimate, and Strawberry's depth and alias
limiters walk a fragment again at every spread, which is exponential in a chain of
fragments that each spread the next twice (18 of them, 193 tokens, take 1.5 s), and
skip introspection fields. This walk mirrors execution instead: a fragment spread
twice into one selection set runs once, and each fragment is measured once per list
size it is spread under.

The cost counts every field once for each item of the lists it sits in. A list is as
long as what bounds it: `first` (or the default page size) for a connection's edges,
`limit` for a network's nodes and edges, `maxDepth` + 1 for a path's nodes and
relationships, and UNBOUNDED_LIST for lists nothing bounds (children,
relationships, ancestors, subjects, emails, the introspection lists). A size past
its ceiling counts as the ceiling: the resolver refuses it with its own message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_argument_values,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.execution.values import VariableValues

UNBOUNDED_LIST = 10
"""The items assumed in a list that no argument bounds."""

Visit = Callable[[GraphQLNamedType, str, GraphQLField, dict[str, Any]], None]
"""Called once per field node that takes arguments: parent type, field name, its
definition and its coerced argument values."""


@dataclass(frozen=True)
class Sizes:
    """The page and traversal settings that bound lists."""

    default_page: int
    max_page: int
    max_network: int
    max_depth: int


@dataclass(frozen=True)
class Measure:
    cost: int = 0
    depth: int = 0
    aliases: int = 0

    def __add__(self, other: Measure) -> Measure:
        return Measure(
            self.cost + other.cost, max(self.depth, other.depth), self.aliases + other.aliases
        )


class TooDeep(Exception):
    """Fields nest deeper than the walk was allowed to follow."""


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    sizes: Sizes,
    max_depth: int,
    visit: Visit | None = None,
) -> Measure:
    """The operation's measure; TooDeep as soon as a field sits deeper than max_depth."""
    root = schema.get_root_type(operation.operation)
    assert root is not None  # the document was validated
    walk = _Walk(schema, document, variables, sizes, max_depth, visit)
    return walk.selections(operation.selection_set, root, None, 1, set())


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: VariableValues,
        sizes: Sizes,
        max_depth: int,
        visit: Visit | None,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.sizes = sizes
        self.max_depth = max_depth
        self.visit = visit
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[tuple[str, int | None], Measure] = {}
        self.visited: set[int] = set()

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        items: int | None,
        level: int,
        spread: set[str],
    ) -> Measure:
        """`items`: the size of the lists in this selection set, when its field bounds it;
        `spread`: the fragments already spread at this level, which execution skips."""
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, items, level)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                assert inner is not None
                total += self.selections(selection.selection_set, inner, items, level, spread)
            elif selection.name.value not in spread:
                spread.add(selection.name.value)
                total += self.fragment(selection.name.value, items, level)
        return total

    def fragment(self, name: str, items: int | None, level: int) -> Measure:
        found = self.measured.get((name, items))
        if found is None:
            definition = self.fragments[name]
            inner = self.schema.get_type(definition.type_condition.name.value)
            assert inner is not None
            found = self.selections(definition.selection_set, inner, items, level, set())
            self.measured[(name, items)] = found
        if level - 1 + found.depth > self.max_depth:
            raise TooDeep
        return found

    def field(
        self, node: FieldNode, parent: GraphQLNamedType, items: int | None, level: int
    ) -> Measure:
        if level > self.max_depth:
            raise TooDeep
        definition = self.schema.get_field(parent, node.name.value)  # type: ignore[arg-type]
        assert definition is not None
        named = get_named_type(definition.type)
        listed = is_list_type(get_nullable_type(definition.type)) and is_composite_type(named)
        count = (UNBOUNDED_LIST if items is None else items) if listed else 1
        arguments = self.arguments(node, parent, definition)
        inner = Measure()
        if node.selection_set:
            bound = self.list_size(definition, arguments)
            inner = self.selections(node.selection_set, named, bound, level + 1, set())
        return Measure(
            count * (1 + inner.cost), 1 + inner.depth, int(bool(node.alias)) + inner.aliases
        )

    def arguments(
        self, node: FieldNode, parent: GraphQLNamedType, definition: GraphQLField
    ) -> dict[str, Any]:
        if not definition.args:
            return {}
        try:
            values = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return {}  # execution refuses the field with graphql-core's own message
        if self.visit is not None and id(node) not in self.visited:
            self.visited.add(id(node))
            self.visit(parent, node.name.value, definition, values)
        return values

    def list_size(self, definition: GraphQLField, arguments: Mapping[str, Any]) -> int | None:
        """How long the lists right below a field are, when an argument of it says."""
        sizes = self.sizes
        if "first" in definition.args:
            return _bounded(arguments.get("first"), sizes.default_page, sizes.max_page)
        if "limit" in definition.args:
            return _bounded(arguments.get("limit"), sizes.max_network, sizes.max_network)
        if "maxDepth" in definition.args and not is_list_type(get_nullable_type(definition.type)):
            # a path's lists; a list field itself (ancestors) is as long as nothing bounds
            return _bounded(arguments.get("maxDepth"), sizes.max_depth, sizes.max_depth) + 1
        return None


def _bounded(value: object, default: int, ceiling: int) -> int:
    if not isinstance(value, int):
        return default
    return max(0, min(value, ceiling))
