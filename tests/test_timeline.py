"""Activities and a party's timeline: newest first, stable cursors, filters."""

from __future__ import annotations

from client import GraphQL
from factories import contact, org, record, user

TIMELINE = """
query($id: ID!, $first: Int, $after: String, $types: [ActivityType!],
      $since: DateTime, $until: DateTime) {
  party(id: $id) {
    timeline(first: $first, after: $after, types: $types, since: $since, until: $until) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id type occurredAt summary author { username } subjects { id } } }
    }
  }
}"""


async def timeline(gql: GraphQL, party: str, **args: object) -> dict:
    return (await gql(TIMELINE, {"id": party, **args}))["party"]["timeline"]


async def test_newest_first_with_author_and_every_subject(gql: GraphQL) -> None:
    anna = await user(gql, "anna")
    jana = await contact(gql, "Jana", "Petersen")
    ole = await contact(gql, "Ole", "Hansen")
    await record(gql, anna, [jana], "2025-01-01T10:00:00Z", summary="oldest")
    both = await record(
        gql, anna, [jana, ole], "2025-03-01T10:00:00+02:00", summary="both", type="MEETING"
    )
    await record(gql, anna, [jana], "2025-02-01T10:00:00Z", summary="middle")
    assert both["occurredAt"] == "2025-03-01T08:00:00.000000+00:00"
    assert both["subjectIds"] == [jana, ole]

    page = await timeline(gql, jana)
    assert [e["node"]["summary"] for e in page["edges"]] == ["both", "middle", "oldest"]
    assert page["pageInfo"]["hasNextPage"] is False
    newest = page["edges"][0]["node"]
    assert newest["author"] == {"username": "anna"}
    assert [s["id"] for s in newest["subjects"]] == [jana, ole]
    assert [e["node"]["summary"] for e in (await timeline(gql, ole))["edges"]] == ["both"]


async def test_pages_are_stable_under_ties_and_new_activities(gql: GraphQL) -> None:
    author = await user(gql, "anna")
    party = await org(gql, "Acme")
    same_time = "2025-05-05T12:00:00Z"
    for i in range(5):
        await record(gql, author, [party], same_time, summary=f"tie {i}")
    await record(gql, author, [party], "2025-05-06T12:00:00Z", summary="newer")

    first = await timeline(gql, party, first=3)
    assert first["pageInfo"]["hasNextPage"] is True
    # activities arriving between pages, newer and at the same instant, shift nothing
    await record(gql, author, [party], "2025-06-01T00:00:00Z", summary="arrived later")
    await record(gql, author, [party], same_time, summary="late tie")
    rest = await timeline(gql, party, first=10, after=first["pageInfo"]["endCursor"])

    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(seen) == len(set(seen))
    summaries = [e["node"]["summary"] for e in first["edges"] + rest["edges"]]
    # ties order by id, newest first; what arrived after the first page sorts before its
    # cursor, so the remaining pages hold exactly what followed it when it was read
    assert summaries == ["newer", "tie 4", "tie 3", "tie 2", "tie 1", "tie 0"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_filters_by_type_and_window(gql: GraphQL) -> None:
    author = await user(gql, "anna")
    party = await contact(gql, "Sofia", "Marino")
    await record(gql, author, [party], "2025-01-10T00:00:00Z", type="CALL", summary="jan call")
    await record(gql, author, [party], "2025-02-10T00:00:00Z", type="EMAIL", summary="feb mail")
    await record(gql, author, [party], "2025-03-10T00:00:00Z", type="CALL", summary="mar call")

    async def summaries(**args: object) -> list[str]:
        return [e["node"]["summary"] for e in (await timeline(gql, party, **args))["edges"]]

    assert await summaries(types=["CALL"]) == ["mar call", "jan call"]
    assert await summaries(types=["EMAIL", "MEETING"]) == ["feb mail"]
    assert await summaries(since="2025-02-10T00:00:00Z") == ["mar call", "feb mail"]
    assert await summaries(until="2025-02-10T00:00:00Z") == ["jan call"]
    assert await summaries(since="2025-02-01T00:00:00Z", until="2025-03-01T00:00:00Z") == [
        "feb mail"
    ]
    assert await summaries(types=["CALL"], since="2025-02-01T00:00:00Z") == ["mar call"]


async def test_page_size_has_a_ceiling(gql: GraphQL) -> None:
    party = await org(gql, "Acme")
    error = await gql.error(TIMELINE, {"id": party, "first": 100000})
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    negative = await gql.error(TIMELINE, {"id": party, "first": -1})
    assert negative["extensions"]["code"] == "BAD_USER_INPUT"
    garbage = await gql.error(TIMELINE, {"id": party, "after": "not-a-cursor"})
    assert garbage["extensions"]["code"] == "BAD_USER_INPUT"
