"""CSV import and export rates: `contactgraph import --format csv` (a dry run, the first
run, and a second run that changes nothing) and `export --format csv`, then the graph's
JSON Lines dump (`export`) and its import into a new SQLite file, timed as whole commands.

    .venv/bin/python bench/csv_import.py [--rows 1000000] [--folder /tmp/bench-csv]
        [--graph bolt://HOST:PORT] [--steps import,csv-export,dump,load]

Writes a synthetic CSV of --rows rows into --folder (kept, and reused by the next run of
that size): one organization in five, each but the first ten PART_OF an organization of
the file, some of them further down; contacts MEMBER_OF an organization, with an e-mail
address, a phone number and tags. Imports it into a new SQLite file (or, with --graph,
into that Neo4j graph, emptied first) and exports the graph as CSV and as a dump, which it
imports into a new SQLite file. --steps picks some of dry-run, import, again, csv-export,
dump and load (all by default). Prints, per step, the seconds, the CPU seconds, the rows
per second and the command's peak memory (GNU time), in Markdown.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import time
from pathlib import Path

from history import wipe
from registry import CLI

MAPPING = """source = "bench"
id = "no"
[columns]
kind = "kind"
name = "name"
first_name = "first"
last_name = "last"
emails = "email"
phones = "phone"
country = "country"
tags = "tags"
[parent]
id = "parent"
role = "role"
"""
STEPS = ("dry-run", "import", "again", "csv-export", "dump", "load")
FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas")
LAST = ("Berger", "Huber", "Gruber", "Wagner", "Moser", "Mayer", "Bauer", "Steiner")


def write_rows(path: Path, rows: int) -> None:
    """Row i is an organization when i % 5 == 0; the parents of organizations are drawn
    from all organizations of the file, before or after them, the acyclic way: always a
    smaller organization number, written in a shuffled order per block."""
    chance = random.Random(15)
    orgs = (rows + 4) // 5
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "no",
                "kind",
                "name",
                "first",
                "last",
                "email",
                "phone",
                "country",
                "tags",
                "parent",
                "role",
            ]
        )
        for block in range(0, rows, 10_000):
            numbers = list(range(block, min(block + 10_000, rows)))
            chance.shuffle(numbers)  # parents further down the file too
            for i in numbers:
                if i % 5 == 0:
                    n = i // 5
                    parent = f"O{chance.randrange(n)}" if n >= 10 else ""
                    writer.writerow(
                        [
                            f"O{n}",
                            "ORGANIZATION",
                            f"Company {n}",
                            "",
                            "",
                            "",
                            "",
                            "AT",
                            "",
                            parent,
                            "",
                        ]
                    )
                else:
                    first, last = chance.choice(FIRST), chance.choice(LAST)
                    writer.writerow(
                        [
                            f"C{i}",
                            "CONTACT",
                            "",
                            first,
                            last,
                            f"{first.lower()}.{last.lower()}.{i}@example.com",
                            f"+43 664 {i % 10_000_000:07d}",
                            "AT",
                            "customer;bench",
                            f"O{chance.randrange(orgs)}",
                            "staff",
                        ]
                    )


def _timed(*args: str) -> tuple[float, float, int, str]:
    """Seconds, CPU seconds (user and system: what a machine shared with other work does
    not inflate), the command's peak resident memory in MB (GNU time), its output."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%U %S %M", CLI, *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"contactgraph {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    user, system, peak = done.stderr.split()[-3:]
    cpu = float(user) + float(system)
    return time.perf_counter() - started, cpu, int(peak) // 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench-csv"))
    parser.add_argument("--graph", help="a Neo4j graph to import into (emptied first)")
    parser.add_argument("--batch-size", default="5000")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated, in order")
    options = parser.parse_args()
    folder: Path = options.folder
    folder.mkdir(parents=True, exist_ok=True)
    data, mapping = folder / f"rows-{options.rows}.csv", folder / "mapping.toml"
    if not data.exists():
        write_rows(data, options.rows)
    mapping.write_text(MAPPING)
    if options.graph:
        wipe(options.graph)
        graph = options.graph
    else:
        db = folder / "graph.db"
        db.unlink(missing_ok=True)
        graph = f"sqlite:///{db}"
    exported, dump, copy = folder / "export.csv", folder / "export.jsonl", folder / "copy.db"
    for made in (exported, dump, copy):
        made.unlink(missing_ok=True)
    _timed("migrate", "--create", "--graph", graph)
    load = (
        "import",
        "--format",
        "csv",
        "--mapping",
        str(mapping),
        "--batch-size",
        options.batch_size,
        "--graph",
        graph,
    )
    steps = {
        "dry-run": ("dry run", (*load, "--dry-run", str(data))),
        "import": ("import", (*load, str(data))),
        "again": ("import again (no change)", (*load, str(data))),
        "csv-export": ("export", ("export", "--format", "csv", "--graph", graph, str(exported))),
        "dump": ("export (JSON Lines)", ("export", "--graph", graph, str(dump))),
        "load": ("import (JSON Lines)", ("import", "--graph", f"sqlite:///{copy}", str(dump))),
    }
    chosen = options.steps.split(",")
    unknown = sorted(set(chosen) - set(STEPS))
    if unknown:
        raise SystemExit(f"unknown steps {', '.join(unknown)}; known: {', '.join(STEPS)}")
    print(
        f"{options.rows:,} rows, {data.stat().st_size / 1e6:,.0f} MB, into {graph.split(':')[0]}\n"
    )
    print("| step | seconds | CPU seconds | rows/s | peak memory MB |")
    print("|---|---:|---:|---:|---:|")
    for name, args in (steps[step] for step in chosen):
        seconds, cpu, peak, out = _timed(*args)
        rate = options.rows / seconds
        print(f"| {name} | {seconds:,.1f} | {cpu:,.1f} | {rate:,.0f} | {peak:,} |", flush=True)
        print(f"<!-- {out.strip()} -->", flush=True)


if __name__ == "__main__":
    main()
