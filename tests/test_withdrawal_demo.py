"""The demo's withdrawal notice, the README's walk-through, over HTTP on both stores:
private clients are asked to confirm it after an AGREEMENT, commercial clients are not."""

from __future__ import annotations

from client import GraphQL
from factories import RECORD

WITHDRAWAL = """query($id: ID!) { party(id: $id) { processes { name done steps {
  title state dueAt doneById assignee { displayName } } } } }"""
FIND = """query($name: String!) { parties(search: $name, first: 1) { edges { node { id } } } }
"""


async def test_the_demo_asks_private_clients_to_confirm_the_withdrawal_notice(
    demo: GraphQL,
) -> None:
    """The README's walk-through: Sofia Marino (a private client) signs, Marco Rossi (her
    account manager) must confirm the notice within 14 days, and no agreement is signed
    meanwhile; a commercial client signs without one."""

    async def party(name: str) -> str:
        found = await demo(FIND, {"name": name})
        return found["parties"]["edges"][0]["node"]["id"]  # type: ignore[no-any-return]

    sofia, huber = await party("Sofia Marino"), await party("Bäckerei Huber")
    signed = {"type": "AGREEMENT", "summary": "Signed the service contract", "subjectIds": [sofia]}
    await demo(RECORD, {"input": signed})
    [run] = (await demo(WITHDRAWAL, {"id": sofia}))["party"]["processes"]
    [step] = run["steps"]
    assert step["title"] == "Confirm the withdrawal notice" and step["state"] == "OPEN"
    assert step["assignee"] == {"displayName": "Marco Rossi"}

    refused = await demo.error(RECORD, {"input": signed})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    notice = {
        "type": "DOCUMENT",
        "summary": "Received the signed withdrawal-notice",
        "subjectIds": [sofia],
    }
    await demo(RECORD, {"input": notice})
    [run] = (await demo(WITHDRAWAL, {"id": sofia}))["party"]["processes"]
    assert run["done"] and run["steps"][0]["state"] == "DONE" and run["steps"][0]["doneById"]

    await demo(RECORD, {"input": {**signed, "subjectIds": [huber]}})
    assert (await demo(WITHDRAWAL, {"id": huber}))["party"]["processes"] == []
