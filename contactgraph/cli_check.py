"""`contactgraph check`: the stored values that writes would refuse today, on any graph.

The API checks every value it is given (graph/contactdata.py), but a graph may hold
values from before those checks, from an import, or ones whose rules changed since
(phone number plans, check-digit rules); reads never refuse them. This reports them, one
line each, so they can be fixed through the API.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import click

from .cli import _fail, graph_option, main, region_option
from .graph import contactdata, rules
from .graph.backends import open_store
from .graph.contactdata import Problem
from .graph.cursors import encode_cursor
from .graph.errors import ConfigError, GraphError
from .graph.model import Page, PartyFilter
from .graph.store import GraphStore

PAGE = 1000


@main.command()
@graph_option
@region_option
def check(graph_url: str, default_region: str | None) -> None:
    """Report stored values that a write would refuse today.

    E-mail addresses, phone numbers, countries, VAT numbers and tax codes that are not
    valid, and VAT numbers or tax codes that more than one party not archived holds.

    One line per value on stdout, tab-separated: party id, field, value (as a JSON
    string), reason. Exits with 1 when it finds any, 0 when there are none.
    """
    try:
        checked, found = asyncio.run(_check(graph_url, default_region))
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None
    for problem in found:
        value = json.dumps(problem.value, ensure_ascii=False)
        click.echo(f"{problem.party_id}\t{problem.field}\t{value}\t{problem.reason}")
    click.echo(f"checked {checked} parties in {graph_url}: {len(found)} invalid values", err=True)
    if found:
        raise SystemExit(1)


async def _check(url: str, region: str | None) -> tuple[int, list[Problem]]:
    store = open_store(url, False, region)  # a graph that is not there has nothing to check
    await store.start()
    try:
        return await _problems(store, region)
    finally:
        await store.close()


async def _problems(store: GraphStore, region: str | None) -> tuple[int, list[Problem]]:
    """Every party, archived too, page by page in id order."""
    found: list[Problem] = []
    holders: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    everyone = PartyFilter(include_archived=True)
    after: str | None = None
    checked = 0
    while True:
        page = await store.list_parties(everyone, Page(PAGE, after), count=False)
        for party in page.parties:
            found += contactdata.problems(party, region)
            for claim in rules.claims(party):  # the codes it holds, if not archived
                held = Problem(party.id, claim.field, claim.value, "")
                holders[(claim.kind, claim.key)].append(held)
        checked += len(page.parties)
        if not page.has_next:
            break
        after = encode_cursor(page.parties[-1].id)
    for held in holders.values():
        if len(held) > 1:
            for one in held:
                others = ", ".join(h.party_id for h in held if h is not one)
                reason = f"is also held by {others} (parties not archived)"
                found.append(Problem(one.party_id, one.field, one.value, reason))
    found.sort(key=lambda p: (p.party_id, p.field))
    return checked, found
