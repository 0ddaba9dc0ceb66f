"""`contactgraph backup`: a copy of the graph taken while it is served. On the embedded
store, a copy of its file; on Neo4j, a dump of every record (cli_interchange.py)."""

from __future__ import annotations

import asyncio
import os
import time

import click

from .cli import _fail, graph_option, main
from .cli_interchange import store_kind, write_dump
from .graph.errors import ConfigError, GraphError
from .graph.newfile import new_file


def _dump(graph_url: str, target: str) -> int:
    """A dump with grants and tokens, so that the restored graph signs everyone in."""
    with new_file(target, "backup") as partial, open(partial, "wb") as written:
        asyncio.run(write_dump(graph_url, written, with_grants=True))
    return os.path.getsize(target)


@main.command()
@graph_option
@click.argument("target", type=click.Path(dir_okay=False))
def backup(graph_url: str, target: str) -> None:
    """Back the graph up into TARGET, a new file, while it is served.

    On the embedded store, a copy of its file: one consistent moment of it, also while a
    server is writing to it; serve the copy with --graph sqlite:///TARGET. On Neo4j, a
    JSON Lines dump with grants and tokens, as `export --with-grants` writes it; restore
    it into an empty graph with `contactgraph import --graph URL TARGET`."""
    from .graph.sqlite.backup import copy_to

    started = time.perf_counter()
    try:
        size = (
            copy_to(graph_url, target)
            if store_kind(graph_url) == "sqlite"
            else _dump(graph_url, target)
        )
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None
    elapsed = time.perf_counter() - started
    click.echo(f"backed up {graph_url} into {target}: {size:,} bytes in {elapsed:.1f} s")
