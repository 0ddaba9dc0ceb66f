"""What signing in and scoping cost: the same requests with no credential, by an
unscoped reader and by a scoped one, in one run.

    .venv/bin/python bench/scopes.py [--parties 20000] [--runs 30] [--graph bolt://HOST:PORT]

Seeds a synthetic graph when it is empty, finds the largest subtree (as
bench/traversals.py does) and makes two readers with `contactgraph user
create`: one unscoped, one whose grant is scoped to that subtree's root. One
`contactgraph serve --insecure-anonymous-admin` answers all three: a request
without a credential skips the token's check, so it is the baseline of
signing in. Every run asks each side in turn, in rotating order, so all see
the same machine. The
requests inside the scope (from the root: its first 50 parties below with
their children and timelines, its roll-up, its descendants) must get the same
answer from both, and are checked to; the party list pages a different set
(the scoped one only its subtree), as a scoped user sees it.
Prints per request the medians and p95s, and the ratios of the medians:
unscoped / anonymous (signing in) and scoped / unscoped (scoping).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from typing import Any

import httpx
import traversals
from registry import CLI, arguments, percentiles, serving

from contactgraph.graph.backends import open_store

SIDES = ["anonymous", "unscoped", "scoped"]
REQUESTS = {
    "parties page (first 50, totalCount)": (
        "{ parties(first: 50) { totalCount edges { node { id displayName } } } }",
        False,
    ),
    "50 parties, children, 5-item timelines": (
        "query($id: ID!) { party(id: $id) { descendants(first: 50) { edges { node { party { "
        "id children { id } timeline(first: 5) { edges { node { id summary } } } } } } } } }",
        True,
    ),
    "roll-up first page (20) of the root": (
        "query($id: ID!) { party(id: $id) { timeline(first: 20, includeDescendants: true) "
        "{ edges { node { id occurredAt source { id } } } } } }",
        True,
    ),
    "descendants of the root (first 100 + totalCount)": (
        "query($id: ID!) { party(id: $id) { descendants(first: 100) { totalCount "
        "edges { node { depth parentId party { id displayName } } } } } }",
        True,
    ),
}


async def largest_root(url: str) -> str:
    store = open_store(url)
    await store.start()
    try:
        return (await traversals.pick(store))["largest"]
    finally:
        await store.close()


def reader(url: str, name: str, *scope: str) -> str:
    """A new reader (scoped when `scope` names a party) and its token's secret."""
    graph = ["--graph", url]
    subprocess.run(
        [CLI, "user", "create", name, "--role", "reader", *scope, *graph],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    made = subprocess.run(
        [CLI, "token", "create", "--user", name, *graph], check=True, capture_output=True, text=True
    )
    return made.stdout.strip()


async def ask(
    client: httpx.AsyncClient, secret: str | None, query: str, root: str
) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": root} if "$id" in query else {}},
        headers={"Authorization": f"Bearer {secret}"} if secret else {},
    )
    took = (time.perf_counter() - started) * 1000
    body = response.json()
    assert "errors" not in body, body
    return took, body["data"]


async def measure(base: str, secrets: dict[str, str], root: str, runs: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for _ in range(300):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        print("| request | anonymous median / p95 ms | unscoped | scoped | signing in | scoping |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, (query, same) in REQUESTS.items():
            samples: dict[str, list[float]] = {side: [] for side in SIDES}
            for run in range(runs + 1):  # the first run warms caches
                order = SIDES[run % 3 :] + SIDES[: run % 3]
                answers = {}
                for side in order:
                    took, answers[side] = await ask(client, secrets.get(side), query, root)
                    if run:
                        samples[side].append(took)
                if same:
                    assert answers["scoped"] == answers["unscoped"], name
            (am, ap), (um, up), (sm, sp) = (percentiles(samples[side]) for side in SIDES)
            print(
                f"| {name} | {am:.1f} / {ap:.1f} | {um:.1f} / {up:.1f} | {sm:.1f} / {sp:.1f} "
                f"| {um / am:.2f} | {sm / um:.2f} |"
            )


def main() -> None:
    args = arguments(__doc__, 20_000, 30)
    root = asyncio.run(largest_root(args.graph))
    tag = uuid.uuid4().hex[:8]  # a graph benchmarked before keeps its readers
    secrets = {
        "unscoped": reader(args.graph, f"bench-{tag}-all"),
        "scoped": reader(args.graph, f"bench-{tag}-scoped", "--scope", root),
    }
    with serving(args.graph, "--insecure-anonymous-admin") as base:
        asyncio.run(measure(base, secrets, root, args.runs))


if __name__ == "__main__":
    main()
