"""`contactgraph export --format vcard` and `import --format vcard`: contacts and
organizations to and from address books (graph/interchange/vcard_*.py). Like every
export and import they reach the store directly: whoever holds the graph's file or
credentials may run them, and no GraphQL operation reaches them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from .cli import _fail, _open
from .graph.errors import ConfigError, GraphError
from .graph.interchange.vcard_import import Plan, batches, plan
from .graph.interchange.vcard_reading import MAX_BYTES, BadCards, decoded, read_cards
from .graph.interchange.vcard_writing import vcards_of
from .graph.model import PartyFilter, PartyKind
from .graph.newfile import new_file
from .graph.times import utcnow

F = TypeVar("F", bound=Callable[..., Any])
FORMAT = "vcard"


def filter_options(command: F) -> F:
    """The party list's filters, on `contactgraph export --format vcard` and `csv`."""
    for option in reversed(
        [
            click.option(
                "--kind",
                "kinds",
                multiple=True,
                type=click.Choice(
                    [PartyKind.CONTACT.value, PartyKind.ORGANIZATION.value], case_sensitive=False
                ),
                help="vcard, csv: only parties of this kind (repeatable); both by default.",
            ),
            click.option(
                "--search", help="vcard, csv: only parties matching these words, as search."
            ),
            click.option(
                "--tag",
                "tags",
                multiple=True,
                help="vcard, csv: only parties with this tag (repeatable).",
            ),
        ]
    ):
        command = option(command)
    return command


async def _export(url: str, where: PartyFilter, out: IO[bytes]) -> int:
    store = await _open(url, False, read_only=True)
    written = 0
    try:
        async for text in vcards_of(store, where):
            out.write(text.encode())
            written += 1
    finally:
        await store.close()
    return written


def export_vcards(graph_url: str, out: str, options: dict[str, Any]) -> None:
    """Write the matching parties' cards into OUT, a new file, or - (stdout)."""
    where = PartyFilter(
        kinds=tuple(PartyKind(kind) for kind in options["kinds"]),
        tags=tuple(options["tags"]),
        search=options["search"] or None,
    )
    try:
        if out == "-":
            cards = asyncio.run(_export(graph_url, where, sys.stdout.buffer))
        else:
            with new_file(out, "address book") as partial, open(partial, "wb") as written:
                cards = asyncio.run(_export(graph_url, where, written))
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None
    click.echo(f"exported {cards:,} vCards from {graph_url}", err=True)


FILTER_OPTIONS = ("kinds", "search", "tags")


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    try:
        with open(source, "rb") as stream:
            return stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read {source}: {error.strerror}") from None


async def _import(
    url: str, data: bytes, region: str | None, dry_run: bool, batch_size: int
) -> Plan:
    """Every card checked against the rules and the graph first, then, unless a dry run,
    written a batch a transaction (parties, then relationships). A batch that fails stops
    the import; those before it stay, and the error says how much they wrote."""
    cards = read_cards(decoded(data))
    store = await _open(url, not dry_run)  # a dry run makes no new graph either
    store.default_region = region
    try:
        found = await plan(store, cards, region, utcnow())
        if dry_run:
            return found
        parties = relationships = 0
        for part in batches(found.batch, min(batch_size, store.seed_batch_size)):
            try:
                await store.load_batch(part)
            except GraphError as error:
                if parties or relationships:
                    raise ConfigError(
                        f"{error.message} (after {parties:,} of {len(found.batch.parties):,} "
                        f"parties and {relationships:,} of {len(found.batch.relationships):,} "
                        "relationships were written by earlier batches, which stay)"
                    ) from None
                raise
            parties += len(part.parties)
            relationships += len(part.relationships)
    finally:
        await store.close()
    return found


def import_vcards(
    graph_url: str, source: str, dry_run: bool, region: str | None, batch_size: int
) -> None:
    """Add the cards of SOURCE, a file or - (stdin), as new parties and their edges."""
    name = "standard input" if source == "-" else source
    try:
        found = asyncio.run(_import(graph_url, _read(source), region, dry_run, batch_size))
    except BadCards as bad:
        for problem in bad.problems:
            click.echo(f"{name}: {problem}", err=True)
        raise _fail(ConfigError(f"{name}: {bad}; nothing was written")) from None
    except (ConfigError, GraphError) as error:
        raise _fail(ConfigError(f"{name}: {error}")) from None
    made = f", {found.made:,} organizations made for ORG" if found.made else ""
    rels = len(found.batch.relationships)
    what = f"{found.cards:,} cards{made}, {rels:,} relationships"
    if dry_run:
        click.echo(f"{source}: {what}; they check, nothing was written")
    else:
        click.echo(f"imported {what} into {graph_url}")
