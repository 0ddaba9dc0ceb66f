"""`contactgraph backup`: a copy of the embedded store's graph, taken while it is served."""

from __future__ import annotations

import time

import click

from .cli import _fail, graph_option, main
from .graph.errors import ConfigError


@main.command()
@graph_option
@click.argument("target", type=click.Path(dir_okay=False))
def backup(graph_url: str, target: str) -> None:
    """Copy the graph into TARGET, a new file, while it is served.

    The copy is one consistent moment of the embedded store's graph, also while a server
    is writing to it. Serve the copy with --graph sqlite:///TARGET.
    On Neo4j, use Neo4j's own `neo4j-admin database dump`."""
    if not graph_url.lower().startswith("sqlite:"):
        raise _fail(
            ConfigError(
                "backup copies the embedded store's file; for a graph on Neo4j, use "
                "`neo4j-admin database dump`"
            )
        )
    from .graph.sqlite.backup import copy_to

    started = time.perf_counter()
    try:
        size = copy_to(graph_url, target)
    except ConfigError as error:
        raise _fail(error) from None
    elapsed = time.perf_counter() - started
    click.echo(f"backed up {graph_url} into {target}: {size:,} bytes in {elapsed:.1f} s")
