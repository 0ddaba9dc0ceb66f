"""`contactgraph import --format csv` and `export --format csv`: a sync with another system
by external id (graph/csvsync/, docs/csv-import.md). Like the JSON Lines dump they use the
store directly: whoever holds the graph's file or credentials may run them."""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Callable
from typing import IO

import click

from .cli import _open
from .graph.csvsync.export import write_csv
from .graph.csvsync.mapping import load
from .graph.csvsync.sync import CsvImport, Outcome
from .graph.errors import ConfigError
from .graph.model import PartyFilter
from .graph.newfile import new_file
from .seeds.progress import bar


def _opener(source: str) -> Callable[[], IO[str]]:
    if source == "-":
        raise ConfigError("a CSV import reads its file several times: give a file, not -")
    try:
        open(source, "rb").close()
    except OSError as error:
        raise ConfigError(f"cannot read {source}: {error.strerror}") from None
    return lambda: open(source, encoding="utf-8-sig", newline="")


async def _import(
    url: str, mapping_path: str, source: str, dry_run: bool, batch_size: int
) -> Outcome:
    mapping = load(mapping_path)
    opener = _opener(source)
    store = await _open(url, not dry_run)
    try:
        with bar() as progress:
            tasks: dict[str, int] = {}

            def tick(name: str, rows: int) -> None:
                if name not in tasks:
                    total = sync.outcome.rows if name != "rows checked" else None
                    tasks[name] = progress.add_task(name, total=total)
                progress.advance(tasks[name], rows)

            sync = CsvImport(store, mapping, opener, batch_size, tick)
            outcome = await sync.check()
            if outcome.errors or dry_run:
                return outcome
            return await sync.write()
    finally:
        await store.close()


def import_csv(
    graph_url: str, mapping: str | None, source: str, dry_run: bool, batch_size: int
) -> None:
    """Check every row, report each bad one, and write only when all are good."""
    if mapping is None:
        raise ConfigError("a CSV import needs --mapping MAPPING.toml (docs/csv-import.md)")
    try:
        outcome = asyncio.run(_import(graph_url, mapping, source, dry_run, batch_size))
    except csv.Error as error:  # a header csv cannot split
        raise ConfigError(str(error)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{source} is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None
    for error in outcome.errors:
        click.echo(f"{source}: {error}", err=True)
    if outcome.errors:
        bad = len({e.line for e in outcome.errors})
        raise ConfigError(f"{bad:,} of {outcome.rows:,} rows are bad; nothing was written")
    if dry_run:
        click.echo(
            f"{source}: {outcome.rows:,} rows check ({outcome.existing:,} of them update "
            f"parties the graph holds); nothing was written"
        )
        return
    click.echo(
        f"{source}: {outcome.rows:,} rows: {outcome.created:,} parties created, "
        f"{outcome.updated:,} updated, {outcome.unchanged:,} unchanged, "
        f"{outcome.linked:,} relationships made"
    )


async def _export(url: str, where: PartyFilter, out: IO[str]) -> int:
    store = await _open(url, False, read_only=True)
    try:
        return await write_csv(store, where, out)
    finally:
        await store.close()


def export_csv(graph_url: str, where: PartyFilter, out: str) -> int:
    """The filtered parties as CSV into OUT (- for standard output); how many."""
    if out == "-":
        return asyncio.run(_export(graph_url, where, sys.stdout))
    with new_file(out, "export") as partial, open(partial, "w", newline="") as written:
        return asyncio.run(_export(graph_url, where, written))
