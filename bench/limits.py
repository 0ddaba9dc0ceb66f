"""What the request limits cost, and what they bound.

    .venv/bin/python bench/limits.py [--runs 20]

1. Parsing and validation of the worst documents the default limits let through
   (the most repeated fields, aliases, fragments, operations, nesting and the
   longest string that the token and length limits allow), with graphql-core's
   rules as the server runs them; best of --runs, in milliseconds. GraphiQL's
   introspection query is the yardstick: a real client's document.
2. The limits' share of ordinary requests on an embedded graph of 500 parties:
   a page of 500 parties with 10 fields, and a mutation with 100 tags and 100
   e-mail addresses, end to end through the app in process (median), against the
   time the checks alone take (the HTTP pre-parse of a document without an
   operationName, variable coercion, and the measuring walk with its argument
   checks).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
from graphql import (
    GraphQLSchema,
    MaxIntrospectionDepthRule,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    get_introspection_query,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.schema.arguments import ArgumentChecks
from contactgraph.schema.build import build_schema
from contactgraph.schema.cost import Sizes, measure
from contactgraph.schema.limits import IntrospectionDepth, bounded_merge

LIMITS = Settings()
PARSE = {"max_tokens": LIMITS.max_tokens, "max_source_length": LIMITS.max_document_length}


def best(runs: int, call: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples)


def most(make: Callable[[int], str]) -> str:
    """make(n) for the largest n whose document the token limit lets through."""
    n = 1
    while n < 1000 and parse(make(n + 1)).token_count <= LIMITS.max_tokens:
        n += 1
    return make(n)


def repeated(unit: str) -> Callable[[int], str]:
    return lambda n: "{ " + " ".join([unit] * n) + " }"


def worst_documents() -> dict[str, str]:
    escapes = (LIMITS.max_document_length - 40) // len("\\u00e9")
    return {
        "for scale, a real client: GraphiQL's introspection": get_introspection_query(
            True, True, True, True, True, False, True
        ),
        "a field repeated: { __typename __typename ... }": most(repeated("__typename")),
        "an object field repeated: categories { id }": most(repeated("categories { id }")),
        "inline fragments repeated": most(repeated("... on Query { categories { id } }")),
        "fragments spread side by side": most(
            lambda n: (
                "{ "
                + " ".join(f"...F{i}" for i in range(n))
                + " } "
                + " ".join(f"fragment F{i} on Query {{ categories {{ id }} }}" for i in range(n))
            )
        ),
        "aliases: a0: __typename a1: ...": most(
            lambda n: "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"
        ),
        "operations: query Q0 { ... } query Q1 ...": most(
            lambda n: " ".join(f"query Q{i} {{ __typename }}" for i in range(n))
        ),
        "fields nested (the parser stops at 200 levels)": most(
            lambda n: (
                '{ party(id: "x") { '
                + "relationships { from { " * min(n, 98)
                + "id"
                + " } }" * min(n, 98)
                + " } }"
            )
        ),
        "a list literal": most(
            lambda n: "{ parties(filter: {tags: [" + '"a" ' * n + "]}) { totalCount } }"
        ),
        "unknown fields": most(repeated("nope")),
        "the longest document: one string of \\u escapes": (
            '{ parties(search: "' + "\\u00e9" * escapes + '") { totalCount } }'
        ),
    }


def validation_rules() -> list[Any]:
    """graphql-core's rules as DocumentLimits runs them (Strawberry adds two of its own)."""
    swaps = {
        OverlappingFieldsCanBeMergedRule: bounded_merge(LIMITS.max_merge_work),
        MaxIntrospectionDepthRule: IntrospectionDepth,
    }
    return [swaps.get(rule, rule) for rule in specified_rules]


def worst_case_table(schema: GraphQLSchema, runs: int) -> None:
    rules = validation_rules()
    print(
        f"Defaults: {LIMITS.max_tokens} tokens, {LIMITS.max_document_length} characters, "
        f"{LIMITS.max_merge_work} units of merge work.\n"
    )
    print("| document | tokens | characters | parse ms | validate ms | validation |")
    print("|---|---:|---:|---:|---:|---|")
    for name, text in worst_documents().items():
        document = parse(text, **PARSE)
        errors = validate(schema, document, rules)
        parsed = best(runs, lambda text=text: parse(text, **PARSE))
        validated = best(runs, lambda document=document: validate(schema, document, rules))
        outcome = (errors[0].extensions or {}).get("code", "refused") if errors else "valid"
        print(
            f"| {name} | {document.token_count} | {len(text)} "
            f"| {parsed:.2f} | {validated:.2f} | {outcome} |"
        )


PAGE = """{ parties(first: 500) { edges { node {
  id kind legalForm displayName categoryId tags version createdAt updatedAt archivedAt
} } } }"""
CREATE = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }"
BIG_INPUT = {
    "input": {
        "name": "Bench GmbH",
        "tags": [f"tag{n}" for n in range(LIMITS.max_list_length)],
        "emails": [{"address": f"a{n}@bench.example"} for n in range(LIMITS.max_list_length)],
    }
}
REQUESTS = {
    "500 parties, 10 fields each": (PAGE, {}),
    "createOrganization, 100 tags and 100 e-mails": (CREATE, BIG_INPUT),
}


def checks_alone(schema: GraphQLSchema, text: str, variables: dict[str, Any], runs: int) -> float:
    """What the limits add to a request: the HTTP pre-parse, then DocumentLimits's
    variable coercion and measuring walk with its argument checks."""
    sizes = Sizes(
        LIMITS.default_page_size, LIMITS.max_page_size, LIMITS.max_network_size, LIMITS.max_depth
    )
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def run() -> None:
        parse(text, no_location=True, **PARSE)
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list)
        checks = ArgumentChecks(LIMITS)
        measure(schema, document, operation, coerced, sizes, LIMITS.max_query_depth, checks)

    return best(runs, run)


async def request_medians(runs: int) -> dict[str, float]:
    app = create_app(Settings(graph_url="sqlite:///:memory:"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            for n in range(500):
                seed = {"input": {"name": f"Party {n}"}}
                await http.post("/graphql", json={"query": CREATE, "variables": seed})
            medians = {}
            for name, (text, variables) in REQUESTS.items():
                samples = []
                for _ in range(runs):
                    started = time.perf_counter()
                    response = await http.post(
                        "/graphql", json={"query": text, "variables": variables}
                    )
                    samples.append((time.perf_counter() - started) * 1000)
                    assert "errors" not in response.json(), response.text[:300]
                medians[name] = statistics.median(samples)
            return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    schema = build_schema(LIMITS)._schema
    worst_case_table(schema, runs)
    medians = asyncio.run(request_medians(runs))
    print("\n| request | end to end ms (median) | the limits' checks ms (best) | share |")
    print("|---|---:|---:|---:|")
    for name, (text, variables) in REQUESTS.items():
        alone = checks_alone(schema, text, variables, runs)
        share = 100 * alone / medians[name]
        print(f"| {name} | {medians[name]:.1f} | {alone:.2f} | {share:.1f} % |")


if __name__ == "__main__":
    main()
