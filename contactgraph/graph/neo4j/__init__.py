"""The Neo4j backend."""
