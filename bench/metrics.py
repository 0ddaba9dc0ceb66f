"""What metrics, request ids and access lines cost a simple query: this checkout beside
a revision without them, and the time of one /metrics scrape.

    .venv/bin/python bench/metrics.py [--runs 2000] [--baseline /tmp/baseline-metrics]
        [--revision 3c09365] [--log-level info]

Three `serve --demo` processes on in-memory copies of the demo run at once, all logging
at --log-level (to /dev/null): the baseline (made as bench/compare.py makes it: a git
worktree with its own virtualenv, when missing), this checkout with text logs, and this
checkout with --log-format json. Each run asks every server in turn, in rotating order,
over one keep-alive connection each (bench/http1.py), so the noise of shared cores falls
on all of them. Two queries: `viewer` (no store call) and the first party (one store
call). Prints medians and p95s in ms and the ratios of the medians, in Markdown; then
the median time of a scrape of /metrics after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from compare import baseline_cli
from http1 import Connection
from registry import percentiles, serving

from contactgraph.access.credentials import new_secret

TOKEN = new_secret()  # the demo administrator's, on every server
QUERIES = {
    "viewer (no store call)": "query Viewer { viewer { id } }",
    "first party (one store call)": "query First { parties(first: 1) { edges { node { id } } } }",
}
FLAGS = ("--demo", "--rate-limit", "0")


async def measure(bases: dict[str, str], runs: int) -> dict[str, dict[str, list[float]]]:
    connections = {name: Connection(base) for name, base in bases.items()}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    names = list(connections)
    samples: dict[str, dict[str, list[float]]] = {}
    for label, query in QUERIES.items():
        samples[label] = {name: [] for name in names}
        for run in range(runs + 1):  # the first a warm-up
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                status, body = await connections[name].post("/graphql", {"query": query}, headers)
                took = (time.perf_counter() - started) * 1000
                assert status == 200 and b'"errors"' not in body, body
                if run:
                    samples[label][name].append(took)
    for connection in connections.values():
        connection.close()
    return samples


async def scrape(base: str, runs: int) -> float:
    async with httpx.AsyncClient(base_url=base) as client:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = await client.get("/metrics")  # open: --demo on loopback
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return percentiles(times)[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--baseline", type=Path, default=Path("/tmp/baseline-metrics"))
    parser.add_argument("--revision", default="3c09365")
    parser.add_argument(
        "--log-level", default="info", help="warning: no access lines, the metrics alone"
    )
    args = parser.parse_args()
    baseline = str(baseline_cli(args.baseline, args.revision))
    url = "sqlite:///:memory:"
    os.environ["CONTACTGRAPH_DEMO_TOKEN"] = TOKEN  # the servers' environment
    flags = (*FLAGS, "--log-level", args.log_level)
    with ExitStack() as stack:
        bases = {
            "baseline": stack.enter_context(serving(url, *flags, cli=baseline)),
            "text logs": stack.enter_context(serving(url, *flags)),
            "json logs": stack.enter_context(serving(url, *flags, "--log-format", "json")),
        }
        asyncio.run(wait_ready(list(bases.values())))
        samples = asyncio.run(measure(bases, args.runs))
        scraped = asyncio.run(scrape(bases["text logs"], 200))
    names = list(bases)
    print(f"\n{args.runs} runs each, concurrency 1, --log-level {args.log_level}, ms")
    print(
        "\n| query | "
        + " | ".join(f"{n} median | {n} p95" for n in names)
        + " | text/baseline | json/baseline |"
    )
    print("|---|" + "---:|" * (2 * len(names) + 2))
    for label, by_server in samples.items():
        medians = {name: percentiles(times) for name, times in by_server.items()}
        cells = " | ".join(f"{m:.2f} | {p:.2f}" for m, p in medians.values())
        base = medians["baseline"][0]
        ratios = f"{medians['text logs'][0] / base:.3f} | {medians['json logs'][0] / base:.3f}"
        print(f"| {label} | {cells} | {ratios} |")
    print(f"\nGET /metrics after the load: median {scraped:.2f} ms")


async def wait_ready(bases: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        for base in bases:
            for _ in range(600):
                try:
                    if (await client.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)


if __name__ == "__main__":
    main()
