"""Documents generated from the live schema (hypothesis-graphql), valid ones and ones with a
single mistake, sent over HTTP to the app on both stores: whatever they ask, the answer is
never a 5xx, never an INTERNAL_SERVER_ERROR, never a traceback, and every error carries a
code. Mutations run too, against a graph holding the demo.

Runs are derandomized so CI is repeatable; CONTACTGRAPH_FUZZ_EXAMPLES raises the count
for a longer hunt (the default keeps the suite quick).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import graphql
import httpx
from access import bearer, with_demo_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.schema.build import build_schema

EXAMPLES = int(os.environ.get("CONTACTGRAPH_FUZZ_EXAMPLES", "150"))

_instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
SCALARS = {
    "DateTime": st.one_of(
        _instants.map(lambda at: graphql.StringValueNode(value=at.isoformat())),
        st.text(max_size=30).map(lambda text: graphql.StringValueNode(value=text)),
    ),
    "JSON": st.one_of(
        st.dictionaries(st.text(max_size=8), st.integers(), max_size=3).map(
            lambda value: graphql.ObjectValueNode(
                fields=tuple(
                    graphql.ObjectFieldNode(
                        name=graphql.NameNode(value=f"k{i}"),
                        value=graphql.IntValueNode(value=str(number)),
                    )
                    for i, number in enumerate(value.values())
                )
            )
        ),
        st.text(max_size=20).map(lambda text: graphql.StringValueNode(value=text)),
    ),
}


def documents() -> st.SearchStrategy[object]:
    schema = build_schema(Settings())._schema
    return st.one_of(
        from_schema(schema, custom_scalars=SCALARS, mode=Mode.POSITIVE),
        from_schema(schema, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    )


def check(response: httpx.Response) -> None:
    assert response.status_code not in (401, 403) and response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    for error in body.get("errors", ()):
        code = error.get("extensions", {}).get("code")
        assert code and code != "INTERNAL_SERVER_ERROR", error


def test_generated_documents_get_coded_answers(graph_url: str) -> None:
    # as fast as it can, and for as long as it is told: documents are fuzzed, not the rate
    signed_in = with_demo_token(Settings(create=True, graph_url=graph_url, demo=True, rate_limit=0))
    assert signed_in.demo_token is not None
    app = create_app(signed_in)
    with asyncio.Runner() as runner:
        lifespan = app.router.lifespan_context(app)
        runner.run(lifespan.__aenter__())
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(
            transport=transport,
            base_url="http://localhost",
            headers=bearer(signed_in.demo_token),  # as the demo's admin: every field runs
        )
        try:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(document=documents())
            def answered(document: str) -> None:
                check(runner.run(http.post("/graphql", json={"query": document})))

            answered()
        finally:
            runner.run(http.aclose())
            runner.run(lifespan.__aexit__(None, None, None))
