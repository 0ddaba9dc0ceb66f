"""The backends every graph test runs on, and how a shared Neo4j is emptied between tests."""

from __future__ import annotations

from neo4j import Driver

BACKENDS = ["sqlite", "neo4j"]


def wipe(driver: Driver) -> None:
    """An empty graph; constraints and indexes stay, categories come back at start.

    Relationships go first, in batches of their own: detaching a node deletes all of its
    relationships in one inner transaction, and a node with 100,000 of them (the
    adversarial fan) overruns a 512 MiB heap's transaction memory."""
    with driver.session() as session:  # implicit transactions, as batched deletes need
        session.run(
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()
