"""The schema as a documented contract: every part of it described for client developers,
and schema.graphql at the repository's root the SDL the code serves, as `contactgraph
schema` prints it."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from client import GRAPHIQL_INTROSPECTION, GraphQL
from graphql import (
    build_client_schema,
    build_schema,
    introspection_from_schema,
    lexicographic_sort_schema,
    print_schema,
)
from test_cli import run

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"
REGENERATE = "contactgraph schema > schema.graphql"


def undescribed(schema: dict[str, Any]) -> list[str]:
    """The schema coordinates of every type, field, argument, input field and enum value
    (and directive argument) of an introspection result that has no description. GraphQL's
    own introspection types are the specification's, not ours."""
    missing: list[str] = []

    def arguments(owner: str, args: list[dict[str, Any]]) -> None:
        missing.extend(f"{owner}({a['name']}:)" for a in args if not a["description"])

    for kind in schema["types"]:
        name = kind["name"]
        if name.startswith("__"):
            continue
        if not kind["description"]:
            missing.append(name)
        for field in kind["fields"] or ():
            if not field["description"]:
                missing.append(f"{name}.{field['name']}")
            arguments(f"{name}.{field['name']}", field["args"])
        for members in (kind["inputFields"], kind["enumValues"]):
            missing.extend(f"{name}.{m['name']}" for m in members or () if not m["description"])
    for directive in schema["directives"]:
        arguments(f"@{directive['name']}", directive["args"])
    return missing


async def test_every_part_of_the_schema_is_described(gql: GraphQL) -> None:
    schema = (await gql(GRAPHIQL_INTROSPECTION))["__schema"]
    missing = undescribed(schema)
    assert not missing, (
        "give these a description (strawberry description=, or a shared argument in "
        "contactgraph/schema/common_arguments.py):\n" + "\n".join(missing)
    )
    # and the walk reaches every kind of place: it has something to check in each
    assert {"OBJECT", "INTERFACE", "INPUT_OBJECT", "ENUM", "SCALAR"} <= {
        t["kind"] for t in schema["types"]
    }


def test_the_description_walk_names_what_lacks_one() -> None:
    sdl = '''
        """A root."""
        type Query {
          """Described."""
          a(x: Int): E
          b(
            """Described."""
            y: Int
          ): Int
        }
        enum E {
          """Described."""
          ONE
          TWO
        }
        """An input."""
        input I { z: Int }
        scalar Bare
    '''
    schema = introspection_from_schema(build_schema(sdl))["__schema"]
    assert sorted(undescribed(schema)) == sorted(
        ["Query.a(x:)", "Query.b", "E", "E.TWO", "I.z", "Bare"]
    )


async def test_schema_graphql_is_what_the_server_serves(gql: GraphQL) -> None:
    served = build_client_schema(await gql(GRAPHIQL_INTROSPECTION))
    checked_in = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert print_schema(lexicographic_sort_schema(checked_in)) == print_schema(
        lexicographic_sort_schema(served)
    ), f"schema.graphql differs from the served schema: regenerate it with `{REGENERATE}`"


def test_the_schema_command_prints_schema_graphql() -> None:
    printed = run("schema")
    assert printed.returncode == 0, printed.stderr
    checked_in = SCHEMA_FILE.read_text(encoding="utf-8")
    drift = "".join(
        difflib.unified_diff(
            checked_in.splitlines(keepends=True),
            printed.stdout.splitlines(keepends=True),
            "schema.graphql",
            "contactgraph schema",
            n=1,
        )
    )
    assert not drift, (
        f"schema.graphql is not the schema the code builds: regenerate it with "
        f"`{REGENERATE}` and commit it\n{drift[:4000]}"
    )


def test_the_schema_command_refuses_arguments() -> None:
    refused = run("schema", "schema.graphql")
    assert refused.returncode == 2
    assert "Got unexpected extra argument (schema.graphql)" in refused.stderr
    assert "Traceback" not in refused.stderr and not refused.stdout
