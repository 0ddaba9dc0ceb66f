"""`contactgraph export --format graphml|gexf`: a subgraph for analysts' tools (Gephi, yEd,
Cytoscape, networkx), walked from one root as the API walks it. Like every export it
reads the store directly: whoever holds the graph's file or credentials may run it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, TypeVar

import click

from .cli import _fail, _open
from .config import Settings
from .graph.errors import BadUserInput, ConfigError, GraphError
from .graph.interchange.subgraph import (
    FORMATS,
    SubgraphQuery,
    Walk,
    parse_as_of,
    parse_types,
    subgraph,
    write,
)
from .graph.model import RelType
from .graph.newfile import new_file
from .graph.times import utcnow

F = TypeVar("F", bound=Callable[..., Any])
DEFAULTS = Settings()  # the server's ceilings, which an export keeps too


def _as_of(_: click.Context, __: click.Parameter, value: str | None) -> datetime | None:
    try:
        return None if value is None else parse_as_of(value)
    except BadUserInput as error:
        raise click.BadParameter(error.message) from None


def _types(_: click.Context, __: click.Parameter, value: str | None) -> tuple[RelType, ...]:
    try:
        return parse_types(value or "")
    except BadUserInput as error:
        raise click.BadParameter(error.message) from None


def subgraph_options(command: F) -> F:
    """The options of a subgraph export, on `contactgraph export`."""
    for option in reversed(
        [
            click.option("--root", metavar="PARTY_ID", help="graphml/gexf: the walk's start."),
            click.option(
                "--walk",
                type=click.Choice([w.value for w in Walk]),
                default=Walk.DESCENDANTS.value,
                show_default=True,
                help="graphml/gexf: down the hierarchy (PART_OF, EMPLOYS, MEMBER_OF unless "
                "--types), or the network in any direction (every type unless --types).",
            ),
            click.option(
                "--depth",
                type=click.IntRange(1, DEFAULTS.max_depth),
                help=f"graphml/gexf: levels or hops to walk, at most the depth ceiling "
                f"({DEFAULTS.max_depth}). Descendants default to the ceiling (a hierarchy "
                "deeper is refused), a network to 2.",
            ),
            click.option(
                "--limit",
                type=click.IntRange(1, DEFAULTS.max_network_size),
                default=DEFAULTS.max_network_size,
                show_default=True,
                help="graphml/gexf: the most parties of a network, the root included; a "
                "network larger is refused.",
            ),
            click.option(
                "--types",
                callback=_types,
                metavar="TYPE,...",
                help="graphml/gexf: the relationship types to walk, comma-separated.",
            ),
            click.option(
                "--as-of",
                callback=_as_of,
                metavar="DATE",
                help="graphml/gexf: the graph as it was then (a date, or a date-time with "
                "offset); now by default.",
            ),
        ]
    ):
        command = option(command)
    return command


async def _export(url: str, query: SubgraphQuery, file_format: str, out: IO[bytes]) -> int:
    store = await _open(url, False, read_only=True)
    try:
        found = await subgraph(store, query)
    finally:
        await store.close()
    write(found, file_format, out)
    return len(found.parties)


def export_subgraph(graph_url: str, file_format: str, out: str, options: dict[str, Any]) -> None:
    """Walk from --root and write what it reaches into OUT, a new file, or - (stdout)."""
    if not options["root"]:
        raise click.UsageError(f"--format {file_format} needs --root PARTY_ID")
    query = SubgraphQuery(
        root_id=options["root"],
        walk=Walk(options["walk"]),
        types=options["types"],
        depth=options["depth"],
        as_of=options["as_of"] or utcnow(),
        depth_ceiling=DEFAULTS.max_depth,
        limit=options["limit"],
    )
    try:
        if out == "-":
            parties = asyncio.run(_export(graph_url, query, file_format, sys.stdout.buffer))
        else:
            with new_file(out, file_format) as partial, open(partial, "wb") as written:
                parties = asyncio.run(_export(graph_url, query, file_format, written))
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None
    click.echo(f"exported {parties:,} parties as {file_format} from {graph_url}", err=True)


SUBGRAPH_OPTIONS = ("root", "walk", "depth", "limit", "types", "as_of")
__all__ = ["FORMATS", "SUBGRAPH_OPTIONS", "export_subgraph", "subgraph_options"]
