"""The one full-text index of parties on Neo4j, and search by it. Its properties: names
(`search`) and fiscal codes (`fiscal_search`) apart, so a search matches fiscal codes
only for a viewer who may read them; e-mail keys (keys.py) and duplicate keys
(duplicates.py). One index, not one per use: Neo4j updates each full-text index a node
is in when the write commits, which cost a party write some 3 ms per index.

The index is eventually consistent, so a commit only queues its updates (with a consistent
one, the commit of a party's creation took 2-10 ms instead of about 1). Every statement
that reads it starts with REFRESHED: it waits for the updates queued so far, so it sees
every party write committed before it began, by this process or any other, as a
consistent index would."""

from __future__ import annotations

from ..search import fiscal_text, indexed_text, query_terms
from . import pending
from .cypher import PARTY_MAP, Tx, party

INDEX = "party_tokens"
SCHEMA: tuple[str, ...] = (
    # the indexes before this one: one per use, then one consistent
    "DROP INDEX party_lookup IF EXISTS",
    "DROP INDEX party_search IF EXISTS",
    "DROP INDEX party_text IF EXISTS",
    "DROP INDEX party_email IF EXISTS",
    "DROP INDEX party_duplicate_keys IF EXISTS",
    # whitespace: every value is tokens made in Python (search.py, contactdata.keys),
    # each kept whole, as case-folded as they were made
    f"CREATE FULLTEXT INDEX {INDEX} IF NOT EXISTS FOR (p:Party) "
    "ON EACH [p.search, p.fiscal_search, p.email_keys, p.dup_keys] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: true}}",
)
# with nothing pending about 0.5 ms; right after a write some 13 ms, what a search then
# waits (BENCHMARKS.md, "Third slice: writes")
REFRESHED = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh() "
# a pending party's names, and its fiscal codes when $fiscal, hold a word starting with
# each term: what the Lucene query of `query` asks of an indexed one
_TERMS_IN_PENDING = (
    "all(t IN $terms WHERE any(w IN split(coalesce("
    + pending.current("p", "search")
    + ", ''), ' ') + CASE WHEN $fiscal THEN split(coalesce("
    + pending.current("p", "fiscal_search")
    + ", ''), ' ') ELSE [] END WHERE w STARTS WITH t))"
)


def found(lucene: str, test: str, each: str = "") -> str:
    """The parties (as p) the index finds by the Lucene query `lucene` (an expression)
    and the pending ones `test` accepts, each once: pending.py says why that is exact.
    `each` comes between the wait and the search (an UNWIND of several queries)."""
    return (
        f"{pending.GATHERED}{REFRESHED}{each}"
        f"CALL (*) {{ UNWIND pending AS p WITH p WHERE {test} RETURN p UNION ALL "
        f"CALL db.index.fulltext.queryNodes('{INDEX}', {lucene}) YIELD node AS p "
        "WITH p WHERE NOT p IN pending RETURN p } "
    )


SOURCE = found("$search", _TERMS_IN_PENDING) + "WITH p"
_BATCH = 2_000
# Past this many matches a page reads the id index's next WINDOW parties in order, each
# tested against the matches (a hashed list, ~0.3 µs a party), rather than reading and
# sorting every match by id (~1.5 µs each: 20,000 matches of a common name among
# 1,000,000 parties took most of a 57 ms search); matches sparser than the window holds,
# or bunched past it, are sorted after all.
SORTED_MOST = 2_000
WINDOW = 20_000


def exactly(field: str, token: str) -> str:
    """A Lucene query matching the one token in `field`, whatever the token holds."""
    return f'{field}:"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


def query(text: str, fiscal: bool) -> str:
    """Every term a required prefix, in the names, or with `fiscal` in either property
    (terms are letters and digits only: never Lucene syntax)."""
    if fiscal:
        return " AND ".join(f"(search:{t}* OR fiscal_search:{t}*)" for t in query_terms(text))
    return " AND ".join(f"search:{t}*" for t in query_terms(text))


def parameters(text: str, fiscal: bool) -> dict[str, object]:
    """SOURCE's parameters: the Lucene query and its terms, for the pending parties."""
    return {"search": query(text, fiscal), "terms": query_terms(text), "fiscal": fiscal}


def page_and_count(matching: str) -> str:
    """The statement for a page of the parties `matching` finds (as p), in id order after
    $after, and their number: one full-text search for both."""
    return (
        f"{matching} WITH collect(p) AS hits "
        # a bound of null seeks nothing: a filter on the count would follow the seek
        "CALL (hits) { WITH hits, CASE WHEN size(hits) > $sorted_most THEN $after END AS after "
        "MATCH (p:Party) WHERE p.id > after WITH hits, p ORDER BY p.id LIMIT $window "
        "WITH p WHERE p IN hits WITH p ORDER BY p.id LIMIT $limit RETURN collect(p) AS scanned } "
        "CALL (hits, scanned) { WITH hits WHERE size(scanned) < $limit "
        "UNWIND hits AS p WITH p WHERE p.id > $after WITH p ORDER BY p.id LIMIT $limit "
        "RETURN collect(p) AS sorted } "
        "RETURN size(hits) AS n, [p IN CASE WHEN size(scanned) = $limit THEN scanned "
        f"ELSE sorted END | {PARTY_MAP}] AS rows"
    )


async def split_fiscal(tx: Tx) -> bool:
    """Write the search properties of up to a batch of parties stored before fiscal codes
    moved out of `search`; whether any were left."""
    result = await tx.run(
        f"MATCH (p:Party) WHERE p.fiscal_search IS NULL AND NOT p:{pending.LABEL} "
        f"RETURN {PARTY_MAP} AS p LIMIT $n",
        n=_BATCH,
    )
    found = [party(record["p"]) async for record in result]
    await tx.run(
        "UNWIND $rows AS row MATCH (p:Party {id: row.id}) "
        "SET p.search = row.search, p.fiscal_search = row.fiscal",
        rows=[{"id": p.id, "search": indexed_text(p), "fiscal": fiscal_text(p)} for p in found],
    )
    return bool(found)
