"""The scope table: for every root field and Party field, a document the scoped reader
sends and what it must (not) see; test_scope_access.py runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scope_world import World, ids_of

Check = Callable[["World", dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    field: str  # "Query.x", "Party.x", "Opportunity.x" or "Subscription.x"
    query: str
    variables: Callable[[World], dict[str, Any]]
    check: Check


def _party_case(field: str, selection: str, party: str, check: Check) -> Case:
    return Case(
        f"Party.{field}",
        f"query($id: ID!) {{ party(id: $id) {{ {selection} }} }}",
        lambda w: {"id": w.ids[party]},
        check,
    )


def _check_relationships(w: World, data: dict[str, Any]) -> None:
    rels = data["party"]["relationships"]
    assert {r["type"] for r in rels} == {"MEMBER_OF", "RESPONSIBLE_FOR"}  # not KNOWS max
    assert w.names(r["id"] for r in rels) == {"eva>north", "rep>eva"}


def _check_timeline(w: World, data: dict[str, Any]) -> None:
    edges = data["party"]["timeline"]["edges"]
    assert w.names(ids_of([e["node"] for e in edges])) == {"on_eva", "on_both"}
    both = next(e["node"] for e in edges if e["node"]["id"] == w.ids["on_both"])
    assert w.names(ids_of(both["subjects"])) == {"eva"}  # max is outside
    assert both["author"]["id"] == w.ids["admin"]  # the author is named all the same


def _check_fiscal(w: World, data: dict[str, Any]) -> None:
    assert data["party"] == {"fiscal": None}


CASES = [
    Case("Query.viewer", "{ viewer { id } }", lambda w: {}, lambda w, d: _viewer_is(w, d)),
    Case(
        "Query.roles",
        "{ roles { name } }",
        lambda w: {},
        lambda w, d: _contains(d["roles"], {"name": "reader"}),
    ),
    Case(
        "Query.apiTokens",
        "{ apiTokens { userId } }",
        lambda w: {},
        lambda w, d: _all(d["apiTokens"], lambda t: t["userId"] == w.ids["reader"]),
    ),
    Case(
        "Query.node",
        "query($a: ID!, $b: ID!, $c: ID!, $d: ID!, $e: ID!, $f: ID!) { "
        "a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } "
        "d: node(id: $d) { id } e: node(id: $e) { id } f: node(id: $f) { id } }",
        lambda w: {
            k: w.ids[n]
            for k, n in zip(
                "abcdef", ["eva", "max", "on_both", "on_max", "eva>north", "eva>max"], strict=True
            )
        },
        lambda w, d: _equal(
            {k: bool(v) for k, v in d.items()},
            {"a": True, "b": False, "c": True, "d": False, "e": True, "f": False},
        ),
    ),
    Case(
        "Query.party",
        "query($a: ID!, $b: ID!) { a: party(id: $a) { id } b: party(id: $b) { id } }",
        lambda w: {"a": w.ids["north"], "b": w.ids["holding"]},
        lambda w, d: _equal(d, {"a": {"id": w.ids["north"]}, "b": None}),
    ),
    Case(
        "Query.partyByExternalId",
        '{ a: partyByExternalId(source: "crm", key: "eva") { id } '
        'b: partyByExternalId(source: "CRM", key: "max") { id } }',
        lambda w: {},
        lambda w, d: _equal(d, {"a": {"id": w.ids["eva"]}, "b": None}),
    ),
    Case(
        "Query.parties",
        "{ all: parties(first: 2) { totalCount edges { node { id } } } "
        'eva: parties(search: "Berger") { totalCount } '
        'max: parties(search: "Huber") { totalCount } }',
        lambda w: {},
        lambda w, d: _parties(w, d),
    ),
    Case(
        "Query.path",
        "query($a: ID!, $b: ID!) { path(fromId: $a, toId: $b) { nodes { id } } }",
        lambda w: {"a": w.ids["eva"], "b": w.ids["rep"]},
        lambda w, d: _equal(w.names(ids_of(d["path"]["nodes"])), {"eva", "rep"}),
    ),
    Case(
        "Query.contactPerson",  # the boss sits above sales: outside, so nobody
        'query($o: ID!) { contactPerson(organizationId: $o, role: "boss") { person { id } } }',
        lambda w: {"o": w.ids["north"]},
        lambda w, d: _equal(d, {"contactPerson": None}),
    ),
    Case(
        "Query.activities",  # on_max is about max alone, who is outside
        "{ all: activities { edges { node { id } } } "
        'calls: activities(search: "call", types: [CALL]) { edges { node { id } } } }',
        lambda w: {},
        lambda w, d: _equal(
            [w.names(ids_of([e["node"] for e in d[k]["edges"]])) for k in ("all", "calls")],
            [{"on_eva", "on_both", "task_in"}, {"on_eva", "on_both"}],
        ),
    ),
    Case(
        "Query.tasks",  # rep's task about legal is outside
        "query($u: ID!) { tasks(assigneeId: $u) { edges { node { id } } } }",
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(w.names(ids_of([e["node"] for e in d["tasks"]["edges"]])), {"task_in"}),
    ),
    Case(
        "Query.agenda",  # the same two on rep's agenda
        'query($u: ID!) { agenda(userIds: [$u], from: "2030-01-01T00:00:00Z", '
        'to: "2030-02-01T00:00:00Z") { edges { node { activity { id } } } } }',
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(
            w.names(e["node"]["activity"]["id"] for e in d["agenda"]["edges"]), {"task_in"}
        ),
    ),
    Case(
        "Query.levels",  # the graph's vocabulary, the same for every viewer
        "{ levels { id } }",
        lambda w: {},
        lambda w, d: _contains(d["levels"], {"id": "DEPARTMENT"}),
    ),
    Case(
        "Query.category",
        "query($c: ID!) { category(id: $c) { id } }",
        lambda w: {"c": w.ids["category"]},
        lambda w, d: _equal(d["category"], {"id": w.ids["category"]}),
    ),
    Case(
        "Query.categories",
        "{ categories { name } }",
        lambda w: {},
        lambda w, d: _equal(bool(d["categories"]), True),
    ),
    Case(
        "Query.pipelines",  # pipelines are definitions, not the graph: every reader's
        "{ pipelines { name } }",
        lambda w: {},
        lambda w, d: _equal(d, {"pipelines": [{"name": "Sales"}]}),
    ),
    Case(
        "Query.pipeline",
        "query($p: ID!) { pipeline(id: $p) { name } }",
        lambda w: {"p": w.ids["pipeline"]},
        lambda w, d: _equal(d, {"pipeline": {"name": "Sales"}}),
    ),
    Case(
        "Query.opportunities",  # only the deal whose organization is inside
        "query($a: ID!, $b: ID!) { all: opportunities { edges { node { title } } } "
        "inside: opportunities(filter: {organizationId: $a}) { edges { node { title } } } "
        "outside: opportunities(filter: {organizationId: $b, includeDescendants: true}) "
        "{ edges { node { title } } } }",
        lambda w: {"a": w.ids["north"], "b": w.ids["holding"]},
        lambda w, d: _equal(
            [[e["node"]["title"] for e in d[k]["edges"]] for k in ("all", "inside", "outside")],
            [["north"], ["north"], ["north"]],
        ),
    ),
    Case(
        "Opportunity.timeline",  # the deal inside has one; the one outside is not there
        "query($a: ID!, $b: ID!) { inside: node(id: $a) { ... on Opportunity { "
        "timeline { totalCount } } } outside: node(id: $b) { ... on Opportunity { "
        "timeline { totalCount } } } }",
        lambda w: {"a": w.ids["deal_north"], "b": w.ids["deal_legal"]},
        lambda w, d: _equal(d, {"inside": {"timeline": {"totalCount": 0}}, "outside": None}),
    ),
    Case(
        "Query.pipelineSummary",
        "query($p: ID!) { pipelineSummary(pipelineId: $p) { count amount } }",
        lambda w: {"p": w.ids["pipeline"]},
        lambda w, d: _equal(d, {"pipelineSummary": [{"count": 1, "amount": "10"}]}),
    ),
    _party_case("fiscal", "fiscal { vatNumber }", "eva", _check_fiscal),
    _party_case("relationships", "relationships { id type }", "eva", _check_relationships),
    _party_case(
        "children",
        "children { id }",
        "sales",
        lambda w, d: _equal(w.names(ids_of(d["party"]["children"])), {"north", "rep"}),
    ),
    _party_case(
        "descendants",
        "descendants { totalCount edges { node { party { id } } } }",
        "sales",
        lambda w, d: _equal(
            (
                d["party"]["descendants"]["totalCount"],
                w.names(e["node"]["party"]["id"] for e in d["party"]["descendants"]["edges"]),
            ),
            (3, {"north", "rep", "eva"}),
        ),
    ),
    _party_case(
        "ancestors",
        "ancestors { id }",
        "eva",
        lambda w, d: _equal(w.names(ids_of(d["party"]["ancestors"])), {"north", "sales"}),
    ),
    _party_case(
        "network",
        "network(depth: 3) { nodes { id } edges { id } }",
        "eva",
        lambda w, d: _equal(
            w.names(ids_of(d["party"]["network"]["nodes"])), {"eva", "north", "sales", "rep"}
        ),
    ),
    _party_case(
        "responsibles",
        "responsibles { user { id } }",
        "eva",
        lambda w, d: _equal([r["user"]["id"] for r in d["party"]["responsibles"]], [w.ids["rep"]]),
    ),
    _party_case(
        "timeline",
        "timeline { edges { node { id subjects { id } author { id } } } }",
        "eva",
        _check_timeline,
    ),
    _party_case(
        "timeline",  # the roll-up of sales: what its parties did, not what legal did
        "timeline(includeDescendants: true) { edges { node { id source { id } } } }",
        "sales",
        lambda w, d: _equal(
            w.names(ids_of([e["node"] for e in d["party"]["timeline"]["edges"]])),
            {"on_eva", "on_both", "task_in"},
        ),
    ),
    _party_case(
        "possibleDuplicates",  # holding shares the number too, but is outside
        "possibleDuplicates { party { id } signals }",
        "north",
        lambda w, d: _equal(
            [(w.names([c["party"]["id"]]), c["signals"]) for c in d["party"]["possibleDuplicates"]],
            [({"sales"}, ["PHONE"])],
        ),
    ),
    Case(
        "Query.duplicateCandidates",  # not holding with either, not eva with max
        "{ duplicateCandidates { edges { node { party { id } other { id } } } } }",
        lambda w: {},
        lambda w, d: _equal(
            [
                w.names([e["node"]["party"]["id"], e["node"]["other"]["id"]])
                for e in d["duplicateCandidates"]["edges"]
            ],
            [{"sales", "north"}],
        ),
    ),
    _party_case(
        "category",
        "category { id }",
        "eva",
        lambda w, d: _equal(d["party"]["category"], {"id": w.ids["category"]}),
    ),
    _party_case(
        "history",  # not the links to seller and max: they name them
        "history(first: 50) { edges { node { kind subjectIds } } }",
        "eva",
        lambda w, d: _equal(
            w.names(e["node"]["subjectIds"][0] for e in d["party"]["history"]["edges"]),
            {"eva", "eva>north", "rep>eva"},
        ),
    ),
    _party_case(
        "snapshot",
        'snapshot(asOf: "2999-01-01T00:00:00Z") { displayName }',
        "eva",
        lambda w, d: _equal(d["party"]["snapshot"], {"displayName": "Eva Berger"}),
    ),
    _party_case(
        "mergedFrom",  # ids only: a tombstone answers node(id) with its survivor
        "mergedFrom",
        "eva",
        lambda w, d: _equal(d["party"]["mergedFrom"], []),
    ),
    _party_case(
        "processes",  # eva's identification, as the private clients' category ships it
        "processes { processId }",
        "eva",
        lambda w, d: _equal(d["party"]["processes"], [{"processId": "identification"}]),
    ),
    Case(
        "Query.worklist",
        "query($u: ID!) { worklist(assigneeId: $u) { edges { node { id } } } }",
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(d["worklist"]["edges"], []),
    ),
    Case(
        "Query.auditLog",  # for admins only: refused, however scoped
        "{ auditLog { edges { node { id } } } }",
        lambda w: {},
        lambda w, d: _equal(d, None),
    ),
]
# answered FORBIDDEN to the scoped reader
REFUSED = {"Party.fiscal", "Query.auditLog"}
# fields of the party itself: no other record behind them, nothing to scope
PLAIN = {
    "id",
    "kind",
    "legalForm",
    "displayName",
    "categoryId",
    "emails",
    "phones",
    "addresses",
    "tags",
    "externalIds",
    "attributes",
    "version",
    "createdAt",
    "updatedAt",
    "archivedAt",
    "mergedInto",
}
SUBSCRIPTIONS = {
    "Subscription.activityAdded",  # probed in test_a_live_feed_stays_inside
    "Subscription.worklistChanged",  # probed in test_a_worklist_feed_keeps_to_the_scope
}


def _viewer_is(w: World, data: dict[str, Any]) -> None:
    assert data["viewer"]["id"] == w.ids["reader"]


def _contains(items: list[Any], item: Any) -> None:
    assert item in items


def _all(items: list[Any], test: Callable[[Any], bool]) -> None:
    assert items and all(test(item) for item in items)


def _equal(found: Any, expected: Any) -> None:
    assert found == expected


def _parties(w: World, data: dict[str, Any]) -> None:
    # sales, north, eva, rep, and the viewer itself
    assert data["all"]["totalCount"] == 5
    assert len(data["all"]["edges"]) == 2
    assert data["eva"]["totalCount"] == 1 and data["max"]["totalCount"] == 0
