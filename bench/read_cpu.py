r"""CPU time of bench/versus.py's read workloads, served in this process (issue 11): on a
machine shared with other work, wall-clock latency moves with everyone's load; the
processor time one request costs the server moves far less.

    .venv/bin/python bench/read_cpu.py --graph sqlite:////tmp/versus-20k.db [--requests 40]
    .venv/bin/python bench/read_cpu.py --graph "$NEO4J_URI" --only descendants --root ID
    .venv/bin/python bench/read_cpu.py --graph sqlite:////tmp/versus-20k.db --only orgs \
        --profile /tmp/orgs.prof   # then: python -m pstats /tmp/orgs.prof

The app runs in this process (httpx's ASGI transport: no sockets) with
--insecure-anonymous-admin's viewer and no rate limit, over a graph seeded as
bench/versus.py's, asking what versus.py asks of the parties it picks (--root overrides
its largest organization). Prints the CPU milliseconds of this process per request
(the store's threads included; on Neo4j the database's own CPU is not in it): the
fewest, the median and the 90th percentile of --requests; with --neo4j-pid, also the
mean CPU milliseconds Neo4j spent on each (/proc).

    .venv/bin/python bench/read_cpu.py --graph "$NEO4J_URI" --neo4j-pid "$(cat DIR/neo4j-local.pid)"
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import statistics
import time

import server_cpu
from versus import contactgraph_ops, pick, served_here

READS = ("tree", "orgs", "descendants", "rollup", "relationships")


async def main(args: argparse.Namespace) -> None:
    picks = await pick(args.graph)
    if args.root:
        picks = dataclasses.replace(picks, root=args.root, below=args.below)
    async with served_here(args.graph, picks) as post:
        ops = contactgraph_ops(picks)
        # in processor time like the table, whose figures the profiler then inflates
        profile = cProfile.Profile(time.process_time) if args.profile else None
        neo4j = args.neo4j_pid
        print(
            "| workload | fewest CPU ms | median | p90 |"
            + (
                " Neo4j CPU ms, mean |\n|---|---:|---:|---:|---:|"
                if neo4j
                else "\n|---|---:|---:|---:|"
            )
        )
        for name in args.only or READS:
            ask = ops[name].ask
            for number in range(5):  # warm
                await ask(post, number)
            used = []
            theirs = server_cpu.seconds(neo4j) if neo4j else 0.0
            for number in range(args.requests):
                start = time.process_time()
                if profile is not None:
                    profile.enable()
                await ask(post, number)
                if profile is not None:
                    profile.disable()
                used.append((time.process_time() - start) * 1000)
            used.sort()
            median, p90 = statistics.median(used), used[int(len(used) * 0.9) - 1]
            row = f"| {name} | {used[0]:.1f} | {median:.1f} | {p90:.1f} |"
            if neo4j:
                spent = (server_cpu.seconds(neo4j) - theirs) * 1000 / args.requests
                row += f" {spent:.2f} |"
            print(row)
        if profile is not None:
            profile.dump_stats(args.profile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True, help="a graph seeded as versus.py's")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--only", action="append", choices=READS, metavar="WORKLOAD")
    parser.add_argument("--root", help="ask about this organization instead")
    parser.add_argument("--below", type=int, default=5000, help="--root's descendants at most")
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the measured requests here"
    )
    parser.add_argument("--neo4j-pid", type=int, help="also Neo4j's CPU per request (local)")
    asyncio.run(main(parser.parse_args()))
