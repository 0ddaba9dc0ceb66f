"""Export and import rates: `contactgraph export` and `import --format jsonl`, timed as
whole commands (a command's start, migration and closure build included).

    .venv/bin/python bench/interchange.py [--parties 100000] [--folder /tmp/bench-dump]
        [--graph bolt://HOST:PORT] [--format vcard]

With --format vcard the steps are an export of the contacts and organizations as vCard
and its import into a new SQLite file (and, with --graph, into that Neo4j graph).

Seeds a synthetic graph of --parties into a SQLite file in --folder (kept, and reused by
the next run), exports it, imports the dump into a new SQLite file; with --graph also
imports it into that Neo4j graph (emptied first) and exports it from there. Prints, per
step, the seconds, the rates in parties, lines and megabytes per second, and the
command's peak memory (GNU time), in Markdown.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from history import wipe
from registry import CLI


def _timed(*args: str) -> tuple[float, int]:
    """Seconds, and the command's peak resident memory in MB (GNU time's %M)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"contactgraph {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - started, int(done.stderr.split()[-1]) // 1024


def _row(step: str, timed: tuple[float, int], parties: int, dump: Path) -> str:
    seconds, peak = timed
    lines = sum(1 for _ in dump.open("rb"))
    megabytes = dump.stat().st_size / 1e6
    return (
        f"| {step} | {seconds:,.1f} | {parties / seconds:,.0f} | {lines / seconds:,.0f} "
        f"| {megabytes / seconds:,.1f} | {peak:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench-dump"))
    parser.add_argument("--graph", help="a Neo4j graph to import into and export from")
    parser.add_argument("--format", choices=["jsonl", "vcard"], default="jsonl")
    options = parser.parse_args()
    folder: Path = options.folder
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"source-{options.parties}.db"
    if not source.exists():
        print(f"seeding {options.parties:,} parties into {source} ...", flush=True)
        _timed("seed", "--synthetic", str(options.parties), "--graph", f"sqlite:///{source}")
    dump, copy = folder / "sqlite.jsonl", folder / "copy.db"
    for stale in (dump, copy, folder / "neo4j.jsonl", folder / "cards.vcf"):
        stale.unlink(missing_ok=True)
    if options.format == "vcard":
        _vcards(source, folder, options.graph)
        return
    rows = []
    timed = _timed("export", "--with-grants", "--graph", f"sqlite:///{source}", str(dump))
    rows.append(_row("export from SQLite", timed, options.parties, dump))
    timed = _timed("import", "--graph", f"sqlite:///{copy}", str(dump))
    rows.append(_row("import into SQLite", timed, options.parties, dump))
    if options.graph:
        wipe(options.graph)
        timed = _timed("import", "--graph", options.graph, str(dump))
        rows.append(_row("import into Neo4j", timed, options.parties, dump))
        again = folder / "neo4j.jsonl"
        timed = _timed("export", "--with-grants", "--graph", options.graph, str(again))
        rows.append(_row("export from Neo4j", timed, options.parties, again))
    lines = sum(1 for _ in dump.open("rb"))
    print(f"\n{options.parties:,} parties: {lines:,} lines, {dump.stat().st_size / 1e6:,.0f} MB\n")
    print("| step | seconds | parties/s | lines/s | MB/s | peak memory MB |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def _vcards(source: Path, folder: Path, graph: str | None) -> None:
    cards, copy = folder / "cards.vcf", folder / "copy.db"
    timed = _timed("export", "--format", "vcard", "--graph", f"sqlite:///{source}", str(cards))
    count = cards.read_bytes().count(b"BEGIN:VCARD")
    rows = [_row("vCard export from SQLite", timed, count, cards)]
    args = ["import", "--format", "vcard", "--default-region", "AT", str(cards)]
    timed = _timed(*args, "--graph", f"sqlite:///{copy}")
    rows.append(_row("vCard import into SQLite", timed, count, cards))
    if graph:
        wipe(graph)
        rows.append(_row("vCard import into Neo4j", _timed(*args, "--graph", graph), count, cards))
    print(f"\n{count:,} cards, {cards.stat().st_size / 1e6:,.1f} MB\n")
    print("| step | seconds | cards/s | lines/s | MB/s | peak memory MB |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
