"""A statement that also reads the party waiting to be carried (graph/carried.py)."""

from __future__ import annotations

from typing import Any

from ..carried import waiting
from . import cypher
from .cypher import PARTY_MAP, Reach, Tx


async def collected(
    tx: Tx, body: str, value: str, params: dict[str, Any], inside: Reach
) -> list[Any]:
    """`body` ended by RETURN `value`, an aggregate that makes the statement's one row,
    and that row's value, as cypher.collected reads it. With a party waiting, it is read
    after the aggregate, in a subquery that yields one row whatever it finds, so the
    statement's own answer is unchanged; as `cypher.parties`, for the same viewer."""
    carried = waiting()
    if carried is None:
        return await cypher.collected(await tx.run(f"{body}RETURN {value}", params))
    result = await tx.run(
        f"{body}WITH {value} AS found CALL () {{ MATCH (p:Party {{id: $carried_id}}) "
        f"WHERE {inside.test('p')} RETURN collect({PARTY_MAP}) AS carried }} "
        "RETURN found, carried",
        {**params, **inside.params, "carried_id": carried.party_id},
    )
    record = await result.single(strict=True)
    carried.take([cypher.party(props) for props in record["carried"]])
    return list(record["found"])
