"""`contactgraph export --format vcard` and `import --format vcard` as a user runs them:
the demo's cards read by vobject carry employers, units and relationships; cards go back
into an empty graph and GraphQL answers as before; cards from other address books import;
bad cards are refused naming their line, with nothing written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import vobject
from client import GraphQL
from test_cli import run
from test_demo import find

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
