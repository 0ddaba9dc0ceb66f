"""The demo's processes beyond the withdrawal notice, over HTTP on both stores: what a
community of heirs, an owners' association and each legal form's client must bring
when it enters its category, and what closes each step. Each test moves parties of its
own into a category, so they share one demo per backend."""

from __future__ import annotations

from typing import Any

import pytest
from client import GraphQL
from factories import RECORD, contact, link, org

pytestmark = pytest.mark.asyncio(loop_scope="module")

RUNS = """query($id: ID!) { party(id: $id) { processes { processId done steps {
  stepId state assignee { displayName } } } } }"""
MOVE = """mutation($id: ID!, $c: ID!) { updateParty(id: $id, input: {categoryId: $c}) { id } }"""
FIND = """query($name: String!) { parties(search: $name, first: 1) { edges { node { id } } } }
"""


async def _find(demo: GraphQL, name: str) -> str:
    found = await demo(FIND, {"name": name})
    return found["parties"]["edges"][0]["node"]["id"]  # type: ignore[no-any-return]


async def _steps(demo: GraphQL, party: str) -> dict[str, dict[str, Any]]:
    runs = (await demo(RUNS, {"id": party}))["party"]["processes"]
    return {f"{r['processId']}/{s['stepId']}": s for r in runs for s in r["steps"]}


async def _document(demo: GraphQL, party: str, summary: str) -> None:
    await demo(RECORD, {"input": {"type": "DOCUMENT", "summary": summary, "subjectIds": [party]}})


async def test_a_community_of_heirs_needs_its_certificate_and_an_heir(
    module_demo: GraphQL,
) -> None:
    demo = module_demo
    marco = await _find(demo, "Marco Rossi")
    estate = await org(demo, "Estate of Hilde Gruber", legalForm="ASSOCIATION")
    await link(demo, "RESPONSIBLE_FOR", marco, estate, role="estate")
    await demo(MOVE, {"id": estate, "c": "community-of-heirs"})
    steps = await _steps(demo, estate)
    assert set(steps) == {"estate/certificate", "estate/heir"}
    assert all(s["assignee"] == {"displayName": "Marco Rossi"} for s in steps.values())

    await _document(demo, estate, "Received the certificate-of-inheritance from the court")
    heir = await contact(demo, "Georg", "Gruber")
    await link(demo, "MEMBER_OF", heir, estate, role="heir")
    assert {k: s["state"] for k, s in (await _steps(demo, estate)).items()} == {
        "estate/certificate": "DONE",
        "estate/heir": "DONE",
    }


async def test_an_owners_association_needs_its_statutes_and_an_administrator(
    module_demo: GraphQL,
) -> None:
    """The administrator step goes to the demo's admin (ROLE admin); a user made
    RESPONSIBLE_FOR the building for property management closes it."""
    demo = module_demo
    tom = await _find(demo, "Tom Weber")
    building = await org(demo, "Owners' Association Bahnhofweg 3", legalForm="ASSOCIATION")
    await demo(MOVE, {"id": building, "c": "owners-association"})
    steps = await _steps(demo, building)
    assert steps["onboarding/administrator"]["assignee"] == {"displayName": "Anna Keller"}
    assert steps["onboarding/statutes"]["state"] == "OPEN"

    await link(demo, "RESPONSIBLE_FOR", tom, building, role="property management")
    after = await _steps(demo, building)
    assert after["onboarding/administrator"]["state"] == "DONE"
    assert after["onboarding/statutes"]["state"] == "OPEN"


async def test_each_legal_form_brings_its_identification_document(
    module_demo: GraphQL,
) -> None:
    """A natural person entering the private clients owes an ID document, a company
    entering the commercial clients a register extract, a club entering the associations
    its statutes; the document recorded closes the step."""
    demo = module_demo
    person = await contact(demo, "Rita", "Neu")
    company = await org(demo, "Neu Bau GmbH", legalForm="LEGAL_PERSON")
    club = await org(demo, "Chess Club Neustift", legalForm="ASSOCIATION")
    cases = [
        (person, "private-client", "identification/id-document", "id-document"),
        (
            company,
            "commercial-client",
            "identification-company/register-extract",
            "register-extract",
        ),
        (club, "association", "identification/statutes", "statutes"),
    ]
    for party, category, step, tag in cases:
        await demo(MOVE, {"id": party, "c": category})
        assert [*(await _steps(demo, party))] == [step]
        await _document(demo, party, f"Received the {tag}")
        assert (await _steps(demo, party))[step]["state"] == "DONE"
