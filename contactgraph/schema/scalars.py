"""The DateTime scalar: ISO-8601 with an offset in, UTC with an offset out."""

from datetime import datetime

import strawberry

from ..graph.errors import BadUserInput
from ..graph.times import format_instant, parse_instant


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadUserInput("a DateTime is an ISO-8601 string with a UTC offset")
    return parse_instant(value)


DateTime = strawberry.scalar(
    name="DateTime",
    description="An instant as ISO-8601 with offset; returned in UTC. Naive times are refused.",
    serialize=format_instant,
    parse_value=_parse,
)
