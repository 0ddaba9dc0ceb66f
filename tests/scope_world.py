"""The graph the scope tests probe, served live, with a reader and an editor scoped to
one department:

    holding ── ceo (MEMBER_OF, role "boss")
    ├── sales ── rep (a user, EMPLOYS; RESPONSIBLE_FOR eva)
    │   └── north ── eva ── KNOWS ── max
    └── legal ── max;  seller (a user of legal) RESPONSIBLE_FOR eva

The scoped reader holds `reader` within sales; the scoped editor `editor` within sales.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from access import bearer, user_token
from client import GraphQL
from live import client_for, live_server

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store


@dataclass
class World:
    ids: dict[str, str]
    admin: GraphQL
    reader: GraphQL  # reader within sales
    editor: GraphQL  # editor within sales
    secrets: dict[str, str]
    address: str

    def names(self, ids: Any) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id.get(i, i) for i in ids}


@pytest.fixture
async def world(graph_url: str) -> AsyncIterator[World]:
    settings = Settings(graph_url=graph_url, create=True)
    async with live_server(settings) as address, client_for(address) as http:
        admin = GraphQL(http)
        ids = await _build(admin)
        store = open_store(graph_url)
        await store.start()
        try:
            secrets = {}
            for name in ("reader", "editor"):
                ids[name], secrets[name] = await user_token(store, f"scoped-{name}")
        finally:
            await store.close()
        for name in ("reader", "editor"):
            await admin(
                "mutation($u: ID!, $r: String!, $s: ID!) "
                "{ grantRole(userId: $u, role: $r, scopeId: $s) { scopeKind } }",
                {"u": ids[name], "r": name, "s": ids["sales"]},
            )
        async with (
            httpx.AsyncClient(base_url=f"http://{address}") as r,
            httpx.AsyncClient(base_url=f"http://{address}") as e,
        ):
            r.headers.update(bearer(secrets["reader"]))
            e.headers.update(bearer(secrets["editor"]))
            yield World(ids, admin, GraphQL(r), GraphQL(e), secrets, address)


async def _build(admin: GraphQL) -> dict[str, str]:
    known = await admin("{ viewer { id } categories { id name } }")
    private = next(c for c in known["categories"] if c["name"] == "Private client")
    made = await admin(
        # holding, sales and north share a switchboard, eva and max a phone: each pair may
        # be a duplicate, and possibleDuplicates must not tell a scoped viewer of max
        "mutation($c: ID!, $o: [PhoneInput!], $p: [PhoneInput!]) { "
        'holding: createOrganization(input: {name: "Holding", phones: $o}) { id } '
        'sales: createOrganization(input: {name: "Sales", phones: $o}) { id } '
        'north: createOrganization(input: {name: "North", phones: $o}) { id } '
        'legal: createOrganization(input: {name: "Legal"}) { id } '
        'eva: createContact(input: {firstName: "Eva", lastName: "Berger", categoryId: $c, '
        'phones: $p, externalIds: [{source: "crm", key: "eva"}]}) { id } '
        'max: createContact(input: {firstName: "Max", lastName: "Huber", phones: $p, '
        'externalIds: [{source: "crm", key: "max"}]}) { id } '
        'ceo: createContact(input: {firstName: "Clara", lastName: "Chef"}) { id } '
        'rep: createUser(input: {username: "rep", displayName: "Rep"}) { id } '
        'seller: createUser(input: {username: "seller", displayName: "Seller"}) { id } }',
        {
            "c": private["id"],
            "o": [{"number": "+43 512 100200"}],
            "p": [{"number": "+43 664 1234567"}],
        },
    )
    ids = {name: found["id"] for name, found in made.items()}
    ids["admin"], ids["category"] = known["viewer"]["id"], private["id"]
    links = [
        ("PART_OF", "sales", "holding", None),
        ("PART_OF", "legal", "holding", None),
        ("PART_OF", "north", "sales", None),
        ("MEMBER_OF", "eva", "north", None),
        ("MEMBER_OF", "max", "legal", None),
        ("MEMBER_OF", "ceo", "holding", "boss"),
        ("EMPLOYS", "sales", "rep", None),
        ("EMPLOYS", "legal", "seller", None),
        ("RESPONSIBLE_FOR", "rep", "eva", None),
        ("RESPONSIBLE_FOR", "seller", "eva", None),
        ("KNOWS", "eva", "max", None),
    ]
    for rel_type, source, target, role in links:
        made = await admin(
            "mutation($i: LinkInput!) { link(input: $i) { id } }",
            {"i": {"type": rel_type, "fromId": ids[source], "toId": ids[target], "role": role}},
        )
        ids[f"{source}>{target}"] = made["link"]["id"]
    for name, subjects in (("on_eva", ["eva"]), ("on_max", ["max"]), ("on_both", ["eva", "max"])):
        made = await admin(
            "mutation($s: [ID!]!) { recordActivity(input: "
            '{type: CALL, summary: "call", subjectIds: $s}) { id } }',
            {"s": [ids[s] for s in subjects]},
        )
        ids[name] = made["recordActivity"]["id"]
    for name, subject in (("task_in", "north"), ("task_out", "legal")):  # rep's, both
        made = await admin(
            "mutation($s: ID!, $a: ID!) { scheduleActivity(input: {type: TASK, "
            'summary: "todo", subjectIds: [$s], dueAt: "2030-01-10T09:00:00Z", '
            "assigneeIds: [$a]}) { id } }",
            {"s": ids[subject], "a": ids["rep"]},
        )
        ids[name] = made["scheduleActivity"]["id"]
    made = await admin(
        'mutation { createPipeline(name: "Sales", stages: '
        '[{name: "Open", order: 1, probability: 40, outcome: OPEN}]) { id stages { id } } }'
    )
    ids["pipeline"], stage = made["createPipeline"]["id"], made["createPipeline"]["stages"][0]["id"]
    for client in ("north", "legal"):  # a deal inside the scope, and one outside
        made = await admin(
            "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
            {
                "i": {
                    "title": client,
                    "organizationId": ids[client],
                    "ownerId": ids["rep"],
                    "pipelineId": ids["pipeline"],
                    "stageId": stage,
                    "amount": "10",
                    "currency": "EUR",
                }
            },
        )
        ids[f"deal_{client}"] = made["createOpportunity"]["id"]
    return ids


def ids_of(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def viewer_with(world: World, name: str, *grants: tuple[str, str | None, str]) -> GraphQL:
    """A new user holding (role, scope party name or None, scope kind) grants, signed in."""
    made = await world.admin(
        "mutation($u: String!) { createUser(input: {username: $u, displayName: $u}) { id } }",
        {"u": name},
    )
    user_id = made["createUser"]["id"]
    for role, scope, kind in grants:
        await world.admin(
            "mutation($u: ID!, $r: String!, $s: ID, $k: ScopeKind!) "
            "{ grantRole(userId: $u, role: $r, scopeId: $s, scopeKind: $k) { id } }",
            {"u": user_id, "r": role, "s": world.ids[scope] if scope else None, "k": kind},
        )
    secret = await world.admin(
        'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": user_id}
    )
    http = httpx.AsyncClient(base_url=f"http://{world.address}")
    http.headers.update(bearer(secret["createApiToken"]["secret"]))
    return GraphQL(http)
