"""Arguments that many fields take, each described once: a client reads the same words
for `first` wherever it pages, and a limit's figure follows its setting's default."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from ..config import Settings
from ..graph.duplicates import DEFAULT_MIN_SCORE
from ..graph.model import DEFAULT_HIERARCHY_TYPES, HIERARCHY_TYPES
from .enums import ActivityType, RelType

DEFAULTS = Settings()
"""The settings' defaults, which descriptions quote: a server may be run with others."""


def _names(types: object) -> str:
    return ", ".join(sorted(t.value for t in types))  # type: ignore[attr-defined]


First = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many items the page holds at most: {DEFAULTS.default_page_size} when "
        f"not given (the server's --default-page-size), never more than its --max-page-size "
        f"({DEFAULTS.max_page_size} by default; more is LIMIT_EXCEEDED, a negative number "
        "BAD_USER_INPUT)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Start after this cursor: the previous page's pageInfo.endCursor; none for "
        "the first page. Cursors are opaque and belong to the field that gave them; a "
        "malformed one is BAD_USER_INPUT."
    ),
]
AsOf = Annotated[
    datetime | None,
    strawberry.argument(
        description="Read the graph as it was at this instant: only relationships that had "
        "begun by then (since at or before it) and had not ended (until after it). Defaults "
        "to now, one instant for the whole request."
    ),
]
MaxDepth = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many levels (edges) to walk at most, from 1 up to the server's "
        f"--max-depth ({DEFAULTS.max_depth} by default; more is LIMIT_EXCEEDED, less than 1 "
        "BAD_USER_INPUT). Defaults to that ceiling."
    ),
]
HierarchyTypes = Annotated[
    list[RelType] | None,
    strawberry.argument(
        description=f"The hierarchy relationships to walk, any of {_names(HIERARCHY_TYPES)}; "
        f"{_names(DEFAULT_HIERARCHY_TYPES)} when not given. Another type is BAD_USER_INPUT."
    ),
]
RelTypes = Annotated[
    list[RelType] | None,
    strawberry.argument(description="The relationship types to follow; all when not given."),
]
ActivityTypes = Annotated[
    list[ActivityType] | None,
    strawberry.argument(description="Only activities of these types; all when not given."),
]
Since = Annotated[
    datetime | None,
    strawberry.argument(description="Only what happened at or after this instant."),
]
Until = Annotated[
    datetime | None,
    strawberry.argument(
        description="Only what happened before this instant; it must be later than since "
        "(else BAD_USER_INPUT)."
    ),
]
ActivitySearch = Annotated[
    str | None,
    strawberry.argument(
        description=f"Only activities having every one of these words, each as the start of "
        f"a word, in their summary or body, ignoring case and accents; any other character "
        f"is a space (no search syntax). At most {DEFAULTS.max_search_terms} words of "
        f"{DEFAULTS.max_search_term_length} characters by default (the server's "
        "--max-search-terms and --max-search-term-length); none at all is BAD_USER_INPUT."
    ),
]
MinScore = Annotated[
    float | None,
    strawberry.argument(
        description=f"The lowest score (0..1) a match needs to be named; {DEFAULT_MIN_SCORE} "
        "when not given. Outside 0..1 is BAD_USER_INPUT."
    ),
]
PartyId = Annotated[strawberry.ID, strawberry.argument(description="The party's id.")]
