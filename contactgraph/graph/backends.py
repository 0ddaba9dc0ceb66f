"""The URL-to-store factory: the one place that knows every backend, so the port
(store.py) imports no adapter and the adapters never import each other."""

from __future__ import annotations

from .errors import ConfigError
from .store import GraphStore

NEO4J_SCHEMES = ("bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc")


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


def store_kind(url: str) -> str:
    """Which backend a graph URL names, as metrics and traces label it."""
    return "neo4j" if _scheme(url) in NEO4J_SCHEMES else _scheme(url)


def open_store(
    url: str, create: bool = False, default_region: str | None = None, read_only: bool = False
) -> GraphStore:
    """The backend a graph URL names; a URL no backend serves is a ConfigError. An embedded
    database that does not exist yet is made only with `create`. `default_region` reads
    phone numbers without +country code of parties that have no country. `read_only`
    (an export's) leaves an embedded database's file untouched; Neo4j reads in read
    transactions whatever it is."""
    scheme = _scheme(url)
    if scheme == "sqlite":
        from .sqlite.store import SqliteStore

        return SqliteStore.from_url(url, create, default_region, read_only)
    if scheme in NEO4J_SCHEMES:
        from .neo4j.store import Neo4jStore

        store = Neo4jStore.from_url(url)
        store.default_region = default_region
        return store
    raise ConfigError(
        f"unsupported graph URL {url!r}: use sqlite:///path/to/file.db, sqlite:///:memory: "
        "or bolt://host:7687 (neo4j://host:7687)"
    )
