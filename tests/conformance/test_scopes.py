"""A scoped store reads only the part of the graph its scope reaches, on every backend.

The graph (PART_OF up, MEMBER_OF up, EMPLOYS down; all valid now unless said):

    holding
    ├── sales ─────────── employs seller (a user) ── RESPONSIBLE_FOR ──> client
    │   ├── north                                                        └── branch
    │   │   ├── eva ── KNOWS ── max
    │   │   └── shared (also PART_OF legal: a diamond)
    │   └── old (PART_OF ended last year)
    └── legal
        ├── max
        └── shared
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from builders import T0, activity, edge, org, person, user

from contactgraph.graph.cursors import encode_cursor
from contactgraph.graph.errors import NotFound
from contactgraph.graph.identity import Scope
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Batch,
    Direction,
    Page,
    PartyFilter,
    Relationship,
    RelType,
    Rollup,
    TimelineQuery,
)
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

DEEP = 64
PAGE = Page(first=50)


@dataclass
class Firm:
    ids: dict[str, str]
    edges: dict[str, Relationship]
    activities: dict[str, str]

    def names(self, ids: object) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in ids}  # type: ignore[attr-defined]


@pytest.fixture
async def firm(store: GraphStore) -> Firm:
    parties = {
        "holding": org("Holding"),
        "sales": org("Sales"),
        "north": org("North"),
        "legal": org("Legal"),
        "shared": org("Shared"),
        "old": org("Old"),
        "client": org("Client"),
        "branch": org("Branch"),
        "eva": person("Eva", "Berger"),
        "max": person("Max", "Huber"),
        "seller": user("seller"),
        "viewer": user("viewer"),
    }
    p = parties
    ended = utcnow() - timedelta(days=365)
    edges = {
        "sales": edge(RelType.PART_OF, p["sales"], p["holding"]),
        "legal": edge(RelType.PART_OF, p["legal"], p["holding"]),
        "north": edge(RelType.PART_OF, p["north"], p["sales"]),
        "eva": edge(RelType.MEMBER_OF, p["eva"], p["north"]),
        "max": edge(RelType.MEMBER_OF, p["max"], p["legal"]),
        "shared_north": edge(RelType.PART_OF, p["shared"], p["north"]),
        "shared_legal": edge(RelType.PART_OF, p["shared"], p["legal"]),
        "old": edge(RelType.PART_OF, p["old"], p["sales"], until=ended),
        "seller": edge(RelType.EMPLOYS, p["sales"], p["seller"]),
        "owns": edge(RelType.RESPONSIBLE_FOR, p["seller"], p["client"]),
        "branch": edge(RelType.PART_OF, p["branch"], p["client"]),
        "knows": edge(RelType.KNOWS, p["eva"], p["max"]),
    }
    acts = {
        "eva": activity(p["viewer"], [p["eva"]], T0 + timedelta(days=1)),
        "both": activity(p["viewer"], [p["max"], p["eva"]], T0 + timedelta(days=2)),
        "max": activity(p["viewer"], [p["max"]], T0 + timedelta(days=3)),
        "branch": activity(p["viewer"], [p["branch"]], T0 + timedelta(days=4)),
    }
    await store.load_batch(
        Batch(
            parties=list(parties.values()),
            relationships=list(edges.values()),
            activities=list(acts.values()),
        )
    )
    return Firm({k: v.id for k, v in parties.items()}, edges, {k: v.id for k, v in acts.items()})


def subtree(firm: Firm, name: str) -> Scope:
    return Scope(firm.ids["viewer"], subtrees=frozenset({firm.ids[name]}))


def portfolio(firm: Firm, name: str) -> Scope:
    return Scope(firm.ids["viewer"], teams=frozenset({firm.ids[name]}))


SALES = {"sales", "north", "eva", "shared", "seller", "viewer"}


async def test_lookups_answer_only_inside(store: GraphStore, firm: Firm) -> None:
    scoped = store.scoped(subtree(firm, "sales"))
    found = await scoped.get_parties(list(firm.ids.values()))
    assert firm.names(found) == SALES
    ids = [*firm.ids.values(), *firm.activities.values(), *(e.id for e in firm.edges.values())]
    nodes = await scoped.get_nodes(ids)
    # an activity is in when any subject is; an edge when both ends are
    assert set(nodes) == {firm.ids[n] for n in SALES} | {
        firm.activities["eva"],
        firm.activities["both"],
        *(firm.edges[e].id for e in ("north", "eva", "shared_north", "seller")),
    }


async def test_the_party_list_counts_and_pages_inside(store: GraphStore, firm: Firm) -> None:
    scoped = store.scoped(subtree(firm, "sales"))
    seen: list[str] = []
    after = None
    while True:
        page = await scoped.list_parties(PartyFilter(), Page(first=2, after=after), count=True)
        assert page.total_count == len(SALES)
        assert len(page.parties) == 2 or not page.has_next
        seen += [p.id for p in page.parties]
        if not page.has_next:
            break
        after = encode_cursor(seen[-1])
    assert seen == sorted(seen) and firm.names(seen) == SALES
    searched = await scoped.list_parties(PartyFilter(search="Berger"), PAGE, count=True)
    assert firm.names(p.id for p in searched.parties) == {"eva"}
    hidden = await scoped.list_parties(PartyFilter(search="Huber"), PAGE, count=True)
    assert hidden.parties == [] and hidden.total_count == 0


async def test_edges_leaving_the_scope_are_not_shown(store: GraphStore, firm: Firm) -> None:
    scoped = store.scoped(subtree(firm, "sales"))
    ids = firm.ids
    rels = await scoped.relationships(
        [ids["eva"], ids["shared"]], list(RelType), Direction.BOTH, None
    )
    assert {r.id for r in rels[ids["eva"]]} == {firm.edges["eva"].id}  # not KNOWS max
    assert {r.id for r in rels[ids["shared"]]} == {firm.edges["shared_north"].id}
    kids = await scoped.children([ids["sales"], ids["holding"]], DEFAULT_HIERARCHY_TYPES, utcnow())
    assert firm.names(p.id for p, _ in kids[ids["sales"]]) == {"north", "seller"}
    assert not kids.get(ids["holding"])


async def test_walks_stay_inside(store: GraphStore, firm: Firm) -> None:
    scoped, ids, now = store.scoped(subtree(firm, "sales")), firm.ids, utcnow()
    tree = (
        await scoped.descendants([ids["sales"]], DEFAULT_HIERARCHY_TYPES, DEEP, now, PAGE, True)
    )[ids["sales"]]
    assert firm.names(r.party.id for r in tree.rows) == {"north", "seller", "eva", "shared"}
    assert tree.total_count == 4
    outside = (
        await scoped.descendants([ids["holding"]], DEFAULT_HIERARCHY_TYPES, DEEP, now, PAGE, True)
    )[ids["holding"]]
    assert outside.rows == [] and outside.total_count == 0
    # the scope is as of now: what was below sales last year and is not now stays out
    past = (
        await scoped.descendants(
            [ids["sales"]], DEFAULT_HIERARCHY_TYPES, DEEP, T0 + timedelta(days=1), PAGE, True
        )
    )[ids["sales"]]
    assert "old" not in firm.names(r.party.id for r in past.rows)

    up = await scoped.ancestors(
        [ids["shared"], ids["max"]], DEFAULT_HIERARCHY_TYPES, DEEP, now, tell_beyond=True
    )
    assert [firm.names([r.party.id]).pop() for r in up[ids["shared"]].rows] == ["north", "sales"]
    assert not up[ids["shared"]].beyond
    assert ids["max"] not in up or not up[ids["max"]].rows

    net = (await scoped.neighborhood([ids["eva"]], list(RelType), 3, 100, now))[ids["eva"]]
    assert firm.names(p.id for p in net.parties) == {"eva", "north", "sales", "shared", "seller"}
    kept = {p.id for p in net.parties}
    assert all(r.from_id in kept and r.to_id in kept for r in net.relationships)
    assert (
        ((await scoped.neighborhood([ids["max"]], list(RelType), 3, 100, now))[ids["max"]]).parties
        == []
    )


async def test_a_path_goes_around_what_is_outside(store: GraphStore, firm: Firm) -> None:
    ids, now = firm.ids, utcnow()
    everyone = await store.shortest_path(ids["eva"], ids["shared"], list(RelType), DEEP, now)
    assert everyone is not None and len(everyone.relationships) == 2
    scoped = store.scoped(subtree(firm, "north"))
    found = await scoped.shortest_path(ids["eva"], ids["shared"], list(RelType), DEEP, now)
    assert found is not None
    assert firm.names(p.id for p in found.parties) == {"eva", "north", "shared"}
    with pytest.raises(NotFound):
        await scoped.shortest_path(ids["eva"], ids["max"], list(RelType), DEEP, now)
    # between two parties inside, only through parties inside: legal is not
    legal = store.scoped(Scope(ids["viewer"], subtrees=frozenset({ids["eva"], ids["max"]})))
    assert await legal.shortest_path(ids["eva"], ids["max"], [RelType.MEMBER_OF], DEEP, now) is None


async def test_timelines_show_activities_with_a_subject_inside(
    store: GraphStore, firm: Firm, plan: str
) -> None:
    scoped, ids, acts = store.scoped(subtree(firm, "sales")), firm.ids, firm.activities
    own = TimelineQuery(page=PAGE)
    pages = await scoped.timelines([ids["eva"], ids["max"]], own)
    assert [e.activity.id for e in pages[ids["eva"]].entries] == [acts["both"], acts["eva"]]
    assert pages.get(ids["max"]) is None or pages[ids["max"]].entries == []
    rollup = replace(own, rollup=Rollup(DEFAULT_HIERARCHY_TYPES, utcnow(), DEEP))
    rolled = await scoped.timelines([ids["sales"], ids["holding"]], rollup)
    assert [e.activity.id for e in rolled[ids["sales"]].entries] == [acts["both"], acts["eva"]]
    assert {e.source_id for e in rolled[ids["sales"]].entries} == {ids["eva"]}
    assert rolled.get(ids["holding"]) is None or rolled[ids["holding"]].entries == []


async def test_a_portfolio_is_what_the_teams_users_answer_for(
    store: GraphStore, firm: Firm
) -> None:
    ids = firm.ids
    scoped = store.scoped(portfolio(firm, "sales"))
    found = await scoped.get_parties(list(ids.values()))
    assert firm.names(found) == {"client", "branch", "viewer"}
    page = await scoped.list_parties(PartyFilter(), PAGE, count=True)
    assert page.total_count == 3
    rollup = TimelineQuery(page=PAGE, rollup=Rollup(DEFAULT_HIERARCHY_TYPES, utcnow(), DEEP))
    rolled = await scoped.timelines([ids["client"]], rollup)
    assert [e.activity.id for e in rolled[ids["client"]].entries] == [firm.activities["branch"]]
    # when the user no longer answers for the client, neither does the portfolio
    await store.unlink(firm.edges["owns"].id, utcnow())
    assert firm.names(await scoped.get_parties(list(ids.values()))) == {"viewer"}


async def test_anchors_add_up(store: GraphStore, firm: Firm) -> None:
    ids = firm.ids
    both = Scope(ids["viewer"], frozenset({ids["legal"]}), frozenset({ids["sales"]}))
    found = await store.scoped(both).get_parties(list(ids.values()))
    assert firm.names(found) == {"legal", "max", "shared", "client", "branch", "viewer"}


async def test_a_walk_in_the_past_does_not_pass_what_is_outside_now(
    store: GraphStore, firm: Firm, plan: str
) -> None:
    """relic is PART_OF old since T0 and PART_OF north only since yesterday: inside now,
    but as of last year only old led to it, and old is outside now."""
    ids, then = firm.ids, T0 + timedelta(days=1)
    found = await store.get_parties([ids["old"], ids["north"], ids["viewer"]])
    old, north = found[ids["old"]], found[ids["north"]]
    relic = org("Relic")
    lately = utcnow() - timedelta(days=1)
    noted = activity(found[ids["viewer"]], [relic], T0 + timedelta(days=5))
    await store.load_batch(
        Batch(
            parties=[relic],
            relationships=[
                edge(RelType.PART_OF, relic, old),
                edge(RelType.PART_OF, relic, north, since=lately),
            ],
            activities=[noted],
        )
    )
    scoped = store.scoped(subtree(firm, "sales"))
    assert relic.id in await scoped.get_parties([relic.id])
    below = ([ids["sales"]], DEFAULT_HIERARCHY_TYPES, DEEP, then, PAGE, True)
    assert relic.id in {r.party.id for r in (await store.descendants(*below))[ids["sales"]].rows}
    tree = (await scoped.descendants(*below))[ids["sales"]]
    assert relic.id not in {r.party.id for r in tree.rows}
    assert tree.total_count == len(tree.rows)
    up = await scoped.ancestors([relic.id], DEFAULT_HIERARCHY_TYPES, DEEP, then)
    assert relic.id not in up or not up[relic.id].rows
    net = (await scoped.neighborhood([relic.id], [RelType.PART_OF], 2, 100, then))[relic.id]
    assert [p.id for p in net.parties] == [relic.id]
    rollup = TimelineQuery(page=PAGE, rollup=Rollup(DEFAULT_HIERARCHY_TYPES, then, DEEP))
    everyone = await store.timelines([ids["sales"]], rollup)
    assert noted.id in {e.activity.id for e in everyone[ids["sales"]].entries}
    rolled = await scoped.timelines([ids["sales"]], rollup)
    assert noted.id not in {e.activity.id for e in rolled[ids["sales"]].entries}
    # a roll-up as of the scope's own moment takes relic in: north leads to it now
    moment = utcnow()
    at_once = store.scoped(replace(subtree(firm, "sales"), at=moment))
    now = replace(rollup, rollup=Rollup(DEFAULT_HIERARCHY_TYPES, moment, DEEP))
    rolled = await at_once.timelines([ids["sales"]], now)
    assert noted.id in {e.activity.id for e in rolled[ids["sales"]].entries}


async def test_a_path_goes_around_many_parties_outside(store: GraphStore, firm: Firm) -> None:
    """Four people outside each link eva to seller in two steps; inside, it takes three."""
    ids, now = firm.ids, utcnow()
    found = await store.get_parties([ids["eva"], ids["seller"]])
    eva, seller = found[ids["eva"]], found[ids["seller"]]
    outside = [person("Out", str(n)) for n in range(4)]
    links = [edge(RelType.KNOWS, eva, o) for o in outside]
    links += [edge(RelType.KNOWS, o, seller) for o in outside]
    await store.load_batch(Batch(parties=outside, relationships=links))
    types = [RelType.KNOWS, *DEFAULT_HIERARCHY_TYPES]
    everyone = await store.shortest_path(eva.id, seller.id, types, DEEP, now)
    assert everyone is not None and len(everyone.relationships) == 2
    scoped = store.scoped(subtree(firm, "sales"))
    inside = await scoped.shortest_path(eva.id, seller.id, types, DEEP, now)
    assert inside is not None
    assert [p.id for p in inside.parties] == [ids[n] for n in ("eva", "north", "sales", "seller")]
