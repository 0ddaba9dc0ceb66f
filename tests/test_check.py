"""`contactgraph check` as a user runs it, on both stores: values the API would refuse,
written straight into the store as an old version or an import might have left them,
are reported one per line, and the command fails; reads and unrelated writes still work."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from client import GraphQL, serve
from neo4j import Driver
from test_cli import run

from contactgraph.config import Settings

Details = dict[str, Any]


class Raw:
    """A party's stored contact data, read and written past the API."""

    def __init__(self, url: str, request: pytest.FixtureRequest) -> None:
        self.url = url
        self.request = request

    def _sqlite(self) -> sqlite3.Connection:
        return sqlite3.connect(self.url.removeprefix("sqlite:///"))

    def _neo4j(self) -> Driver:
        driver: Driver = self.request.getfixturevalue("neo4j_driver")
        return driver

    def details(self, name: str) -> tuple[str, Details]:
        if self.url.startswith("sqlite"):
            with self._sqlite() as conn:
                party_id, details = conn.execute(
                    "SELECT id, details FROM parties WHERE display_name = ?", (name,)
                ).fetchone()
        else:
            records, _, _ = self._neo4j().execute_query(
                "MATCH (p:Party {display_name: $name}) RETURN p.id AS id, p.details AS details",
                name=name,
            )
            party_id, details = records[0]["id"], records[0]["details"]
        return party_id, json.loads(details)

    def change(self, name: str, edit: Callable[[Details], None]) -> str:
        party_id, details = self.details(name)
        edit(details)
        text = json.dumps(details)
        if self.url.startswith("sqlite"):
            with self._sqlite() as conn:
                conn.execute("UPDATE parties SET details = ? WHERE id = ?", (text, party_id))
        else:
            self._neo4j().execute_query(
                "MATCH (p:Party {id: $id}) SET p.details = $details", id=party_id, details=text
            )
        return party_id


def _lines(stdout: str) -> set[tuple[str, str, str, str]]:
    found = set()
    for line in stdout.splitlines():
        party_id, field, value, reason = line.split("\t")
        found.add((party_id, field, json.loads(value), reason))
    return found


async def test_check_reports_invalid_stored_values(
    graph_url: str, request: pytest.FixtureRequest
) -> None:
    seeded = run("seed", "--demo", "--graph", graph_url)
    assert seeded.returncode == 0, seeded.stderr
    clean = run("check", "--graph", graph_url)
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    assert "0 invalid values" in clean.stderr

    raw = Raw(graph_url, request)
    huber = raw.change("Bäckerei Huber KG", lambda d: d["fiscal"].update(vat_number="IT123"))
    jana = raw.change("Jana Petersen", lambda d: d["emails"][0].update(address="jana at home"))
    thomas = raw.change(
        "Thomas Huber", lambda d: d["phones"].append({"number": "call me maybe", "label": None})
    )
    hamburg = raw.change("Nordwind Hamburg", lambda d: d["addresses"][0].update(country="XX"))
    nordwind, held = raw.details("Nordwind Logistics AG")
    vat = held["fiscal"]["vat_number"]
    munich = raw.change("Nordwind Munich", lambda d: d.update(fiscal={"vat_number": vat}))
    sofia = raw.change("Sofia Marino", lambda d: d["fiscal"].update(country="Italia"))

    found = run("check", "--graph", graph_url)
    assert found.returncode == 1, found.stderr
    assert "7 invalid values" in found.stderr
    lines = _lines(found.stdout)
    assert {line[:3] for line in lines} == {
        (huber, "fiscal.vatNumber", "IT123"),
        (jana, "emails[0].address", "jana at home"),
        (thomas, "phones[1].number", "call me maybe"),
        (hamburg, "addresses[0].country", "XX"),
        (nordwind, "fiscal.vatNumber", "DE811234565"),
        (munich, "fiscal.vatNumber", "DE811234565"),
        (sofia, "fiscal.country", "Italia"),
    }
    reasons = {line[0] + line[1]: line[3] for line in lines}
    assert "invalid length" in reasons[huber + "fiscal.vatNumber"]
    assert "e-mail address" in reasons[jana + "emails[0].address"]
    assert "not a phone number" in reasons[thomas + "phones[1].number"]
    assert "ISO 3166" in reasons[hamburg + "addresses[0].country"]
    assert f"also held by {munich}" in reasons[nordwind + "fiscal.vatNumber"]
    assert f"also held by {nordwind}" in reasons[munich + "fiscal.vatNumber"]

    # reads give the stored values as they are; a write that leaves them alone goes through
    async for http in serve(Settings(graph_url=graph_url)):
        gql = GraphQL(http)
        party = await gql(
            "query($id: ID!) { party(id: $id) { fiscal { vatNumber } } }", {"id": huber}
        )
        assert party == {"party": {"fiscal": {"vatNumber": "IT123"}}}
        await gql(
            'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["checked"]}) { id } }',
            {"id": huber},
        )
        error = await gql.error(
            "mutation($id: ID!) { updateParty(id: $id, "
            'input: {fiscal: {vatNumber: "IT124"}}) { id } }',
            {"id": huber},
        )
        assert error["extensions"]["field"] == "fiscal.vatNumber"


def test_check_names_a_graph_it_cannot_open(tmp_path: Any) -> None:
    missing = run("check", "--graph", f"sqlite:///{tmp_path / 'missing.db'}")
    assert missing.returncode != 0
    assert "missing.db" in missing.stderr


def test_the_default_region_is_a_region() -> None:
    refused = run("check", "--default-region", "XX", "--graph", "sqlite:///:memory:")
    assert refused.returncode == 2
    assert "--default-region" in refused.stderr and "AT or DE" in refused.stderr
    served = run("serve", "--default-region", "Austria")
    assert served.returncode == 2 and "--default-region" in served.stderr
