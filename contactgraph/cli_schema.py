"""`contactgraph schema`: the GraphQL schema as SDL, the contract clients build against.

It reads no graph and no settings: the schema is the code's, the same for every server
of this version, so anyone who can run the command may print it (as schema.graphql is
in the repository). Types come in name order and fields in the code's order, so the
text changes only when the schema does.
"""

from __future__ import annotations

import click

from .cli import main
from .config import Settings


@main.command()
def schema() -> None:
    """Print the GraphQL schema as SDL.

    Every type, field and argument with its description: what schema.graphql holds.
    Regenerate that file with `contactgraph schema > schema.graphql`."""
    from .schema.build import build_schema  # here: the other commands need no GraphQL

    click.echo(build_schema(Settings()).as_str())
