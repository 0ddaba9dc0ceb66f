"""`contactgraph export` and `import`: a whole graph as JSON Lines (graph/interchange/),
to back up a graph on Neo4j or move one between stores. They read and write the store
directly, as `seed` and `backup` do: whoever holds the graph's file or credentials may
run them, and no GraphQL operation reaches them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from typing import IO

import click

from .cli import _fail, _open, graph_option, main
from .cli_csv import export_csv, import_csv
from .graph.backends import NEO4J_SCHEMES
from .graph.errors import ConfigError, GraphError
from .graph.interchange.format import SECTIONS, DumpBatch
from .graph.interchange.reading import batches, check
from .graph.interchange.writing import dump
from .graph.model import Page, PartyFilter, PartyKind
from .graph.newfile import new_file
from .seeds.progress import bar

format_option = click.option(
    "--format",
    "dump_format",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the whole graph, a header line then one record per line. csv: parties "
    "only, upserted by external id (docs/csv-import.md).",
)
BATCH_LINES = 5_000
_CSV_KINDS = ("ORGANIZATION", "CONTACT")  # users are not synced from other systems


def store_kind(url: str) -> str:
    return "neo4j" if url.split(":", 1)[0].lower() in NEO4J_SCHEMES else "sqlite"


async def write_dump(url: str, out: IO[bytes], with_grants: bool) -> dict[str, int]:
    """Dump the graph at `url` into `out`; how many lines of each type it wrote."""
    store = await _open(url, False)
    counts = dict.fromkeys(["header", *SECTIONS], 0)
    try:
        total = await store.list_parties(PartyFilter(include_archived=True), Page(1), True)
        with bar() as progress:
            task = progress.add_task("parties", total=total.total_count)
            lines = dump(store, store_kind(url), version("contactgraph"), with_grants)
            async for kind, line in lines:
                out.write(line)
                counts[kind] += 1
                if kind == "party":
                    progress.advance(task)
    finally:
        await store.close()
    return counts


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind} lines" for kind, n in counts.items() if n and kind != "header")


@main.command("export")
@graph_option
@format_option
@click.option(
    "--with-grants",
    is_flag=True,
    help="Also dump users' grants and API tokens (as SHA-256 hashes of their secrets, the "
    "only form the graph holds), and the history entries about them. Users themselves are "
    "parties and always in the dump.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["ORGANIZATION", "CONTACT"], case_sensitive=False),
    help="csv: parties of this kind (repeatable); both when not given.",
)
@click.option("--category", "categories", multiple=True, help="csv: parties in this category.")
@click.option("--tag", "tags", multiple=True, help="csv: parties carrying every tag given.")
@click.option("--search", help="csv: parties matching these words, as parties(search:).")
@click.option("--include-archived", is_flag=True, help="csv: archived parties too.")
@click.argument("out", default="-", type=click.Path(dir_okay=False, allow_dash=True))
def export(
    graph_url: str,
    dump_format: str,
    with_grants: bool,
    kinds: tuple[str, ...],
    categories: tuple[str, ...],
    tags: tuple[str, ...],
    search: str | None,
    include_archived: bool,
    out: str,
) -> None:
    """Write the graph into OUT, a new file, or standard output (-).

    As JSON Lines: parties, relationships (ended ones too), activities, categories, the
    change history and merges, ids kept; load it with `contactgraph import`. As CSV: the
    parties the filter options choose, one row each (docs/csv-import.md)."""
    started = time.perf_counter()
    try:
        if dump_format == "csv":
            where = PartyFilter(
                kinds=tuple(PartyKind(k.upper()) for k in kinds or _CSV_KINDS),
                category_ids=categories,
                tags=tags,
                search=search,
                include_archived=include_archived,
                search_fiscal=True,
            )
            rows = export_csv(graph_url, where, out)
            elapsed = time.perf_counter() - started
            click.echo(f"exported {rows:,} parties from {graph_url} in {elapsed:.1f} s", err=True)
            return
        if out == "-":
            counts = asyncio.run(write_dump(graph_url, sys.stdout.buffer, with_grants))
        else:
            with new_file(out, "dump") as partial, open(partial, "wb") as written:
                counts = asyncio.run(write_dump(graph_url, written, with_grants))
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None
    elapsed = time.perf_counter() - started
    click.echo(f"exported {_summary(counts)} from {graph_url} in {elapsed:.1f} s", err=True)


@contextlib.contextmanager
def _readable(source: str, spool: IO[bytes]) -> Iterator[tuple[IO[bytes], IO[bytes] | None]]:
    """The dump to check, and where to copy it for the second reading: standard input
    can be read once only, so it is copied into `spool` as it is checked."""
    if source == "-":
        yield sys.stdin.buffer, spool
        return
    try:
        stream = open(source, "rb")  # noqa: SIM115 - closed below, errors apart from the body's
    except OSError as error:
        raise ConfigError(f"cannot read {source}: {error.strerror}") from None
    with stream:
        yield stream, None


def _counted(stream: IO[bytes], progress_total: int, size: int) -> Iterator[DumpBatch]:
    with bar() as progress:
        task = progress.add_task("lines", total=progress_total)
        for batch in batches(stream, size):
            yield batch
            progress.advance(task, batch.lines)


async def _restore(url: str, stream: IO[bytes], lines: int, size: int) -> None:
    store = await _open(url, True)  # an import fills a graph: a new file is what it is for
    try:
        if await store.clear_unfinished_import():
            click.echo(f"cleared what an unfinished import had written into {url}", err=True)
        if not await store.is_empty():
            raise ConfigError(f"{url} already holds parties; import into an empty graph")
        await store.restore(_counted(stream, lines, size))
    finally:
        await store.close()


@main.command("import")
@graph_option
@format_option
@click.option("--check", "check_only", is_flag=True, help="Check the dump only; write nothing.")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False),
    help="csv: the TOML file saying which column holds what (docs/csv-import.md).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="csv: check every row, list each bad one, and write nothing.",
)
@click.option(
    "--batch-size",
    default=BATCH_LINES,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Lines written per step: on Neo4j, per transaction.",
)
@click.argument("source", default="-", type=click.Path(dir_okay=False, allow_dash=True))
def import_(
    graph_url: str,
    dump_format: str,
    check_only: bool,
    mapping: str | None,
    dry_run: bool,
    batch_size: int,
    source: str,
) -> None:
    """Load a dump or upsert parties from a CSV file.

    JSON Lines: a dump written by `contactgraph export` from SOURCE (a file, or - for
    standard input) into an empty graph, ids, versions and history as they were. CSV:
    the rows of SOURCE, a file, created or updated by external id as --mapping says.
    Every line is checked first; a file with any line wrong writes nothing."""
    started = time.perf_counter()
    if dump_format == "csv":
        try:
            import_csv(graph_url, mapping, source, dry_run or check_only, min(batch_size, 5_000))
        except (ConfigError, GraphError) as error:
            raise _fail(error) from None
        click.echo(f"took {time.perf_counter() - started:.1f} s", err=True)
        return
    try:
        with tempfile.TemporaryFile() as spool, _readable(source, spool) as (stream, copy):
            header, counts = check(stream, copy)
            if check_only:
                click.echo(f"{source}: a {header.source} dump of {_summary(counts)}; it checks")
                return
            if copy is None:
                stream.seek(0)
            else:
                spool.seek(0)
                stream = spool
            lines = sum(counts.values())
            asyncio.run(_restore(graph_url, stream, lines, batch_size))
    except (ConfigError, GraphError) as error:
        name = "standard input" if source == "-" else source
        raise _fail(ConfigError(f"{name}: {error}")) from None
    elapsed = time.perf_counter() - started
    click.echo(f"imported {_summary(counts)} into {graph_url} in {elapsed:.1f} s")
