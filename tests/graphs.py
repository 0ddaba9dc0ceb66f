"""The backends every graph test runs on, and how a shared Neo4j is emptied between tests."""

from __future__ import annotations

from neo4j import Driver

BACKENDS = ["sqlite", "neo4j"]


def wipe(driver: Driver) -> None:
    """An empty graph; constraints and indexes stay, categories come back at start."""
    with driver.session() as session:  # an implicit transaction, as batched deletes need
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()
