"""The servers each test process uses when `pytest -n N` runs N of them (tools/test does).

Neo4j tests wipe the graph they use, so each process needs a Neo4j of its own: NEO4J_URIS
names one per process, separated by spaces, and process `gwK` takes the K-th as its
NEO4J_URI (which the CLI subprocesses it starts inherit). The broker's stream is a Redis
key, so each process also takes a Redis database of its own: REDIS_URL's database K."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest


def claim_servers() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return
    index = int(worker.removeprefix("gw"))
    uris = os.environ.get("NEO4J_URIS", "").split()
    if index < len(uris):
        os.environ["NEO4J_URI"] = uris[index]
    elif index > 0 and "NEO4J_URI" in os.environ:
        raise pytest.UsageError(
            f"test process {worker} has no Neo4j of its own: with -n, NEO4J_URIS must name "
            "one Neo4j per process (tools/test starts them), as each wipes the graph it uses"
        )
    redis = os.environ.get("REDIS_URL")
    if redis and urlsplit(redis).path in ("", "/"):
        os.environ["REDIS_URL"] = f"{redis.rstrip('/')}/{index}"
