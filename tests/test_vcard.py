"""`contactgraph export --format vcard` and `import --format vcard` as a user runs them:
the demo's cards read by vobject carry employers, units and relationships; cards go back
into an empty graph and GraphQL answers as before; cards from other address books import;
bad cards are refused naming their line, with nothing written."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

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
    ... on Contact { firstName lastName }
    relationships(types: $types) { type role properties fromId toId } } } } }"""


async def _graph(gql: GraphQL) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What the cards carry, as GraphQL answers it: parties by name, and current edges
    between them by their ends' names (ids differ between graphs)."""
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
        )
        for node in nodes
    )
    edges = sorted(
        {
            (rel["type"], names[rel["fromId"]], names[rel["toId"]], rel["role"])
            for node in nodes
            for rel in node["relationships"]
            if {rel["fromId"], rel["toId"]} <= names.keys()  # not to users: they have no card
        }
    )
    return parties, edges


def _import(graph_url: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("import", "--format", "vcard", "--graph", graph_url, *args, str(path))


@pytest.fixture(scope="module")
def demo_cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A demo graph on SQLite, and its cards in a file."""
    where = tmp_path_factory.mktemp("cards")
    url = f"sqlite:///{where / 'demo.db'}"
    assert run("seed", "--demo", "--graph", url).returncode == 0
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
    miriam = [e for e in edges if e[0] == "EMPLOYS" and e[2] == "Miriam Brandt"]
    assert sorted(miriam) == [
        ("EMPLOYS", "Procurement", "Miriam Brandt", "Deputy Procurement Lead"),
        ("EMPLOYS", "Warehouse Operations", "Miriam Brandt", "Warehouse Manager"),
    ]
    assert ("HEIR_OF", "Julia Lenz", "Walter Krämer", "daughter") in edges
    assert ("PART_OF", "Fleet Management", "Nordwind Hamburg", None) in edges
    again = await asyncio.to_thread(_import, graph_url, cards)
    assert again.returncode == 1 and "line 3: UID urn:uuid:" in again.stderr
    assert "an import adds parties, it never updates one" in again.stderr
    assert await _graph(gql) == (parties, edges)  # written once
