"""`contactgraph export` and `import`: a whole graph as JSON Lines (graph/interchange/),
to back up a graph on Neo4j or move one between stores; the other formats are in
cli_subgraph.py (GraphML, GEXF) and cli_vcard.py (vCard). They read and write the store
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
from typing import IO, Any

import click

from .cli import _fail, _open, graph_option, main, region_option
from .cli_csv import export_csv, import_csv
from .cli_subgraph import FORMATS, export_subgraph, subgraph_options
from .cli_vcard import FILTER_OPTIONS, export_vcards, filter_options, import_vcards
from .cli_vcard import FORMAT as VCARD
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
    type=click.Choice(["jsonl", "csv", VCARD]),
    default="jsonl",
    show_default=True,
    help="jsonl: a dump, a header line then one record per line, into an empty graph. "
    "csv: parties upserted by external id (docs/csv-import.md). vcard: an address book "
    "(vCard 4.0 or 3.0), added as new parties.",
)
export_format_option = click.option(
    "--format",
    "dump_format",
    type=click.Choice(["jsonl", "csv", *FORMATS, VCARD]),
    default="jsonl",
    show_default=True,
    help="jsonl: the whole graph, for `contactgraph import`. csv: parties only, one row "
    "each (docs/csv-import.md). graphml, gexf: the subgraph a walk from --root reaches, "
    "for analysts' tools. vcard: contacts and organizations as vCard 4.0, for address "
    "books.",
)
BATCH_LINES = 5_000
_CSV_KINDS = ("ORGANIZATION", "CONTACT")  # users are not synced from other systems


def store_kind(url: str) -> str:
    return "neo4j" if url.split(":", 1)[0].lower() in NEO4J_SCHEMES else "sqlite"


async def write_dump(url: str, out: IO[bytes], with_grants: bool) -> dict[str, int]:
    """Dump the graph at `url` into `out`; how many lines of each type it wrote."""
    store = await _open(url, False, read_only=True)
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
@export_format_option
@click.option(
    "--with-grants",
    is_flag=True,
    help="Also dump users' grants and API tokens (as SHA-256 hashes of their secrets, the "
    "only form the graph holds), and the history entries about them. Users themselves are "
    "parties and always in the dump.",
)
@subgraph_options
@filter_options
@click.option("--category", "categories", multiple=True, help="csv: parties in this category.")
@click.option("--include-archived", is_flag=True, help="csv: archived parties too.")
@click.argument("out", default="-", type=click.Path(dir_okay=False, allow_dash=True))
def export(graph_url: str, dump_format: str, with_grants: bool, out: str, **options: Any) -> None:
    """Write the graph, or a part of it, into a new file.

    OUT is a new file, or standard output (-). As JSON Lines, the whole graph:
    parties, relationships (ended ones too), activities, categories, the change history
    and merges, ids kept; load it with `contactgraph import`. As CSV, the parties the
    filter options choose, one row each (docs/csv-import.md). As GraphML or GEXF, the
    parties a walk from --root reaches and its edges. As vCard, one card per contact
    and organization, with employers, units and relationships."""
    if dump_format != "jsonl" and with_grants:
        raise click.UsageError("--with-grants is for --format jsonl")
    if dump_format not in (VCARD, "csv") and any(options[name] for name in FILTER_OPTIONS):
        raise click.UsageError("--kind, --search and --tag are for --format vcard or csv")
    if dump_format != "csv" and (options["categories"] or options["include_archived"]):
        raise click.UsageError("--category and --include-archived are for --format csv")
    if dump_format in FORMATS:
        export_subgraph(graph_url, dump_format, out, options)
        return
    if options["root"]:
        raise click.UsageError("--root is for --format graphml or gexf")
    if dump_format == VCARD:
        export_vcards(graph_url, out, options)
        return
    started = time.perf_counter()
    try:
        if dump_format == "csv":
            where = PartyFilter(
                kinds=tuple(PartyKind(k) for k in options["kinds"] or _CSV_KINDS),
                category_ids=options["categories"],
                tags=options["tags"],
                search=options["search"],
                include_archived=options["include_archived"],
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
@click.option("--check", "--dry-run", "check_only", is_flag=True, help="Check only; write nothing.")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False),
    help="csv: the TOML file saying which column holds what (docs/csv-import.md).",
)
@click.option(
    "--batch-size",
    default=BATCH_LINES,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="jsonl: lines written per step: on Neo4j, per transaction. csv, vcard: rows or "
    "cards written per transaction, at most the store's own batch (Neo4j: 1,000).",
)
@region_option
@click.argument("source", default="-", type=click.Path(dir_okay=False, allow_dash=True))
def import_(
    graph_url: str,
    dump_format: str,
    check_only: bool,
    mapping: str | None,
    batch_size: int,
    default_region: str | None,
    source: str,
) -> None:
    """Load a dump, a CSV file or an address book into the graph.

    SOURCE is a file, or - for standard input. A dump written by `contactgraph export`
    goes into an empty graph, ids, versions and history as they were. CSV rows (a file)
    are created or updated by external id as --mapping says. A vCard address book adds
    its cards as new parties, with their employers and relationships. Every line is
    checked first; input with any line wrong writes nothing."""
    if dump_format == VCARD:
        import_vcards(graph_url, source, check_only, default_region, batch_size)
        return
    started = time.perf_counter()
    if dump_format == "csv":
        try:
            import_csv(graph_url, mapping, source, check_only, min(batch_size, 5_000))
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
