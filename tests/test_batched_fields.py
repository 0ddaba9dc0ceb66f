"""Every list a party's field returns costs as many store calls under two parties as under
six: one per field per GraphQL level, however many parents ask.

The walk goes over the schema: each list-returning field of each party type (a list, or
an object holding lists: connections, a network, a category) must have an entry in
SELECTIONS, with the calls a page of parties reading it costs. A field added without
one fails here before it can cost a call per parent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from client import GraphQL
from graphql import GraphQLObjectType, get_named_type, get_nullable_type, is_list_type
from test_round_trips import round_trips

from contactgraph.config import Settings
from contactgraph.schema.build import build_schema

TODAY, WEEK = datetime.now(UTC), timedelta(days=7)
# field: (its selection, the store calls of parties reading it, their own look-up included)
SELECTIONS: dict[str, tuple[str, int]] = {
    "emails": ("emails { address }", 1),
    "phones": ("phones { number }", 1),
    "addresses": ("addresses { city }", 1),
    "tags": ("tags", 1),
    "externalIds": ("externalIds { source key }", 1),
    "mergedFrom": ("mergedFrom", 2),
    "history": ("history(first: 2) { edges { node { at } } }", 2),
    "category": ("category { id legalForms }", 2),
    "attributes": ("attributes { field type boolean date text }", 2),
    "relationships": ("relationships { id }", 2),
    "children": ("children { id }", 2),
    "descendants": (
        "descendants(first: 3) { totalCount edges { node { depth party { id } } } }",
        2,
    ),
    "ancestors": ("ancestors { id }", 2),
    "network": ("network(depth: 2) { truncated nodes { id } edges { id } }", 2),
    "responsibles": ("responsibles { relationship { id } }", 2),
    # the ancestors, then the edges of all of them at once; foundOn is among those read
    "responsibles(inherited)": (
        "responsibles(inherited: true) { distance foundOn { id } user { id } }",
        4,
    ),
    "timeline": ("timeline(first: 2, includeDescendants: true) { edges { node { id } } }", 2),
    # searched and counted in the same call as the page
    "timeline(counted)": (
        'timeline(first: 2, includeDescendants: true, search: "offer") '
        "{ totalCount countsByType { count } edges { node { id } } }",
        2,
    ),
    "possibleDuplicates": ("possibleDuplicates { score party { id } }", 3),
    "grants": ("grants { role }", 2),
    "contact": ("contact { id emails { address } }", 2),
    # the steps, then their assignees at once
    "processes": ("processes { steps { state assignee { id } } }", 3),
    # the deals, then the pipelines of all of them at once
    "opportunities": (
        "opportunities(first: 3, includeDescendants: true) "
        "{ edges { node { title stage { name } } } }",
        3,
    ),
    "agenda": (  # the demo's week of plans
        f'agenda(from: "{TODAY:%Y-%m-%d}T00:00:00Z", to: "{TODAY + WEEK:%Y-%m-%d}T00:00:00Z") '
        "{ edges { node { startsAt conflict activity { id subjects { id } } } } }",
        3,
    ),
}
# parties of each kind in the demo: the few, then the many
PAGES = {"Organization": (2, 6), "Contact": (2, 6), "User": (2, 4)}
# fields whose load costs a call only for parties with something in them (a category, a
# contact, candidates to read), and where the demo has none
DATA_DEPENDENT = {
    "category",
    "contact",
    "possibleDuplicates",
    "attributes",
    "agenda",
    "processes",
    "opportunities",
}
EMPTY_IN_DEMO = {
    ("User", "category"),
    ("User", "contact"),
    ("User", "possibleDuplicates"),
    ("User", "attributes"),
    ("Organization", "attributes"),
    # a seed opens no runs: the demo's parties have none until someone records an AGREEMENT
    ("User", "processes"),
    ("Organization", "processes"),
    ("Contact", "processes"),
}


def _lists(kind: GraphQLObjectType) -> list[str]:
    """The fields of a party type that return a list, or an object holding one."""
    found = []
    for name, field in kind.fields.items():
        named = get_named_type(field.type)
        holds = isinstance(named, GraphQLObjectType) and any(
            is_list_type(get_nullable_type(inner.type)) for inner in named.fields.values()
        )
        if is_list_type(get_nullable_type(field.type)) or holds:
            found.append(name)
    return found


def _party_types() -> dict[str, list[str]]:
    schema = build_schema(Settings())._schema
    party = schema.get_type("Party")
    assert party is not None
    return {kind.name: _lists(kind) for kind in schema.get_implementations(party).objects}  # type: ignore[arg-type]


def test_every_list_field_of_a_party_has_a_round_trip_budget() -> None:
    types = _party_types()
    assert set(types) == set(PAGES)
    missing = {f"{kind}.{name}" for kind, names in types.items() for name in names} - {
        f"{kind}.{name}" for kind in types for name in SELECTIONS
    }
    assert not missing, f"list fields without a round-trip assertion: {sorted(missing)}"
    assert {"descendants", "network", "timeline", "ancestors"} <= set(types["Organization"])


# fields asked with arguments that take another way, under their own budget
VARIANTS = {"responsibles": ["responsibles(inherited)"], "timeline": ["timeline(counted)"]}
CASES = [
    (kind, case)
    for kind, names in _party_types().items()
    for name in names
    for case in [name, *VARIANTS.get(name, [])]
]


def _filled(value: object) -> bool:
    """Whether a field's answer holds anything: some loads cost a call only then."""
    if isinstance(value, dict):
        return any(_filled(inner) for inner in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not None and value is not False


@pytest.mark.parametrize(("kind", "field"), CASES, ids=[f"{k}.{f}" for k, f in CASES])
async def test_parties_read_a_list_field_in_calls_that_do_not_grow_with_them(
    demo: GraphQL, kind: str, field: str
) -> None:
    """Parties with something in the field first (a load may cost a call only then), each
    read by its own `party` field: a load per party would cost a call per alias."""
    selection, budget = SELECTIONS[field]
    found = await demo(
        "query($kinds: [PartyKind!]) { parties(first: 50, filter: {kinds: $kinds}) "
        f"{{ edges {{ node {{ id ... on {kind} {{ value: {selection} }} }} }} }} }}",
        {"kinds": [kind.upper()]},
    )
    nodes = [edge["node"] for edge in found["parties"]["edges"]]
    few, many = PAGES[kind]
    filled = [node["id"] for node in nodes if _filled(node["value"])]
    if field in DATA_DEPENDENT and (kind, field) not in EMPTY_IN_DEMO:
        assert len(filled) >= few, f"the demo has too few {kind} parties with {field}"
    chosen = filled + [node["id"] for node in nodes if node["id"] not in filled]
    counted = []
    for parents in (few, many):
        aliases = " ".join(
            f'p{i}: party(id: "{party}") {{ id ... on {kind} {{ {selection} }} }}'
            for i, party in enumerate(chosen[:parents])
        )
        calls, data = await round_trips(demo, f"{{ {aliases} }}")
        assert len(data) == parents and all(data.values())
        counted.append(calls)
    # more parents may find more of what they load already read (candidates among them)
    assert counted[1] <= counted[0] <= budget, f"{kind}.{field}: {counted} calls"
