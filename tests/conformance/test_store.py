"""The GraphStore contract, stated once and run against every backend.

Each test gets an empty graph on SQLite and on Neo4j (see the root conftest)
and asserts the same results on both. The GraphQL tests above this folder run
on both too; these pin down the port itself: batching, ordering, time
semantics, and all-or-nothing writes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from builders import NOW, T0, activity, edge, org, person, user

from contactgraph.graph.cursors import encode_cursor
from contactgraph.graph.errors import BadUserInput, Conflict, NotFound
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    ActivityRef,
    ActivityType,
    Address,
    Ancestry,
    Batch,
    Direction,
    Email,
    Fiscal,
    LegalForm,
    Page,
    Party,
    PartyFilter,
    PartyKind,
    Phone,
    RelType,
    Rollup,
    TimelinePage,
    TimelineQuery,
    TreeRow,
    UnitType,
)
from contactgraph.graph.neo4j import search as neo4j_search
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import format_instant


async def test_a_new_graph_is_empty_and_has_the_default_categories(store: GraphStore) -> None:
    assert await store.is_empty()
    categories = await store.get_categories(None)
    assert {"private-client", "community-of-heirs", "owners-association"} <= categories.keys()
    assert [c.name for c in categories.values()] == sorted(c.name for c in categories.values())
    chosen = await store.get_categories(["association", "nope"])
    assert list(chosen) == ["association"]


async def test_records_round_trip_exactly(store: GraphStore) -> None:
    party = org(
        "Bäckerei Huber KG",
        unit_type=UnitType.COMPANY,
        category_id="commercial-client",
        emails=(Email("shop@huber.example", "shop"),),
        phones=(Phone("+43 664 1234567", "mobile", "+436641234567"),),
        addresses=(Address("shop", "Maria-Theresien-Strasse 18", "6020", "Innsbruck", None, "AT"),),
        fiscal=Fiscal("ATU87654324", "811234566", "AT"),  # values in their normal form
        tags=("bakery", "b2b"),
    )
    author = user("anna")
    rel_props = {"share": "1/2", "nested": {"list": [1, 2.5, None, "ü"]}}
    rel = edge(RelType.RESPONSIBLE_FOR, author, party, role="account", properties=rel_props)
    act = activity(author, [party], T0, body="multi\nline ✓")
    await store.load_batch(Batch([party, author], [rel], [act]))
    assert not await store.is_empty()

    nodes = await store.get_nodes([party.id, rel.id, act.id, "unknown"])
    assert nodes == {party.id: party, rel.id: rel, act.id: act}
    assert nodes[act.id].occurred_at == T0  # microseconds and UTC survive
    assert (await store.get_parties([party.id, "unknown"])) == {party.id: party}


async def test_reads_are_batched_by_id(store: GraphStore) -> None:
    parties = [person("P", f"No{i:03d}") for i in range(120)]
    await store.load_batch(Batch(parties))
    ids = [p.id for p in parties]
    found = await store.get_parties([*ids, *ids[:10], "missing"])
    assert found == {p.id: p for p in parties}


async def test_an_archived_party_is_restored_with_what_it_had(store: GraphStore) -> None:
    unit, member = org("Unit"), person("Ria", "Roth")
    tie = edge(RelType.MEMBER_OF, member, unit)
    await store.load_batch(Batch([unit, member], [tie]))
    archived = await store.archive_party(member.id, T0)
    assert await store.archive_party(member.id, T0) == archived  # again: unchanged
    later = T0 + timedelta(days=1)
    restored = await store.archive_party(member.id, later, archive=False)
    assert (restored.archived_at, restored.updated_at, restored.version) == (None, later, 3)
    assert await store.archive_party(member.id, later, archive=False) == restored
    assert (await store.get_parties([member.id]))[member.id] == restored
    listed = await store.list_parties(PartyFilter(), Page(10), count=False)
    assert member.id in {p.id for p in listed.parties}
    rels = await store.relationships([member.id], [RelType.MEMBER_OF], Direction.OUTGOING, None)
    assert rels[member.id] == [tie]
    with pytest.raises(NotFound):
        await store.archive_party("no-such-party", later, archive=False)


async def test_listing_filters_searches_and_pages(store: GraphStore) -> None:
    a = org(
        "Alpine Club", legal_form=LegalForm.ASSOCIATION, category_id="association", tags=("x", "y")
    )
    b = org(
        "Bergfeld Club", legal_form=LegalForm.ASSOCIATION, category_id="association", tags=("x",)
    )
    c = person("Jürgen", "Köhler", emails=(Email("jk@firma.example"),), tags=("y",))
    d = user("marco")
    await store.load_batch(Batch([a, b, c, d]))
    archived = await store.archive_party(b.id, T0)
    assert archived.archived_at == T0 and archived.version == 2

    async def ids(where: PartyFilter, first: int = 50) -> list[str]:
        page = await store.list_parties(where, Page(first), count=True)
        assert page.total_count == len(page.parties) or page.has_next
        return [p.id for p in page.parties]

    assert await ids(PartyFilter()) == [a.id, c.id, d.id]
    assert await ids(PartyFilter(include_archived=True)) == [a.id, b.id, c.id, d.id]
    assert await ids(PartyFilter(kinds=(PartyKind.CONTACT, PartyKind.USER))) == [c.id, d.id]
    assert await ids(PartyFilter(tags=("x", "y"))) == [a.id]
    assert await ids(PartyFilter(tags=("x",), include_archived=True)) == [a.id, b.id]
    assert await ids(PartyFilter(legal_forms=(LegalForm.NATURAL_PERSON,))) == [c.id, d.id]
    assert await ids(PartyFilter(category_ids=("association",))) == [a.id]
    assert await ids(PartyFilter(search="jurgen koh")) == [c.id]
    assert await ids(PartyFilter(search="FIRMA")) == [c.id]
    assert await ids(PartyFilter(search="club")) == [a.id]
    assert await ids(PartyFilter(search="club", include_archived=True)) == [a.id, b.id]
    with pytest.raises(BadUserInput):
        await store.list_parties(PartyFilter(search=" *() "), Page(5), count=False)

    first = await store.list_parties(PartyFilter(), Page(2), count=True)
    assert [p.id for p in first.parties] == [a.id, c.id]
    assert first.has_next and first.total_count == 3
    uncounted = await store.list_parties(PartyFilter(), Page(2), count=False)
    assert uncounted.total_count is None
    rest = await store.list_parties(PartyFilter(), Page(2, encode_cursor(c.id)), count=False)
    assert [p.id for p in rest.parties] == [d.id] and not rest.has_next


@pytest.mark.parametrize("plan", ["sorted", "scanned", "window too short"])
async def test_a_search_pages_its_matches_in_id_order_by_every_plan(
    store: GraphStore, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neo4j sorts a few matches, and reads many from the id index's next parties, sorting
    after all where that window holds too few; each plan gives the same pages and count."""
    if plan != "sorted":
        monkeypatch.setattr(neo4j_search, "SORTED_MOST", 2)
    if plan == "window too short":
        monkeypatch.setattr(neo4j_search, "WINDOW", 3)
    keller = [person(f"Anna{i}", "Keller") for i in range(9)]
    others = [person(f"Otto{i}", "Other") for i in range(12)]
    archived = person("Zora", "Keller")
    await store.load_batch(Batch([*others[:6], *keller, archived, *others[6:]]))
    await store.archive_party(archived.id, T0)
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_parties(PartyFilter(search="kell"), Page(4, cursor), count=True)
        assert page.total_count == len(keller)
        seen += [p.id for p in page.parties]
        if not page.has_next:
            break
        cursor = encode_cursor(seen[-1])
    assert seen == sorted(p.id for p in keller)
    assert (await store.list_parties(PartyFilter(search="nobody"), Page(4), True)).total_count == 0


async def test_relationships_by_direction_type_and_time(store: GraphStore) -> None:
    company, unit = org("Acme"), org("Acme Sales")
    worker = person("Wendy", "Worker")
    part_of = edge(RelType.PART_OF, unit, company, since=T0)
    employs = edge(RelType.EMPLOYS, unit, worker, since=T0 + timedelta(days=10))
    knows = edge(RelType.KNOWS, worker, company, since=T0, role="supplier contact")
    await store.load_batch(Batch([company, unit, worker], [part_of, employs, knows]))
    await store.unlink(knows.id, T0 + timedelta(days=20))

    every_type = list(RelType)

    async def rel_ids(party: Party, direction: Direction, at: datetime | None) -> list[str]:
        found = await store.relationships([party.id], every_type, direction, at)
        return [r.id for r in found.get(party.id, [])]

    later = T0 + timedelta(days=30)
    assert await rel_ids(unit, Direction.OUTGOING, later) == [part_of.id, employs.id]
    assert await rel_ids(unit, Direction.INCOMING, later) == []
    assert await rel_ids(worker, Direction.BOTH, later) == [employs.id]
    assert await rel_ids(worker, Direction.BOTH, None) == [knows.id, employs.id]
    # since inclusive, until exclusive
    assert await rel_ids(worker, Direction.BOTH, T0) == [knows.id]
    assert await rel_ids(worker, Direction.BOTH, T0 - timedelta(microseconds=1)) == []
    assert await rel_ids(worker, Direction.BOTH, T0 + timedelta(days=20)) == [employs.id]
    batched = await store.relationships(
        [company.id, unit.id, worker.id, "unknown"], [RelType.PART_OF], Direction.BOTH, later
    )
    assert {k: [r.id for r in v] for k, v in batched.items() if v} == {
        company.id: [part_of.id],
        unit.id: [part_of.id],
    }


async def test_children_follow_parent_ends_and_sort_by_name(store: GraphStore) -> None:
    company = org("Acme")
    units = [org("beta Unit"), org("Alpha Unit"), org("Gamma Unit")]
    worker = person("Wendy", "Worker")
    member = person("Max", "Member")
    rels = [edge(RelType.PART_OF, u, company) for u in units]
    rels += [edge(RelType.EMPLOYS, units[0], worker), edge(RelType.MEMBER_OF, member, company)]
    rels += [edge(RelType.REPORTS_TO, worker, member)]
    await store.load_batch(Batch([company, *units, worker, member], rels))

    now = datetime.now(UTC)
    found = await store.children([company.id, units[0].id, worker.id], DEFAULT_HIERARCHY_TYPES, now)
    assert [c.display_name for c, _ in found[company.id]] == [
        "Alpha Unit",
        "beta Unit",
        "Gamma Unit",
        "Max Member",
    ]
    assert [(c.id, r.type) for c, r in found[units[0].id]] == [(worker.id, RelType.EMPLOYS)]
    assert not found.get(worker.id)
    reports = await store.children([member.id], [RelType.REPORTS_TO], now)
    assert [c.id for c, _ in reports[member.id]] == [worker.id]
    before = await store.children([company.id], DEFAULT_HIERARCHY_TYPES, T0 - timedelta(days=1))
    assert not before.get(company.id)
    with pytest.raises(BadUserInput):
        await store.children([company.id], [RelType.KNOWS], now)


async def test_timelines_order_page_and_filter_for_many_parties(store: GraphStore) -> None:
    author = user("anna")
    a, b = person("A", "A"), person("B", "B")
    tie = T0 + timedelta(days=1)
    acts = [activity(author, [a], tie, summary=f"tie {i}") for i in range(3)]
    acts.append(activity(author, [a, b], T0, type=ActivityType.MEETING, summary="both"))
    acts.append(activity(author, [b], T0 + timedelta(days=2), summary="b newest"))
    await store.load_batch(Batch([author, a, b], [], acts))

    pages = await store.timelines([a.id, b.id, "unknown"], TimelineQuery(Page(2)))
    assert [x.summary for x in pages[a.id].activities] == ["tie 2", "tie 1"]
    assert pages[a.id].has_next
    assert [x.summary for x in pages[b.id].activities] == ["b newest", "both"]
    assert not pages[b.id].has_next
    assert pages["unknown"].activities == []
    both = pages[b.id].activities[1]
    assert both.subject_ids == (a.id, b.id)

    last = pages[a.id].activities[-1]
    cursor = encode_cursor(format_instant(last.occurred_at), last.id)
    rest = await store.timelines([a.id], TimelineQuery(Page(5, cursor)))
    assert [x.summary for x in rest[a.id].activities] == ["tie 0", "both"]

    meetings = await store.timelines([a.id], TimelineQuery(Page(5), types=(ActivityType.MEETING,)))
    assert [x.summary for x in meetings[a.id].activities] == ["both"]
    window = TimelineQuery(Page(5), since=T0 + timedelta(hours=1), until=tie + timedelta(hours=1))
    windowed = await store.timelines([a.id], window)
    assert [x.summary for x in windowed[a.id].activities] == ["tie 2", "tie 1", "tie 0"]


async def test_writes_check_rules_and_versions(store: GraphStore) -> None:
    company, worker = org("Acme"), person("Wendy", "Worker")
    await store.create_party(company)
    await store.create_party(worker)
    await store.create_party(user("anna"))
    with pytest.raises(Conflict):
        await store.create_party(user("anna"))  # the username is taken
    updated = await store.update_party(company.id, {"name": "Acme AG"}, 1, T0)
    assert (updated.display_name, updated.version) == ("Acme AG", 2)
    with pytest.raises(Conflict):
        await store.update_party(company.id, {"name": "Stale"}, 1, T0)
    with pytest.raises(NotFound):
        await store.update_party("missing", {"name": "X"}, None, T0)

    employs = edge(RelType.EMPLOYS, company, worker)
    assert await store.link(employs) == employs
    with pytest.raises(Conflict):
        await store.link(replace(employs, id=new_id()))
    with pytest.raises(BadUserInput):
        await store.link(edge(RelType.EMPLOYS, worker, company))
    ended = await store.unlink(employs.id, T0 + timedelta(days=1))
    assert ended.until == T0 + timedelta(days=1)
    with pytest.raises(Conflict):
        await store.unlink(employs.id, T0 + timedelta(days=2))
    assert (await store.get_parties([company.id]))[company.id].name == "Acme AG"


async def test_a_batch_with_one_bad_record_writes_nothing(store: GraphStore) -> None:
    company, worker = org("Acme"), person("Wendy", "Worker")
    good = edge(RelType.EMPLOYS, company, worker)
    bad = edge(RelType.PART_OF, worker, company)  # a contact cannot be PART_OF
    with pytest.raises(BadUserInput):
        await store.load_batch(Batch([company, worker], [good, bad]))
    assert await store.is_empty()
    author = user("anna")
    with pytest.raises(NotFound):
        await store.load_batch(
            Batch([author], [], [activity(author, [company], T0)])  # company was never stored
        )
    assert await store.is_empty()


class Tree:
    """company ← branch1 ← dept ← position ⇒ ann; branch2 ← dept2; ann also at branch2;
    bob at dept and dept2; branch3 left the company."""

    def __init__(self) -> None:
        self.company = org("Company")
        self.branch1, self.branch2, self.branch3 = org("Branch 1"), org("Branch 2"), org("Branch 3")
        self.dept, self.dept2, self.position = org("Dept"), org("Dept 2"), org("Position")
        self.ann, self.bob = person("Ann", "A"), person("Bob", "B")
        self.parties = [
            self.company,
            self.branch1,
            self.branch2,
            self.branch3,
            self.dept,
            self.dept2,
            self.position,
            self.ann,
            self.bob,
        ]
        self.to_ann = edge(RelType.EMPLOYS, self.branch2, self.ann)
        self.to_bob = edge(RelType.EMPLOYS, self.dept, self.bob)
        self.rels = [
            edge(RelType.PART_OF, self.branch1, self.company),
            edge(RelType.PART_OF, self.branch2, self.company),
            edge(RelType.PART_OF, self.branch3, self.company, until=T0 + timedelta(days=1)),
            edge(RelType.PART_OF, self.dept, self.branch1),
            edge(RelType.PART_OF, self.dept2, self.branch2),
            edge(RelType.PART_OF, self.position, self.dept),
            edge(RelType.EMPLOYS, self.position, self.ann),
            self.to_ann,
            self.to_bob,
            edge(RelType.EMPLOYS, self.dept2, self.bob),
        ]


async def test_descendants_each_once_at_shortest_depth_in_pages(store: GraphStore) -> None:
    tree = Tree()
    await store.load_batch(Batch(tree.parties, tree.rels))
    types = DEFAULT_HIERARCHY_TYPES

    whole = (await store.descendants([tree.company.id], types, 64, NOW, Page(50), count=True))[
        tree.company.id
    ]
    got = [(row.depth, row.party.display_name) for row in whole.rows]
    by_depth = {d: sorted(n for depth, n in got if depth == d) for d, _ in got}
    assert by_depth == {
        1: ["Branch 1", "Branch 2"],
        2: ["Ann A", "Dept", "Dept 2"],
        3: ["Bob B", "Position"],
    }
    assert [(r.depth, r.party.id) for r in whole.rows] == sorted(
        (r.depth, r.party.id) for r in whole.rows
    )
    assert whole.total_count == 7 and not whole.has_next
    rows = {row.party.id: row for row in whole.rows}
    assert rows[tree.ann.id].parent_id == tree.branch2.id
    assert rows[tree.ann.id].relationship == tree.to_ann
    # two parents at the same depth: the smaller id wins, with its own edge
    assert rows[tree.bob.id].parent_id == tree.dept.id
    assert rows[tree.bob.id].relationship == tree.to_bob

    shallow = (await store.descendants([tree.company.id], types, 1, NOW, Page(50), count=True))[
        tree.company.id
    ]
    assert [r.party.display_name for r in shallow.rows] == ["Branch 1", "Branch 2"]
    assert shallow.total_count == 2
    then = (await store.descendants([tree.company.id], types, 1, T0, Page(50), count=False))[
        tree.company.id
    ]
    assert {r.party.display_name for r in then.rows} == {"Branch 1", "Branch 2", "Branch 3"}
    only_part_of = (
        await store.descendants(
            [tree.company.id], [RelType.PART_OF], 64, NOW, Page(50), count=False
        )
    )[tree.company.id]
    assert {r.party.display_name for r in only_part_of.rows} == {
        "Branch 1",
        "Branch 2",
        "Dept",
        "Dept 2",
        "Position",
    }

    seen: list[str] = []
    cursor = None
    while True:
        page = (
            await store.descendants([tree.company.id], types, 64, NOW, Page(3, cursor), count=False)
        )[tree.company.id]
        seen += [row.party.id for row in page.rows]
        if not page.has_next:
            break
        last = page.rows[-1]
        cursor = encode_cursor(str(last.depth), last.party.id)
    assert seen == [row.party.id for row in whole.rows]


def _rows(found: dict[str, Ancestry], start: str) -> list[TreeRow]:
    """A start's rows: a store may leave out a start with nothing above it."""
    return found[start].rows if start in found else []


async def test_ancestors_nearest_first_for_many_parties_at_once(store: GraphStore) -> None:
    tree = Tree()
    await store.load_batch(Batch(tree.parties, tree.rels))
    found = await store.ancestors(
        [tree.ann.id, tree.branch1.id, tree.company.id, "unknown"],
        DEFAULT_HIERARCHY_TYPES,
        64,
        NOW,
        tell_beyond=True,
    )

    def named(start: Party) -> list[tuple[int, str]]:
        return [(row.depth, row.party.display_name) for row in _rows(found, start.id)]

    assert sorted(named(tree.ann)) == [
        (1, "Branch 2"),
        (1, "Position"),
        (2, "Company"),
        (2, "Dept"),
        (3, "Branch 1"),
    ]
    assert [d for d, _ in named(tree.ann)] == sorted(d for d, _ in named(tree.ann))
    assert named(tree.branch1) == [(1, "Company")]
    assert named(tree.company) == []
    assert not _rows(found, "unknown")
    assert not any(ancestry.beyond for ancestry in found.values())
    capped = await store.ancestors([tree.ann.id], DEFAULT_HIERARCHY_TYPES, 1, NOW, tell_beyond=True)
    assert sorted(r.party.display_name for r in capped[tree.ann.id].rows) == [
        "Branch 2",
        "Position",
    ]
    assert capped[tree.ann.id].beyond  # Dept and Company lie above the bound


class Ring:
    """a - b - c - d - a over KNOWS (a cycle), e hanging off c, f alone; b - c ended."""

    def __init__(self) -> None:
        self.a, self.b, self.c = person("A", "A"), person("B", "B"), person("C", "C")
        self.d, self.e, self.f = person("D", "D"), person("E", "E"), person("F", "F")
        self.parties = [self.a, self.b, self.c, self.d, self.e, self.f]
        self.ab = edge(RelType.KNOWS, self.a, self.b)
        self.bc = edge(RelType.KNOWS, self.b, self.c, until=T0 + timedelta(days=1))
        self.dc = edge(RelType.KNOWS, self.d, self.c)
        self.ad = edge(RelType.KNOWS, self.a, self.d)
        self.ce = edge(RelType.REPORTS_TO, self.e, self.c)
        self.rels = [self.ab, self.bc, self.dc, self.ad, self.ce]


async def test_neighborhood_in_any_direction_nearest_first_and_capped(store: GraphStore) -> None:
    ring = Ring()
    await store.load_batch(Batch(ring.parties, ring.rels))
    every = list(RelType)

    near = (await store.neighborhood([ring.a.id], every, 1, 100, NOW))[ring.a.id]
    assert near.parties[0] == ring.a
    assert {p.id for p in near.parties} == {ring.a.id, ring.b.id, ring.d.id}
    assert {r.id for r in near.relationships} == {ring.ab.id, ring.ad.id}
    assert not near.truncated

    wide = (await store.neighborhood([ring.a.id], every, 5, 100, NOW))[ring.a.id]
    assert {p.id for p in wide.parties} == {ring.a.id, ring.b.id, ring.c.id, ring.d.id, ring.e.id}
    assert {r.id for r in wide.relationships} == {ring.ab.id, ring.ad.id, ring.dc.id, ring.ce.id}
    ids = {p.id for p in wide.parties}
    assert all(r.from_id in ids and r.to_id in ids for r in wide.relationships)

    then = (await store.neighborhood([ring.b.id], [RelType.KNOWS], 1, 100, T0))[ring.b.id]
    assert {p.id for p in then.parties} == {ring.a.id, ring.b.id, ring.c.id}

    capped = (await store.neighborhood([ring.a.id], every, 5, 3, NOW))[ring.a.id]
    assert capped.truncated
    assert capped.parties[0].id == ring.a.id
    assert {p.id for p in capped.parties} == {ring.a.id, ring.b.id, ring.d.id}
    only_knows = (await store.neighborhood([ring.c.id], [RelType.KNOWS], 1, 100, NOW))[ring.c.id]
    assert {p.id for p in only_knows.parties} == {ring.c.id, ring.d.id}


async def test_shortest_path_ignores_direction_and_honours_time(store: GraphStore) -> None:
    ring = Ring()
    await store.load_batch(Batch(ring.parties, ring.rels))
    every = list(RelType)

    path = await store.shortest_path(ring.b.id, ring.e.id, every, 10, NOW)
    assert path is not None
    assert [p.id for p in path.parties] == [ring.b.id, ring.a.id, ring.d.id, ring.c.id, ring.e.id]
    assert [r.id for r in path.relationships] == [ring.ab.id, ring.ad.id, ring.dc.id, ring.ce.id]
    back_then = await store.shortest_path(ring.b.id, ring.e.id, every, 10, T0)
    assert back_then is not None
    assert [p.id for p in back_then.parties] == [ring.b.id, ring.c.id, ring.e.id]
    assert await store.shortest_path(ring.b.id, ring.e.id, every, 3, NOW) is None
    assert await store.shortest_path(ring.a.id, ring.f.id, every, 10, NOW) is None
    assert await store.shortest_path(ring.b.id, ring.e.id, [RelType.KNOWS], 10, NOW) is None
    itself = await store.shortest_path(ring.a.id, ring.a.id, every, 10, NOW)
    assert itself is not None and itself.parties == [ring.a] and itself.relationships == []
    with pytest.raises(NotFound):
        await store.shortest_path(ring.a.id, "missing", every, 10, NOW)


class Holdings:
    """company ← branch ← dept ⇒ ann, bob; company ← branch2 ⇒ bob (bob sits twice);
    `moved` was part of the company until MOVE, then of the owners' association `hoa`,
    where carl is a member; dave is outside every tree."""

    MOVE = T0 + timedelta(days=10)

    def __init__(self) -> None:
        self.company, self.branch, self.branch2 = org("Company"), org("Branch"), org("Branch 2")
        self.dept, self.moved, self.hoa = org("Dept"), org("Moved"), org("HOA")
        self.ann, self.bob = person("Ann", "A"), person("Bob", "B")
        self.carl, self.dave = person("Carl", "C"), person("Dave", "D")
        self.author = user("author")
        self.parties = [
            self.company,
            self.branch,
            self.branch2,
            self.dept,
            self.moved,
            self.hoa,
            self.ann,
            self.bob,
            self.carl,
            self.dave,
            self.author,
        ]
        self.bob_at_dept = edge(RelType.EMPLOYS, self.dept, self.bob)
        self.bob_at_branch2 = edge(RelType.EMPLOYS, self.branch2, self.bob)
        self.rels = [
            edge(RelType.PART_OF, self.branch, self.company),
            edge(RelType.PART_OF, self.branch2, self.company),
            edge(RelType.PART_OF, self.dept, self.branch),
            edge(RelType.EMPLOYS, self.dept, self.ann),
            self.bob_at_dept,
            self.bob_at_branch2,
            edge(RelType.PART_OF, self.moved, self.company, until=self.MOVE),
            edge(RelType.PART_OF, self.moved, self.hoa, since=self.MOVE),
            edge(RelType.MEMBER_OF, self.carl, self.hoa),
        ]
        day = timedelta(days=1)
        self.acts = {
            "company": activity(self.author, [self.company], T0 + 9 * day),
            "ann": activity(self.author, [self.ann], T0 + 8 * day),
            "bob+ann": activity(self.author, [self.bob, self.ann], T0 + 7 * day),
            "moved": activity(self.author, [self.moved], T0 + 6 * day),
            "dave+dept": activity(self.author, [self.dave, self.dept], T0 + 5 * day),
            "bob tie": activity(self.author, [self.bob], T0 + 4 * day),
            "bob tie too": activity(self.author, [self.bob], T0 + 4 * day),
            "dave": activity(self.author, [self.dave], T0 + 3 * day),
            "meeting": activity(
                self.author, [self.branch2], T0 + 2 * day, type=ActivityType.MEETING
            ),
            "carl": activity(self.author, [self.carl], T0 + day),
        }
        for name, act in list(self.acts.items()):
            self.acts[name] = replace(act, summary=name)
        self.ties = sorted(["bob tie", "bob tie too"], key=lambda n: self.acts[n].id, reverse=True)

    def rollup(self, first: int, as_of: datetime = NOW, **values: object) -> TimelineQuery:
        rollup = Rollup(DEFAULT_HIERARCHY_TYPES, as_of, 64)
        return TimelineQuery(Page(first, values.pop("after", None)), rollup=rollup, **values)  # type: ignore[arg-type]


def _summaries(page: TimelinePage) -> list[str]:
    return [entry.activity.summary for entry in page.entries]


def _cursor(page: TimelinePage) -> str:
    last = page.entries[-1].activity
    return encode_cursor(format_instant(last.occurred_at), last.id)


async def test_rollup_holds_the_subtree_newest_first_each_once(
    store: GraphStore, plan: str
) -> None:
    h = Holdings()
    await store.load_batch(Batch(h.parties, h.rels, list(h.acts.values())))

    pages = await store.timelines([h.company.id, h.hoa.id, h.dept.id, h.dave.id], h.rollup(3))
    first = pages[h.company.id]
    assert _summaries(first) == ["company", "ann", "bob+ann"]
    assert first.has_next
    sources = {e.activity.summary: e.source_id for e in first.entries}
    assert sources == {"company": h.company.id, "ann": h.ann.id, "bob+ann": h.bob.id}
    assert _summaries(pages[h.hoa.id]) == ["moved", "carl"]
    assert not pages[h.hoa.id].has_next
    assert _summaries(pages[h.dept.id]) == ["ann", "bob+ann", "dave+dept"]
    assert pages[h.dept.id].entries[2].source_id == h.dept.id
    assert _summaries(pages[h.dave.id]) == ["dave+dept", "dave"]

    # a newer activity landing between pages moves nothing on the next one
    await store.record_activity(activity(h.author, [h.ann], T0 + 20 * timedelta(days=1)))
    second = (await store.timelines([h.company.id], h.rollup(3, after=_cursor(first))))[
        h.company.id
    ]
    assert _summaries(second) == ["dave+dept", *h.ties]
    # one at a time through activities at the same instant: ordered by id, none skipped
    after_dave = replace(second, entries=second.entries[:1])
    tie = (await store.timelines([h.company.id], h.rollup(1, after=_cursor(after_dave))))[
        h.company.id
    ]
    assert _summaries(tie) == h.ties[:1] and tie.has_next
    tie = (await store.timelines([h.company.id], h.rollup(1, after=_cursor(tie))))[h.company.id]
    assert _summaries(tie) == h.ties[1:]
    third = (await store.timelines([h.company.id], h.rollup(3, after=_cursor(second))))[
        h.company.id
    ]
    assert _summaries(third) == ["meeting"]
    assert not third.has_next


async def test_a_timeline_read_by_reference_names_what_the_whole_read_does(
    store: GraphStore, plan: str
) -> None:
    """A page read without whole activities (TimelineQuery.whole unset) holds ActivityRefs:
    the ids, times and sources of the same page read whole, and whether more follow, own
    or rolled up, on the first page and after its cursor; a roll-up read without sources
    names none."""
    h = Holdings()
    await store.load_batch(Batch(h.parties, h.rels, list(h.acts.values())))
    ids = [h.company.id, h.dept.id, h.bob.id, "unknown"]
    for query in (TimelineQuery(Page(1)), h.rollup(3)):
        first = await store.timelines(ids, query)
        after = _cursor(first[h.company.id])
        for asked in (query, replace(query, page=Page(5, after))):
            whole = await store.timelines(ids, asked)
            refs = await store.timelines(ids, replace(asked, whole=False))
            assert all(
                isinstance(e.activity, ActivityRef) for p in refs.values() for e in p.entries
            )
            assert any(refs[i].entries for i in ids)
            for i in ids:
                assert _references(refs[i]) == _references(whole[i])
                assert refs[i].has_next == whole[i].has_next
    # a roll-up asked for no sources names none, whole or not
    for whole_ in (True, False):
        bare = await store.timelines(ids, replace(h.rollup(3), whole=whole_, sources=False))
        named = await store.timelines(ids, h.rollup(3))
        for i in ids:
            assert [e.activity.id for e in bare[i].entries] == [
                e.activity.id for e in named[i].entries
            ]
            assert all(e.source_id is None for e in bare[i].entries)


def _references(page: TimelinePage) -> list[tuple[str, datetime, str]]:
    return [(e.activity.id, e.activity.occurred_at, e.source_id) for e in page.entries]


async def test_rollup_reads_the_hierarchy_as_of_a_date_and_filters(
    store: GraphStore, plan: str
) -> None:
    h = Holdings()
    await store.load_batch(Batch(h.parties, h.rels, list(h.acts.values())))

    before_move = h.MOVE - timedelta(days=1)
    then = await store.timelines([h.company.id, h.hoa.id], h.rollup(20, as_of=before_move))
    assert "moved" in _summaries(then[h.company.id])
    assert _summaries(then[h.hoa.id]) == ["carl"]

    meetings = await store.timelines(
        [h.company.id], h.rollup(5, types=(ActivityType.MEETING, ActivityType.NOTE))
    )
    assert _summaries(meetings[h.company.id]) == ["meeting"]
    # one type (read on Neo4j through the (type, time) index), in pages, through the ties
    calls = (await store.timelines([h.company.id], h.rollup(3, types=(ActivityType.CALL,))))[
        h.company.id
    ]
    assert _summaries(calls) == ["company", "ann", "bob+ann"] and calls.has_next
    after = _cursor(calls)
    rest = h.rollup(4, types=(ActivityType.CALL,), after=after)
    assert _summaries((await store.timelines([h.company.id], rest))[h.company.id]) == [
        "dave+dept",
        *h.ties,
    ]
    only = h.rollup(5, types=(ActivityType.MEETING,))
    assert _summaries((await store.timelines([h.company.id], only))[h.company.id]) == ["meeting"]
    window = h.rollup(5, since=T0 + timedelta(days=4), until=T0 + timedelta(days=8))
    windowed = await store.timelines([h.company.id], window)
    assert _summaries(windowed[h.company.id]) == ["bob+ann", "dave+dept", *h.ties]

    units_only = replace(h.rollup(20), rollup=Rollup((RelType.PART_OF,), NOW, 64))
    units = await store.timelines([h.company.id], units_only)
    assert _summaries(units[h.company.id]) == ["company", "dave+dept", "meeting"]


async def test_rollup_follows_ended_edges_in_a_dag(store: GraphStore, plan: str) -> None:
    h = Holdings()
    await store.load_batch(Batch(h.parties, h.rels, list(h.acts.values())))
    left_dept = NOW - timedelta(days=30)
    left_company = NOW - timedelta(days=10)

    await store.unlink(h.bob_at_dept.id, left_dept)
    still = await store.timelines([h.company.id, h.dept.id], h.rollup(20))
    assert set(h.ties) <= set(_summaries(still[h.company.id]))  # bob is still at branch 2
    assert not set(h.ties) & set(_summaries(still[h.dept.id]))
    assert _summaries(still[h.dept.id])[:2] == ["ann", "bob+ann"]
    assert still[h.dept.id].entries[1].source_id == h.ann.id

    await store.unlink(h.bob_at_branch2.id, left_company)
    gone = await store.timelines([h.company.id], h.rollup(20))
    assert not set(h.ties) & set(_summaries(gone[h.company.id]))
    between = h.rollup(20, as_of=left_company - timedelta(days=1))
    earlier = await store.timelines([h.company.id, h.dept.id], between)
    assert set(h.ties) <= set(_summaries(earlier[h.company.id]))
    assert not set(h.ties) & set(_summaries(earlier[h.dept.id]))

    # a unit linked later feeds its new parent from then on, with all its history
    await store.link(edge(RelType.MEMBER_OF, h.dave, h.hoa, since=NOW - timedelta(days=1)))
    hoa = await store.timelines([h.hoa.id], h.rollup(20))
    assert _summaries(hoa[h.hoa.id]) == ["moved", "dave+dept", "dave", "carl"]
    assert hoa[h.hoa.id].entries[1].source_id == h.dave.id


async def test_email_addresses_are_looked_up_case_folded(store: GraphStore) -> None:
    ada = await store.create_party(person("Ada", "L", emails=(Email("Ada.Lovelace@Example.COM"),)))
    assert ada.emails == (Email("Ada.Lovelace@example.com"),)  # stored normalised
    acme = await store.create_party(
        org("Acme", emails=(Email("ada.lovelace@example.com"), Email("o'brien+crm@acme.example")))
    )
    gone = await store.create_party(
        person("Old", "One", emails=(Email("ADA.lovelace@example.com"),))
    )
    await store.archive_party(gone.id, T0)
    asked = [
        "ADA.LOVELACE@EXAMPLE.COM",
        "O'Brien+CRM@acme.example",
        "nobody@x.example",
        "no address",
    ]
    found = await store.parties_by_email(asked)
    assert found == {
        asked[0]: sorted([ada.id, acme.id]),
        asked[1]: [acme.id],
        asked[2]: [],
        asked[3]: [],
    }
    await store.update_party(acme.id, {"emails": ()}, None, T0)
    assert (await store.parties_by_email(asked[:2])) == {asked[0]: [ada.id], asked[1]: []}
