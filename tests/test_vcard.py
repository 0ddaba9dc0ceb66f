"""`contactgraph export --format vcard` and `import --format vcard` as a user runs them:
the demo's cards read by vobject carry employers, units and relationships; cards go back
into an empty graph and GraphQL answers as before; cards from other address books import;
bad cards are refused naming their line, all of a file's at once, with nothing written."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import vobject
from client import GraphQL, serve
from test_cli import run
from test_demo import find

from contactgraph.config import Settings

HEIRS = ("Ingrid Krämer", "Stefan Krämer", "Julia Lenz")


def _export(graph_url: str, *args: str) -> list[vobject.base.Component]:
    done = run("export", "--format", "vcard", "--graph", graph_url, *args)
    assert done.returncode == 0, done.stderr
    cards = list(vobject.readComponents(done.stdout))
    assert f"exported {len(cards)} vCards" in done.stderr
    assert all(card.version.value == "4.0" for card in cards)
    return cards


def _by_name(cards: list[vobject.base.Component]) -> dict[str, vobject.base.Component]:
    return {card.fn.value: card for card in cards}


def _groups(card: vobject.base.Component) -> dict[str, dict[str, object]]:
    """The card's property groups: {"item1": {"ORG": [...], "TITLE": ...}}."""
    found: dict[str, dict[str, object]] = {}
    for line in card.getChildren():
        if line.group:
            found.setdefault(line.group, {})[line.name] = line.value
    return found


async def test_the_demo_exports_employers_units_and_relationships(
    demo: GraphQL, graph_url: str
) -> None:
    cards = _by_name(await asyncio.to_thread(_export, graph_url))
    assert "Anna Keller" not in cards  # users are not address-book entries
    miriam = cards["Miriam Brandt"]
    assert miriam.kind.value == "individual"
    assert (miriam.n.value.family, miriam.n.value.given) == ("Brandt", "Miriam")
    assert miriam.uid.value == "urn:uuid:" + await find(demo, "Miriam Brandt")
    assert miriam.email.value == "miriam.brandt@nordwind.example"
    assert miriam.tel.value.startswith("tel:+49") and miriam.tel.params["VALUE"] == ["uri"]
    employers = sorted((tuple(group["ORG"]), group["TITLE"]) for group in _groups(miriam).values())
    assert employers == [
        (("Nordwind Logistics AG", "Nordwind Munich", "Procurement"), "Deputy Procurement Lead"),
        (("Nordwind Logistics AG", "Nordwind Munich", "Warehouse Operations"), "Warehouse Manager"),
    ]
    units = {tuple(line.value): line.params["X-UID"] for line in miriam.contents["org"]}
    procurement = ("Nordwind Logistics AG", "Nordwind Munich", "Procurement")
    assert units[procurement] == ["urn:uuid:" + await find(demo, "Procurement")]
    [boss] = miriam.contents["related"]
    assert boss.value == "urn:uuid:" + await find(demo, "Felix Wagner")
    assert boss.params["TYPE"] == ["co-worker", "x-reports-to"]

    fleet = cards["Fleet Management"]
    assert fleet.kind.value == "org" and not _groups(fleet)
    assert fleet.org.value == ["Nordwind Logistics AG", "Nordwind Hamburg", "Fleet Management"]
    assert cards["Nordwind Logistics AG"].categories.value == ["key-account", "logistics"]
    assert cards["Nordwind Munich"].org.value == ["Nordwind Logistics AG", "Nordwind Munich"]

    walter = "urn:uuid:" + await find(demo, "Walter Krämer")
    roles = {"Ingrid Krämer": "spouse", "Stefan Krämer": "son", "Julia Lenz": "daughter"}
    for heir in HEIRS:
        lines = cards[heir].contents["related"]
        [related] = [line for line in lines if "x-heir-of" in line.params["TYPE"]]
        assert related.value == walter
        assert related.params["TYPE"] == ["kin", "x-heir-of"]
        assert related.params["X-ROLE"] == [roles[heir]]
        [member] = _groups(cards[heir]).values()
        assert member["ORG"] == ["Community of Heirs of Walter Krämer"]
        assert "TITLE" not in member and member["ROLE"] in ("heir", "heir and representative")

    orgs = _by_name(await asyncio.to_thread(_export, graph_url, "--kind", "ORGANIZATION"))
    assert {card.kind.value for card in orgs.values()} == {"org"} and "Fleet Management" in orgs
    tagged = _by_name(await asyncio.to_thread(_export, graph_url, "--tag", "supplier"))
    assert sorted(tagged) == ["ACME Widgets", "Acme Widgets GmbH"]
    searched = _by_name(await asyncio.to_thread(_export, graph_url, "--search", "Brandt"))
    assert list(searched) == ["Miriam Brandt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "USER"], "'USER' is not one of"),
        (["--with-grants"], "--with-grants is for --format jsonl"),
        (["--format", "jsonl", "--tag", "x"], "--kind, --search and --tag are for --format vcard"),
    ],
)
def test_bad_vcard_export_options_are_refused(
    args: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.vcf"
    done = run(
        "export", "--format", "vcard", *args, "--graph", f"sqlite:///{tmp_path / 'g.db'}", str(out)
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not out.exists() and "Traceback" not in done.stderr


CARRIED = ["PART_OF", "EMPLOYS", "MEMBER_OF", "KNOWS", "REPORTS_TO", "HEIR_OF"]
GRAPH = """query($types: [RelType!]) {
  parties(filter: {kinds: [CONTACT, ORGANIZATION]}, first: 500) { edges { node {
    id kind displayName tags emails { address label } phones { e164 label }
    addresses { street postalCode city country label }
    legalForm category { id } fiscal { vatNumber taxCode country }
    ... on Contact { firstName lastName }
    relationships(types: $types, includeEnded: true) {
      type role properties fromId toId since until } } } } }"""


def _dated(rel: dict[str, Any]) -> tuple[object, ...]:
    """An edge's dates as a card carries them: PART_OF is the ORG chain as of now."""
    return () if rel["type"] == "PART_OF" else (rel["since"], rel["until"])


async def _graph(gql: GraphQL) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What the cards carry, as GraphQL answers it: parties by name, and edges between
    them (ended ones with their dates, PART_OF as of now) by their ends' names (ids
    differ between graphs)."""
    data = await gql(GRAPH, {"types": CARRIED})
    nodes = [edge["node"] for edge in data["parties"]["edges"]]
    names = {node["id"]: node["displayName"] for node in nodes}
    parties = sorted(
        (
            node["kind"],
            node["displayName"],
            node.get("firstName"),
            node.get("lastName"),
            node["tags"],
            node["emails"],
            node["phones"],
            node["addresses"],
            node["legalForm"],
            node["category"],
            node["fiscal"],
        )
        for node in nodes
    )
    edges = sorted(
        {
            (rel["type"], names[rel["fromId"]], names[rel["toId"]], rel["role"], *_dated(rel))
            for node in nodes
            for rel in node["relationships"]
            if {rel["fromId"], rel["toId"]} <= names.keys()  # not to users: they have no card
            and (rel["type"] != "PART_OF" or rel["until"] is None)
        }
    )
    return parties, edges


def _import(graph_url: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("import", "--format", "vcard", "--graph", graph_url, *args, str(path))


LINK = """mutation($type: RelType!, $from: ID!, $to: ID!, $role: String, $since: DateTime) {
  link(input: {type: $type, fromId: $from, toId: $to, role: $role, since: $since}) { id } }"""
UNLINK = "mutation($id: ID!, $until: DateTime) { unlink(id: $id, until: $until) { id } }"
ENDED = [  # (type, from, to, role, since, until): a past the demo does not have
    ("EMPLOYS", "Acme Widgets GmbH", "Paul Berger", "Driver", "2020-01-01", "2022-06-30"),
    ("MEMBER_OF", "Paul Berger", "TSV Bergfeld", "treasurer", "2018-03-01", "2021-03-01"),
    ("KNOWS", "Paul Berger", "Sofia Marino", None, "2019-05-01", "2021-01-01"),
]


async def _add_ended(url: str) -> None:
    async for http in serve(Settings(graph_url=url)):
        gql = GraphQL(http)
        for kind, start, end, role, since, until in ENDED:
            ends = {"from": await find(gql, start), "to": await find(gql, end)}
            made = await gql(LINK, {"type": kind, **ends, "role": role, "since": since + "T00:00Z"})
            await gql(UNLINK, {"id": made["link"]["id"], "until": until + "T00:00Z"})


@pytest.fixture(scope="module")
def demo_cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A demo graph on SQLite with some ended relationships, and its cards in a file."""
    where = tmp_path_factory.mktemp("cards")
    url = f"sqlite:///{where / 'demo.db'}"
    assert run("seed", "--demo", "--graph", url).returncode == 0
    asyncio.run(_add_ended(url))
    done = run("export", "--format", "vcard", "--graph", url, str(where / "demo.vcf"))
    assert done.returncode == 0, done.stderr
    return url, where / "demo.vcf"


async def _answers(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    async for http in serve(Settings(graph_url=url)):
        return await _graph(GraphQL(http))
    raise AssertionError("unreachable")


async def test_exported_cards_import_into_an_empty_graph_as_they_were(
    gql: GraphQL, graph_url: str, demo_cards: tuple[str, Path]
) -> None:
    source, cards = demo_cards
    parties, edges = await _answers(source)
    checked = await asyncio.to_thread(_import, graph_url, cards, "--dry-run")
    assert checked.returncode == 0 and "they check, nothing was written" in checked.stdout
    assert await _graph(gql) == ([], [])
    done = await asyncio.to_thread(_import, graph_url, cards)
    assert done.returncode == 0, done.stderr
    assert f"imported {len(parties)} cards, {len(edges)} relationships" in done.stdout
    assert await _graph(gql) == (parties, edges)
    miriam = [e[:4] for e in edges if e[0] == "EMPLOYS" and e[2] == "Miriam Brandt"]
    assert sorted(miriam) == [
        ("EMPLOYS", "Procurement", "Miriam Brandt", "Deputy Procurement Lead"),
        ("EMPLOYS", "Warehouse Operations", "Miriam Brandt", "Warehouse Manager"),
    ]
    assert ("HEIR_OF", "Julia Lenz", "Walter Krämer", "daughter") in {e[:4] for e in edges}
    assert ("PART_OF", "Fleet Management", "Nordwind Hamburg", None) in edges
    ended = {e[:4] + tuple(d[:10] for d in e[4:]) for e in edges if e[-1] is not None}
    assert ended == set(ENDED)  # employment, membership and acquaintance, dates and all
    kept = {p[1]: p[-3:] for p in parties}  # legal form, category, fiscal data
    assert kept["Nordwind Logistics AG"] == (
        "LEGAL_PERSON",
        {"id": "commercial-client"},
        {"vatNumber": "DE811234565", "taxCode": "4881507442", "country": "DE"},
    )
    assert kept["Sofia Marino"][1:] == (
        {"id": "private-client"},
        {"vatNumber": None, "taxCode": "MRNSFO80A41H501O", "country": "IT"},
    )
    assert kept["Owners' Association Lindenstrasse 12"][0] == "ASSOCIATION"
    again = await asyncio.to_thread(_import, graph_url, cards)
    assert again.returncode == 1 and "line 3: UID urn:uuid:" in again.stderr
    assert "an import adds parties, it never updates one" in again.stderr
    assert await _graph(gql) == (parties, edges)  # written once


# as a phone or Outlook exports: vCard 3.0, no KIND, ORG ungrouped, labels as TYPE
OUTLOOK = """BEGIN:VCARD
VERSION:3.0
N:Okafor;Ngozi;;;
FN:Ngozi Okafor
ORG:Harbour Freight Ltd;Sales
TITLE:Account Executive
EMAIL;TYPE=INTERNET,WORK:ngozi.okafor@harbour.example
TEL;TYPE=CELL:+44 7911 123456
ADR;TYPE=WORK:;;1 Dock Road;Liverpool;;L3 4AA;United Kingdom
CATEGORIES:prospect,shipping
NOTE:met at the fair
END:VCARD
"""
# vCard 4.0 from another address book: its own UIDs, groups, a card of the graph's unit
OTHER = """BEGIN:VCARD
VERSION:4.0
KIND:individual
FN:Lars Nielsen
N:Nielsen;Lars;;;
UID:lars@other-book
item1.ORG:Nordwind Logistics AG;Nordwind Hamburg;Fleet Management
item1.TITLE:Fleet Planner
item1.ROLE:night shift
EMAIL;TYPE=home:lars@nielsen.example
RELATED;TYPE=friend:mette@other-book
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Mette Nielsen
N:Nielsen;Mette;;;
UID:mette@other-book
RELATED;TYPE=co-worker,x-reports-to;VALUE=uri:lars@other-book
END:VCARD
"""
CHILDREN = """query($id: ID!) { party(id: $id) { children { displayName
  ... on Contact { emails { address label } } } } }"""
FOUND = """query($s: String!) { parties(search: $s, first: 10) { edges { node {
  id displayName tags ... on Contact { phones { e164 label } addresses { city country }
  relationships { type role properties fromId toId } } ... on Organization { unitType
  parent: relationships(types: [PART_OF]) { toId } } } } } }"""


async def _found(gql: GraphQL, text: str) -> dict[str, Any]:
    [edge] = (await gql(FOUND, {"s": text}))["parties"]["edges"]
    node: dict[str, Any] = edge["node"]
    return node


async def test_cards_of_other_address_books_import(
    demo: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    fleet = await find(demo, "Fleet Management")
    for name, text in (("outlook.vcf", OUTLOOK), ("other.vcf", OTHER.replace("\n", "\r\n"))):
        (tmp_path / name).write_text(text, newline="")
        done = await asyncio.to_thread(_import, graph_url, tmp_path / name)
        assert done.returncode == 0, done.stderr
        made = "2 organizations made for ORG" if name == "outlook.vcf" else "cards, 3 relation"
        assert made in done.stdout, done.stdout  # Fleet Management is the graph's
    ngozi = await _found(demo, "Ngozi")
    assert ngozi["tags"] == ["prospect", "shipping"]
    assert ngozi["phones"] == [{"e164": "+447911123456", "label": "mobile"}]
    assert ngozi["addresses"] == [{"city": "Liverpool", "country": "GB"}]
    [job] = ngozi["relationships"]
    assert (job["type"], job["role"], job["toId"]) == ("EMPLOYS", "Account Executive", ngozi["id"])
    sales = await _found(demo, "Sales")
    harbour = await _found(demo, "Harbour Freight")
    assert job["fromId"] == sales["id"] and sales["parent"] == [{"toId": harbour["id"]}]
    assert harbour["unitType"] == "COMPANY"
    # the graph's own unit, matched by its chain, not made again
    assert (await demo(FIND_ALL, {"s": "Fleet Management"}))["parties"]["totalCount"] == 1
    staff = (await demo(CHILDREN, {"id": fleet}))["party"]["children"]
    lars = {
        "displayName": "Lars Nielsen",
        "emails": [{"address": "lars@nielsen.example", "label": "home"}],
    }
    assert lars in staff
    rels = {
        (r["type"], r["role"], json.dumps(r["properties"]))
        for r in (await _found(demo, "Lars"))["relationships"]
    }
    assert ("EMPLOYS", "Fleet Planner", '{"vcard_role": "night shift"}') in rels
    assert ("KNOWS", None, "{}") in rels
    assert ("REPORTS_TO", None, "{}") in rels


FIND_ALL = """query($s: String!) { parties(search: $s) { totalCount } }"""


GOOD = "BEGIN:VCARD\nVERSION:4.0\nFN:Good Card\nN:Card;Good;;;\nORG:Made Before Inc\nEND:VCARD\n"
# (case, cards, line of the fault within them, what the error says)
UNREADABLE = [  # faults of reading: every card read is named, none is checked further
    (
        "group",
        "BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:Team\nEND:VCARD\n",
        3,
        "KIND:group is not imported",
    ),
    ("no version", "BEGIN:VCARD\nFN:A B\nEND:VCARD\n", 1, "must be vCard 3.0 or 4.0"),
    ("vCard 2.1", "BEGIN:VCARD\nVERSION:2.1\nFN:A B\nEND:VCARD\n", 2, "must be vCard 3.0 or 4.0"),
    ("no name", "BEGIN:VCARD\nVERSION:4.0\nEMAIL:a@b.example\nEND:VCARD\n", 1, "needs a name (FN)"),
    ("calendar", "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", 1, "VCALENDAR is not a VCARD"),
    (
        "legal form",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nX-LEGAL-FORM:gmbh\nEND:VCARD\n",
        4,
        "X-LEGAL-FORM 'GMBH' is not one of NATURAL_PERSON",
    ),
    (
        "dates",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\n"
        'RELATED;X-SINCE="2021-01-01T00:00Z";X-UNTIL="2020-01-01T00:00Z":'
        "urn:uuid:01a20fd7-9832-759e-bb16-f798417650b3\nEND:VCARD\n",
        4,
        "X-UNTIL is before X-SINCE",
    ),
    (
        "not a date",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nitem1.ORG;X-SINCE=soon:Firm\nEND:VCARD\n",
        4,
        "X-SINCE 'soon' is not an ISO-8601 date-time",
    ),
    (  # the parser stops here: it is the file's last fault
        "malformed",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nthis is no line\nEND:VCARD\n",
        4,
        "not a vCard",
    ),
]
UNCLOSED = [
    ("no name", "BEGIN:VCARD\nVERSION:4.0\nEND:VCARD\n", 1, "needs a name (FN)"),
    ("unclosed", "BEGIN:VCARD\nVERSION:4.0\nFN:A B\n", 3, "was never closed"),
]
REFUSED = [  # faults the rules and the graph find, once every card reads
    (
        "bad e-mail",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nEMAIL:a@b.example\nEMAIL:no-at-sign\nEND:VCARD\n",
        5,
        "EMAIL 'no-at-sign' is not an e-mail address",
    ),
    (
        "bad phone",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nTEL;VALUE=uri:tel:12\nEND:VCARD\n",
        4,
        "TEL '12'",
    ),
    (
        "unknown RELATED",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\n"
        "RELATED:urn:uuid:01a20fd7-9832-759e-bb16-f798417650b3\nEND:VCARD\n",
        4,
        "is no card of the file nor a party of the graph",
    ),
    (
        "twice the UID",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nUID:x\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:C D\nUID:x\nEND:VCARD\n",
        9,
        "UID x is another card's too",
    ),
    (
        "org employs",
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Unit\nitem1.ORG:Other\nitem1.TITLE:Boss\nEND:VCARD\n",
        5,
        "EMPLOYS links ORGANIZATION to CONTACT/USER",
    ),
    (
        "category",
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nX-CATEGORY:no-such\nEND:VCARD\n",
        4,
        "X-CATEGORY 'no-such': no category has that id or name",
    ),
    (
        "category's legal forms",  # a contact is a natural person: no owners' association
        "BEGIN:VCARD\nVERSION:4.0\nFN:A B\nX-CATEGORY:Owners' association\nEND:VCARD\n",
        1,
        'category "Owners\' association" allows legal forms ASSOCIATION',
    ),
    (
        "VAT number",
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Firm\nX-VAT-NUMBER:ATU00000000\nEND:VCARD\n",
        5,
        "fiscal.vatNumber 'ATU00000000'",
    ),
    (
        "VAT number twice",  # cards may go in different transactions: the check sees it
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Vat One\nX-VAT-NUMBER:ATU12345675\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Vat Two\nX-VAT-NUMBER:ATU12345675\nEND:VCARD\n",
        7,
        "fiscal.vatNumber ATU12345675 is on the card at line",
    ),
]
BAD_FILES = {"unreadable": UNREADABLE, "unclosed": UNCLOSED, "refused": REFUSED}


def _faults(cases: list[tuple[str, str, int, str]]) -> tuple[str, list[tuple[str, int, str]]]:
    """One file of a good card and every case's cards, and each case's fault by its line
    in that file."""
    text, faults = GOOD, []
    for case, cards, line, message in cases:
        faults.append((case, text.count("\n") + line, message))
        text += cards
    return text, faults


async def test_every_bad_card_of_a_file_is_named_by_line_and_nothing_is_written(
    gql: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    """A dry run and an import name each fault of a file once, by its line, and write
    nothing; the dry runs write nothing, so they run at once."""
    files = {}
    for name, cases in BAD_FILES.items():
        text, faults = _faults(cases)
        (tmp_path / f"{name}.vcf").write_text(text)
        files[tmp_path / f"{name}.vcf"] = faults
    dry = [asyncio.to_thread(_import, graph_url, path, "--dry-run") for path in files]
    for (path, faults), dry_run in zip(files.items(), await asyncio.gather(*dry), strict=True):
        for done in (dry_run, await asyncio.to_thread(_import, graph_url, path)):
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
            named = [line for line in done.stderr.splitlines() if line.startswith(f"{path}: line ")]
            assert len(named) == len(faults), (path.name, done.stderr)
            for (case, at, message), said in zip(faults, named, strict=True):
                assert said.startswith(f"{path}: line {at}: ") and message in said, (case, said)
            assert f"{len(faults)} faults in" in done.stderr, done.stderr
            assert "nothing was written" in done.stderr
        assert await _graph(gql) == ([], []), path.name
    (tmp_path / "empty.vcf").write_text("\n")
    done = await asyncio.to_thread(_import, graph_url, tmp_path / "empty.vcf")
    assert done.returncode == 1 and "line 1: no BEGIN:VCARD" in done.stderr, done.stderr
    (tmp_path / "latin1.vcf").write_bytes(GOOD.encode() + "FN:Jürgen\n".encode("latin-1"))
    done = await asyncio.to_thread(_import, graph_url, tmp_path / "latin1.vcf")
    assert done.returncode == 1 and "line 7: not UTF-8" in done.stderr, done.stderr
    (tmp_path / "huge.vcf").write_bytes(GOOD.encode() * (33 * 1024 * 1024 // len(GOOD)))
    done = await asyncio.to_thread(_import, graph_url, tmp_path / "huge.vcf")
    assert done.returncode == 1 and "line 1: an import reads at most 32 MiB" in done.stderr
    missing = await asyncio.to_thread(_import, graph_url, tmp_path / "missing.vcf")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert await _graph(gql) == ([], [])


COUNTS = """{ contacts: parties(filter: {kinds: [CONTACT]}) { totalCount }
  organizations: parties(filter: {kinds: [ORGANIZATION]}) { totalCount } }"""


async def test_an_address_book_is_written_in_batches(
    gql: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    """1,200 cards naming 40 firms of 3 units each, written 500 records a transaction (a
    Neo4j transaction holds no more than that): every party and edge arrives."""
    cards = "".join(
        f"BEGIN:VCARD\nVERSION:4.0\nFN:Card {i}\nN:Card {i};Ann;;;\n"
        f"ORG:Firm {i % 40};Unit {i % 3}\nTITLE:Clerk\nEND:VCARD\n"
        for i in range(1_200)
    )
    (tmp_path / "book.vcf").write_text(cards)
    done = await asyncio.to_thread(_import, graph_url, tmp_path / "book.vcf", "--batch-size", "500")
    assert done.returncode == 0, done.stderr
    # units are made by name per firm: Unit 0 of Firm 0 is not Unit 0 of Firm 1
    assert "1,200 cards, 160 organizations made for ORG, 1,320 relationships" in done.stdout
    counts = await gql(COUNTS)
    assert counts["contacts"]["totalCount"] == 1_200
    assert counts["organizations"]["totalCount"] == 160
