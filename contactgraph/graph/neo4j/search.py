"""Full-text search on Neo4j: one index over two properties, names and fiscal codes, so a
search matches fiscal codes only for a viewer who may read them."""

from __future__ import annotations

from ..search import fiscal_text, indexed_text, query_terms
from .cypher import PARTY_MAP, Tx, party

INDEX = "party_text"
SCHEMA: tuple[str, ...] = (
    # the index before fiscal codes had a property of their own
    "DROP INDEX party_search IF EXISTS",
    f"CREATE FULLTEXT INDEX {INDEX} IF NOT EXISTS FOR (p:Party) "
    "ON EACH [p.search, p.fiscal_search] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: false}}",
)
SOURCE = f"CALL db.index.fulltext.queryNodes('{INDEX}', $search) YIELD node AS p"
_BATCH = 2_000


def query(text: str, fiscal: bool) -> str:
    """Every term a required prefix, in the names, or with `fiscal` in either property
    (terms are letters and digits only: never Lucene syntax)."""
    if fiscal:
        return " AND ".join(f"(search:{t}* OR fiscal_search:{t}*)" for t in query_terms(text))
    return " AND ".join(f"search:{t}*" for t in query_terms(text))


async def split_fiscal(tx: Tx) -> bool:
    """Write the search properties of up to a batch of parties stored before fiscal codes
    moved out of `search`; whether any were left."""
    result = await tx.run(
        f"MATCH (p:Party) WHERE p.fiscal_search IS NULL RETURN {PARTY_MAP} AS p LIMIT $n",
        n=_BATCH,
    )
    found = [party(record["p"]) async for record in result]
    await tx.run(
        "UNWIND $rows AS row MATCH (p:Party {id: row.id}) "
        "SET p.search = row.search, p.fiscal_search = row.fiscal",
        rows=[{"id": p.id, "search": indexed_text(p), "fiscal": fiscal_text(p)} for p in found],
    )
    return bool(found)
