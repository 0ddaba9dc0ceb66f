"""Full-text search of activities on Neo4j: each activity's `search` property holds the
tokens graph/search.py makes of its summary and body (the embedded store indexes the same
tokens), in a full-text index of its own for the graph-wide list; a timeline, already
narrowed to a party's activities, tests the property instead."""

from __future__ import annotations

from typing import Any

from ..cursors import decode_cursor
from ..model import ActivityQuery, TimelineQuery
from ..search import activity_text, query_terms
from .cypher import Reach, Tx, decode, encode
from .search import REFRESHED
from .search import query as lucene_query

INDEX = "activity_tokens"
SCHEMA: tuple[str, ...] = (
    "DROP INDEX activity_lookup IF EXISTS",  # the one before: consistent
    f"CREATE FULLTEXT INDEX {INDEX} IF NOT EXISTS FOR (a:Activity) ON EACH [a.search] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: true}}",
)
# activity a has every one of $terms as the start of one of its words
HAS_TERMS = "all(t IN $terms WHERE any(w IN split(a.search, ' ') WHERE w STARTS WITH t))"
# a list's filters and cursor on activity a (filter_params gives their parameters)
ACTIVITY_FILTER = (
    "($types = [] OR a.type IN $types) "
    "AND ($since IS NULL OR a.occurred_at >= datetime($since)) "
    "AND ($until IS NULL OR a.occurred_at < datetime($until)) "
    "AND ($after_time IS NULL OR a.occurred_at < datetime($after_time) "
    "OR (a.occurred_at = datetime($after_time) AND a.id < $after_id)) "
    f"AND ($terms = [] OR {HAS_TERMS})"
)
_BATCH = 2_000
# the newest activities a graph-wide search tests before it asks the index, per item of
# the page: a page of a word in one activity of 20 is among them
PROBED = 20


async def backfill(tx: Tx) -> bool:
    """Write the search property of up to a batch of activities stored before activities
    were searchable; whether any were left."""
    result = await tx.run(
        "MATCH (a:Activity) WHERE a.search IS NULL "
        "RETURN a.id AS id, a.summary AS summary, a.body AS body LIMIT $n",
        n=_BATCH,
    )
    rows = [{"id": r["id"], "search": activity_text(r["summary"], r["body"])} async for r in result]
    await tx.run(
        "UNWIND $rows AS row MATCH (a:Activity {id: row.id}) SET a.search = row.search",
        rows=rows,
    )
    return bool(rows)


async def window(tx: Tx, query: ActivityQuery, inside: Reach) -> list[str]:
    """The ids of one page of the graph's activities newest first (ties by id), plus one,
    each with a subject inside the reader's reach. Searched, the newest PROBED activities
    per item are tested first (a common word's page is among them); failing that, the index's
    matches are read and sorted by time, so a rarer word costs as many as it matches."""
    params: dict[str, Any] = {
        **filter_params(query),
        "subjects": list(query.subject_ids),
        "probe": PROBED * (query.page.first + 1),
        **inside.params,
    }
    subject = f"(a)-[:ABOUT]->(s:Party) WHERE {inside.test('s')}"
    if query.subject_ids:
        subject += " AND s.id IN $subjects"
    kept = f"{ACTIVITY_FILTER} AND EXISTS {{ MATCH {subject} }}"
    newer = "a.occurred_at IS NOT NULL" + (
        " AND a.occurred_at <= datetime($after_time)" if query.page.after else ""
    )
    if query.search is not None:
        probed = await tx.run(
            f"MATCH (a:Activity) WHERE {newer} WITH a ORDER BY a.occurred_at DESC "
            "LIMIT $probe WITH collect(a) AS probed "
            # every activity after `edge` was read (none is left out when all were)
            "WITH probed, CASE WHEN size(probed) < $probe THEN null "
            "ELSE probed[-1].occurred_at END AS edge "
            "UNWIND probed AS a WITH a, edge "
            f"WHERE (edge IS NULL OR a.occurred_at > edge) AND {kept} "
            "RETURN a.id AS id, edge IS NULL AS whole "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit",
            params,
        )
        rows = [(record["id"], record["whole"]) async for record in probed]
        if len(rows) == params["limit"] or (rows and rows[0][1]):
            return [activity_id for activity_id, _ in rows]
        params["search"] = lucene_query(query.search, fiscal=False)
        source = f"{REFRESHED}CALL db.index.fulltext.queryNodes('{INDEX}', $search) YIELD node AS a"
    elif query.subject_ids:
        source = (
            "UNWIND $subjects AS subject MATCH (:Party {id: subject})<-[:ABOUT]-(a:Activity) "
            "WITH DISTINCT a"
        )
    else:  # every activity: the time index newest first, as a roll-up's scan reads it
        match = f"MATCH (a:Activity) WHERE {newer} AND {kept}"
        return await newest(tx, match, params, "a.occurred_at DESC")
    result = await tx.run(
        f"{source} WITH a WHERE {kept} "
        "RETURN a.id AS id ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit",
        params,
    )
    return [record["id"] async for record in result]


async def newest(tx: Tx, match: str, params: dict[str, Any], order: str) -> list[str]:
    """The ids of the first $limit activities `match` binds as a, read in `order` (the time
    index's, newest first) and ordered by time then id. The index orders by time only, so
    ties at the page's last instant are read in full and ordered here."""
    found = await tx.run(
        f"{match} RETURN a.id AS id, toString(a.occurred_at) AS at ORDER BY {order} LIMIT $limit",
        params,
    )
    rows = [(record["at"], record["id"]) async for record in found]
    if len(rows) == params["limit"]:
        last = rows[-1][0]
        ties = await tx.run(
            f"{match} AND a.occurred_at = datetime($last) "
            "RETURN a.id AS id, toString(a.occurred_at) AS at",
            params | {"last": last},
        )
        rows = [row for row in rows if row[0] != last]
        rows += [(record["at"], record["id"]) async for record in ties]
    rows.sort(key=lambda row: (decode(row[0]), row[1]), reverse=True)
    return [activity_id for _, activity_id in rows[: params["limit"]]]


def filter_params(query: ActivityQuery | TimelineQuery) -> dict[str, Any]:
    """The parameters of ACTIVITY_FILTER, and the page's limit (one more than asked, to
    tell whether more follow)."""
    after = decode_cursor(query.page.after, 2) if query.page.after else None
    return {
        "types": [t.value for t in query.types],
        "since": encode(query.since) if query.since else None,
        "until": encode(query.until) if query.until else None,
        "after_time": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": query.page.first + 1,
        "terms": [] if query.search is None else query_terms(query.search),
    }
