"""A faster way through graphql-core for the objects a resolver hands over whole.

graphql-core spends about 5 µs on each field of each object: a resolve-info object, an
awaitable check, a path, a pass through complete_value. A page of 2,000 descendants asks
for some 10,000 fields, which made execution the largest part of such a request. Most of
those fields are plain attributes of objects the resolvers built: the model's value objects
and Strawberry fields without resolvers. For an object whose selection holds only such
fields (at any depth, also through lists, interfaces and __typename) this context builds,
once per selection, a plan that reads the attributes and coerces the leaves directly; a
list a resolver returns (children, ancestors) is completed by one plan for its items.
Anything else (a resolver, an argument, @defer, a null where the schema says non-null, a
value the plan does not expect) makes the plan give up on that object, which graphql-core
then completes the usual way, so answers and errors are exactly what it would give. An
object whose selection mixes the two (an organization's `id` beside its `children`) has
its plain fields read the same way and each of the others executed by graphql-core's
execution of that one field, at its path.

Fields that take arguments are resolved with the arguments of their node worked out once
per execution (shared_arguments.py) rather than once per object. An object's several
awaited fields, and a list's awaited items, are awaited together in the awaiting task
(together.py) rather than with a task each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE, get_strawberry_type_cast

from .shared_arguments import SharedArguments
from .together import settled

Complete = Callable[[Any, GraphQLResolveInfo], Any]
Read = tuple[Callable[[Any], Any], Complete, type | None]
"""How a plan reads a field itself: the attribute, then its value's completion, unless
it is a leaf of the exact type given, answered as it is."""
Fields = list[tuple[str, Any, Read | None]]
"""An object's selection: each response name, its field details and how a plan reads it
(None: the field is graphql-core's to execute)."""


class _GiveUp(Exception):
    """The plan cannot complete this value; graphql-core's own path will."""


def _by_class(is_type_of: Callable[..., Any]) -> bool:
    """Whether a type's is_type_of is Strawberry's own, which, for a value not cast,
    decides by the value's class alone."""
    return getattr(is_type_of, "__module__", None) == "strawberry.schema.schema_converter"


class _NotPlannable(Exception):
    """A selection some part of which needs graphql-core's own path."""


def _streamed(node: Any) -> bool:
    """A list field under @stream: graphql-core sends its items in parts."""
    return any(directive.name.value == "stream" for directive in node.directives or ())


def _basic(resolve: Any) -> bool:
    """Strawberry marks the resolver of a field without a resolver function this way."""
    return bool(getattr(resolve, "_is_default", False))


# the scalars that answer a value of this exact Python type as it is
_AS_IS: dict[str, type] = {"ID": str, "String": str, "Boolean": bool}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # a GraphQL Int; graphql-core refuses the others


def _exact(of_type: GraphQLOutputType) -> type | None:
    """The Python type a leaf of this type answers as it is (an int, within Int's range)."""
    leaf = of_type.of_type if isinstance(of_type, GraphQLNonNull) else of_type
    name = getattr(leaf, "name", None) if is_leaf_type(leaf) else None
    return int if name == "Int" else _AS_IS.get(name or "")


def _leaf(of_type: Any, required: bool) -> Complete:
    """A scalar or enum value, coerced as graphql-core would; a null where the schema says
    non-null is graphql-core's to report."""
    coerce = of_type.coerce_output_value
    as_is = _AS_IS.get(of_type.name)
    is_int = of_type.name == "Int"

    def leaf(value: Any, info: GraphQLResolveInfo) -> Any:
        kind = type(value)
        if kind is as_is or (is_int and kind is int and _INT_MIN <= value <= _INT_MAX):
            return value
        if value is None:
            if required:
                raise _GiveUp
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _GiveUp
        return coerced

    return leaf


def _reader(field: GraphQLField) -> Callable[[Any], Any]:
    """How a plan reads a field without a resolver: Strawberry reads the attribute of its
    Python name with the schema's default resolver; when that is getattr, an attrgetter
    does the same without the two calls Strawberry makes for it."""
    definition = (field.extensions or {}).get("strawberry-definition")
    name = getattr(definition, "python_name", None)
    if name and getattr(definition, "default_resolver", None) is getattr:
        return attrgetter(name)
    resolve = field.resolve
    assert resolve is not None
    return lambda source: resolve(source, None)  # a basic field's resolver reads no info


def _as_is(value: Any, info: GraphQLResolveInfo) -> Any:
    return value


class PlannedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with planned completion of plain fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLOutputType, int], tuple[Any, Complete | None]] = {}
        self._fields_of: dict[tuple[GraphQLObjectType, int], tuple[Any, Fields | None]] = {}
        self._runtime: dict[tuple[GraphQLAbstractType, type], GraphQLObjectType] = {}
        self._arguments = SharedArguments(self.variable_values, self.hide_suggestions)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's execution of an object's fields, whose awaited ones are then
        awaited together rather than gathered with a task each."""
        fields = ((name, details, None) for name, details in grouped_field_set.items())
        return self._execute(parent_type, source_value, path, fields, position_context, None)

    def _execute(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        fields: Iterable[tuple[str, Any, Read | None]],
        position_context: Any,
        info: Any,
    ) -> Any:
        """The fields a plan reads read by it, each of the others (or one whose value the
        plan does not expect) by graphql-core's execution of the field at its own path."""
        results: dict[str, Any] = {}
        awaited: list[str] = []
        try:
            for response_name, field_details_list, read in fields:
                if read is not None:
                    try:
                        results[response_name] = read[1](read[0](source), info)
                        continue
                    except Exception:  # _GiveUp, or anything unplanned: graphql-core's
                        pass
                result = self.execute_field(
                    parent_type,
                    source,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is Undefined:
                    continue
                results[response_name] = result
                if self.is_awaitable(result):
                    awaited.append(response_name)
        except Exception:
            # the fields already started may fail too: settled, so that none is left behind
            self.track_async_work([results[name] for name in awaited])
            raise
        return settled(results, awaited) if awaited else results

    async def complete_awaitable_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's completion of a resolver's awaited value, by the plan for the
        field's type where there is one, and without the coroutine graphql-core adds
        around the awaiting when no abort signal is to be heeded."""
        if self.abort_signal is not None:
            return await super().complete_awaitable_value(
                return_type, field_details_list, info, path, result, position_context
            )
        try:
            resolved = await result
            # null, and an error returned as the value, are graphql-core's to report
            plannable = resolved is not None and not isinstance(resolved, Exception)
            plan = self._plan(return_type, field_details_list) if plannable else None
            if plan is not None:
                try:
                    return plan(resolved, info)
                except Exception:  # _GiveUp, or anything unplanned: graphql-core's to report
                    pass
            completed = self.complete_value(
                return_type, field_details_list, info, path, resolved, position_context
            )
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        return completed

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """graphql-core's resolution of one field for one object, but with the arguments
        of the field's node from self._arguments; fields without arguments, and every
        field under graphql-core middleware, take graphql-core's own path."""
        first = field_details_list[0]
        field = self.schema.get_field(parent_type, first.node.name.value)
        if (
            field is None
            or not (field.args or first.node.arguments)
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
        ):
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        return_type = field.type
        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
        try:
            call = self._arguments.call(field, first, info, field.resolve or self.field_resolver)
            result = call(source, info)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._completion(completed, return_type, field_details_list, path)
        return completed

    async def _completion(
        self, completed: Any, return_type: GraphQLOutputType, field_details_list: Any, path: Path
    ) -> Any:
        """A completion that finishes later; its error is the field's, as graphql-core's."""
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """By the plan for the selection; else, for one that mixes fields a plan reads with
        fields that need graphql-core's execution (a resolver, arguments), the first read
        directly and each of the others executed as graphql-core would, at its path."""
        plan = self._plan(return_type, field_details_list)
        if plan is not None:
            try:
                return plan(result, info)
            except Exception:  # _GiveUp, or anything unplanned: graphql-core's to report
                pass
        else:
            fields = self._fields(return_type, field_details_list)
            is_type_of = return_type.is_type_of
            if fields is not None and (is_type_of is None or is_type_of(result, info) is True):
                # no position context, as graphql-core's own execution of subfields
                return self._execute(return_type, result, path, fields, None, info)
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_abstract_value(
        self,
        return_type: GraphQLAbstractType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's, with the runtime type found once per Python class as plans find
        it (500 children whose selections mix both kinds of field resolved theirs each)."""
        try:
            runtime = self._runtime_of(return_type, result, info)
        except _GiveUp:
            return super().complete_abstract_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self.complete_object_value(
            runtime, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list a resolver returned (children, ancestors): its items by one plan, where
        graphql-core would take each through complete_value and, for an interface, through
        its type resolution and checks."""
        plan = self._plan(return_type, field_details_list)
        if plan is not None:
            try:
                return plan(result, info)
            except Exception:  # _GiveUp, or anything unplanned: graphql-core's to report
                pass
        if not isinstance(result, (list, tuple)) or any(
            _streamed(details.node) for details in field_details_list
        ):
            return super().complete_list_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self._items(
            return_type.of_type, field_details_list, info, path, result, position_context
        )

    def _items(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        items: list[Any] | tuple[Any, ...],
        position_context: Any,
    ) -> Any:
        """A list's items completed each as graphql-core completes them, its awaited
        ones then awaited together rather than gathered with a task each."""
        completed: list[Any] = []
        awaited: list[int] = []
        index = 0
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                if self.is_awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, position_context
                        )
                    )
                    awaited.append(index)
                elif self.complete_list_item_value(
                    item,
                    completed,
                    item_type,
                    field_details_list,
                    info,
                    item_path,
                    position_context,
                ):
                    awaited.append(index)
        except Exception:
            # settled, so that none of the items started or left is left behind
            self.track_async_work([completed[i] for i in awaited] + list(items[index + 1 :]))
            raise
        return settled(completed, awaited) if awaited else completed

    def _plan(self, of_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        """The plan for this selection of a value of this type (an object's is for a value
        that is not null), or None; made once per execution."""
        key = (of_type, id(field_details_list))
        cached = self._plans.get(key)
        if cached is None:
            try:
                made: Complete | None
                if isinstance(of_type, GraphQLObjectType):
                    made = self._object(of_type, field_details_list)
                elif any(_streamed(details.node) for details in field_details_list):
                    raise _NotPlannable
                else:
                    made = self._value(of_type, field_details_list)
            except _NotPlannable:
                made = None
            # the list is kept alive with the plan, so that its id is not reused meanwhile
            cached = self._plans[key] = (field_details_list, made)
        return cached[1]

    def _fields(self, object_type: GraphQLObjectType, field_details_list: Any) -> Fields | None:
        """This selection of an object's fields, each with how a plan reads it, or None
        when graphql-core must execute the whole selection (@defer, middleware); made
        once per execution."""
        key = (object_type, id(field_details_list))
        cached = self._fields_of.get(key)
        if cached is None:
            made: Fields | None = None
            no_middleware = self.middleware_manager is None or not (
                self.middleware_manager.middlewares
            )
            grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
            if no_middleware and not defer_usages:
                made = [
                    (response_name, details, self._read(object_type, details))
                    for response_name, details in grouped.items()
                ]
            # the list is kept alive with the fields, so that its id is not reused meanwhile
            cached = self._fields_of[key] = (field_details_list, made)
        return cached[1]

    def _read(self, object_type: GraphQLObjectType, details: Any) -> Read | None:
        """How a plan reads this field: None for one with a resolver or arguments, or
        whose value the plans do not complete."""
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            type_name = object_type.name
            return (lambda source: type_name), _as_is, str
        field = self.schema.get_field(object_type, name)
        if field is None or field.args or node.arguments or not _basic(field.resolve):
            return None
        try:
            return _reader(field), self._value(field.type, details), _exact(field.type)
        except _NotPlannable:
            return None

    def _object(
        self,
        object_type: GraphQLObjectType,
        field_details_list: Any,
        typed: bool = False,
        required: bool = True,
    ) -> Complete:
        """`typed`: the values it is given were found to be of this type, by their class;
        `required`: a null is graphql-core's to report (else it is answered as null)."""
        fields = self._fields(object_type, field_details_list)
        if fields is None or any(read is None for _, _, read in fields):
            raise _NotPlannable
        reads = [(name, *read) for name, _, read in fields if read is not None]
        is_type_of = None if typed else object_type.is_type_of
        # Strawberry's check decides by the class of a value not cast: asked once a class
        by_class = is_type_of is not None and _by_class(is_type_of)
        passed: set[type] = set()

        def complete(source: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
            if source is None:
                if required:
                    raise _GiveUp
                return None  # type: ignore[return-value]
            if is_type_of is not None and (
                type(source) not in passed or getattr(source, TYPE_CAST_ATTRIBUTE, None)
            ):
                if is_type_of(source, info) is not True:
                    raise _GiveUp
                if by_class and getattr(source, TYPE_CAST_ATTRIBUTE, None) is None:
                    passed.add(type(source))
            out: dict[str, Any] = {}
            for name, read, value, exact in reads:  # a loop: a comprehension is one call more
                got = read(source)
                # a leaf answered as it is, tested here: a call less for each
                if type(got) is exact and (exact is not int or _INT_MIN <= got <= _INT_MAX):
                    out[name] = got
                else:
                    out[name] = value(got, info)
            return out

        return complete

    def _value(self, of_type: GraphQLOutputType, details: Any, required: bool = False) -> Complete:
        """How to complete a value of this type, planned now all the way down; `required`:
        under a non-null type, whose null is graphql-core's to report."""
        if is_non_null_type(of_type):
            assert isinstance(of_type, GraphQLNonNull)
            return self._value(of_type.of_type, details, required=True)
        if is_list_type(of_type):
            assert isinstance(of_type, GraphQLList)
            item = self._value(of_type.of_type, details)

            def listed(value: Any, info: GraphQLResolveInfo) -> Any:
                if value is None:
                    if required:  # graphql-core raises the located error
                        raise _GiveUp
                    return None
                if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
                    raise _GiveUp
                return [item(each, info) for each in value]

            return listed
        if is_leaf_type(of_type):
            return _leaf(of_type, required)
        if is_object_type(of_type):
            assert isinstance(of_type, GraphQLObjectType)
            return self._object(of_type, details, required=required)
        if is_abstract_type(of_type):
            return self._abstract(of_type, details, required)  # type: ignore[arg-type]
        raise _NotPlannable

    def _abstract(self, abstract: GraphQLAbstractType, details: Any, required: bool) -> Complete:
        """A value of an interface or union: its runtime type from the type's own resolver,
        once per Python class, then that type's plan (found by the class too)."""
        plans: dict[type, Complete | None] = {}

        def complete(value: Any, info: GraphQLResolveInfo) -> Any:
            if value is None:
                if required:
                    raise _GiveUp
                return None
            if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
                raise _GiveUp  # strawberry.cast: the type is the value's, not its class's
            kind = type(value)
            if kind in plans:
                plan = plans[kind]
            else:
                runtime = self._runtime_of(abstract, value, info)
                try:
                    plan = self._object(runtime, details, typed=True)
                except _NotPlannable:
                    plan = None
                plans[kind] = plan
            if plan is None:
                raise _GiveUp
            return plan(value, info)

        return complete

    def _runtime_of(
        self, abstract: GraphQLAbstractType, value: Any, info: GraphQLResolveInfo
    ) -> GraphQLObjectType:
        """The runtime type of a value of an abstract type, from the type's own resolver
        once per Python class."""
        if get_strawberry_type_cast(value) is not None:
            raise _GiveUp  # strawberry.cast: the type is the value's, not its class's
        key = (abstract, type(value))
        runtime = self._runtime.get(key)
        if runtime is None:
            runtime = self._runtime[key] = self._runtime_type(abstract, value, info)
        return runtime

    def _runtime_type(
        self, abstract: GraphQLAbstractType, value: Any, info: GraphQLResolveInfo
    ) -> GraphQLObjectType:
        definition = getattr(type(value), "__strawberry_definition__", None)
        if definition is None or definition.is_graphql_generic or abstract.resolve_type is None:
            raise _GiveUp  # only Strawberry's own classes map to one type per class
        name = abstract.resolve_type(value, info, abstract)
        runtime = self.schema.get_type(name) if isinstance(name, str) else None
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
            abstract, runtime
        ):
            raise _GiveUp
        # the type's own check, Strawberry's, decides by the class of a value not cast: made
        # once here, not for every value (another's is left to graphql-core)
        check = runtime.is_type_of
        if check is not None and (not _by_class(check) or check(value, info) is not True):
            raise _GiveUp
        return runtime
