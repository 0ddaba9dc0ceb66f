"""Each document parsed once: a request's document was parsed twice (to count its
operations, http.py, then by Strawberry to run it), a tenth of a small write's CPU, and
dashboards send the same few documents again and again. Parsed documents are kept by
their text and limits, the most recent PARSED_MOST of them; graphql-core never changes a
document it executes or validates, so requests share them. A document that does not
parse is not kept: its error is raised again each time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache
from typing import Any, cast

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

# a document is at most --max-tokens tokens (500 by default): some 100 KB parsed, at most
PARSED_MOST = 256


@lru_cache(maxsize=PARSED_MOST)
def parsed(query: str, max_tokens: int | None, max_source_length: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens, max_source_length=max_source_length)


class ParsedOnce(SchemaExtension):
    """Strawberry's parse, through `parsed` with the limits the other extensions set."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        options = cast(dict[str, Any], context.parse_options)
        unknown = options.keys() - {"max_tokens", "max_source_length"}
        assert not unknown, f"parse options parsed() does not take: {unknown}"
        with suppress(GraphQLError):  # left to Strawberry's own parse, which reports it
            context.graphql_document = parsed(
                context.query or "", options.get("max_tokens"), options.get("max_source_length")
            )
        yield
