"""The embedded store's file: made only when asked, watched while served, migrated by one
process at a time."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
from client import GraphQL, serve
from downgrades import BEFORE_23
from factories import contact
from test_cli import CLI, free_port, run
from test_neo4j_server import DEMO_TOKEN, stop
from test_neo4j_server import serve as serve_process

from contactgraph.config import Settings
from contactgraph.graph.sqlite.schema import MIGRATIONS, migrate


def test_a_missing_database_is_made_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    url = f"sqlite:///{path}"
    refused = run("serve", "--graph", url, "--port", str(free_port()))
    assert refused.returncode != 0
    assert "--create" in refused.stderr and str(path) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not path.exists()

    made = run("migrate", "--graph", url, "--create")
    assert made.returncode == 0, made.stderr
    assert "created a new, empty database" in made.stderr
    again = run("migrate", "--graph", url)
    assert again.returncode == 0 and "created" not in again.stderr


def test_processes_migrating_one_new_file_together_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    runs = [
        subprocess.Popen(
            [*CLI, "migrate", "--graph", url, "--create"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in runs:
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors
    with sqlite3.connect(tmp_path / "graph.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM categories").fetchone()[0] == 7


async def test_a_deleted_or_replaced_file_fails_writes_and_readiness(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    spare = tmp_path / "spare.db"
    settings = Settings(create=True, graph_url=f"sqlite:///{path}")
    async for http in serve(settings):
        gql = GraphQL(http)
        await contact(gql, "Ada", "Lovelace")
        shutil.copy(path, spare)
        assert (await http.get("/readyz")).status_code == 200

        os.remove(path)
        error = await gql.error('mutation { createContact(input: {firstName: "Bea"}) { id } }')
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "deleted" in error["message"]
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and "deleted" in ready.json()["reason"]

        os.replace(spare, path)  # another file now sits at the path
        error = await gql.error('mutation { createContact(input: {firstName: "Cy"}) { id } }')
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "replaced" in error["message"]
        assert (await http.get("/readyz")).status_code == 503

    # a restart opens what is at the path now, which holds only what was there before
    async for http in serve(Settings(graph_url=f"sqlite:///{path}")):
        data = await GraphQL(http)(
            "{ parties(filter: {kinds: [CONTACT]}) { edges { node { displayName } } } }"
        )
        assert [e["node"]["displayName"] for e in data["parties"]["edges"]] == ["Ada Lovelace"]


COUNTED = '{ parties(first: 1) { totalCount } late: parties(search: "Late Ltd") { totalCount } }'
LATE = 'mutation { createOrganization(input: {name: "Late Ltd"}) { id } }'


async def counted(path: Path) -> Any:
    """The graph in the file at `path`, served in-process: its parties and "Late Ltd"."""
    found = None
    async for http in serve(Settings(graph_url=f"sqlite:///{path}")):
        found = await GraphQL(http)(COUNTED)
    return found


def test_after_a_clean_stop_the_file_alone_holds_the_graph(tmp_path: Path) -> None:
    """A seed and a served session end with every page in the database file: a copy of
    that one file (no -wal beside it) is the whole graph."""
    path = tmp_path / "graph.db"
    log = Path(f"{path}-wal")
    url = f"sqlite:///{path}"
    assert run("seed", "--demo", "--graph", url).returncode == 0
    assert not log.exists()
    server, base = serve_process(url, "--demo")
    try:  # a write while served, kept in the log until the stop
        made = httpx.post(
            f"{base}/graphql",
            json={"query": LATE},
            headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        ).json()
        assert "errors" not in made, made
        assert log.exists()
    finally:
        assert "Traceback" not in stop(server)
    assert not log.exists()

    copy = tmp_path / "copy" / "graph.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    in_copy, in_original = (asyncio.run(counted(served)) for served in (copy, path))
    assert in_copy["late"]["totalCount"] == 1
    assert in_copy == in_original


def test_backup_copies_a_served_graph_into_a_new_file(tmp_path: Path) -> None:
    path, copy = tmp_path / "graph.db", tmp_path / "copy.db"
    url = f"sqlite:///{path}"
    assert run("seed", "--demo", "--graph", url).returncode == 0
    server, base = serve_process(url, "--demo")
    try:  # taken while served, with a write still in the log
        made = httpx.post(
            f"{base}/graphql",
            json={"query": LATE},
            headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        ).json()
        assert "errors" not in made, made
        taken = run("backup", "--graph", url, str(copy))
        assert taken.returncode == 0, taken.stderr
        assert "backed up" in taken.stdout
        again = run("backup", "--graph", url, str(copy))
        assert again.returncode == 1 and "exists" in again.stderr
    finally:
        assert "Traceback" not in stop(server)
    for refused, reason in (
        (
            run("backup", "--graph", "bolt://127.0.0.1:1", str(tmp_path / "n.db")),
            "cannot use Neo4j",
        ),
        (run("backup", "--graph", f"sqlite:///{tmp_path / 'none.db'}", "x.db"), "no database"),
        (run("backup", "--graph", url, str(tmp_path / "no" / "x.db")), "does not exist"),
    ):
        assert refused.returncode == 1 and reason in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "graph.db"]

    in_copy, in_original = (asyncio.run(counted(served)) for served in (copy, path))
    assert in_copy["late"]["totalCount"] == 1
    assert in_copy == in_original


def test_exports_leave_the_file_as_it_was(tmp_path: Path) -> None:
    """An export opens the file read-only: no migration, optimization or checkpoint
    touches it, and a file of an older schema is refused with what to do."""
    path = tmp_path / "graph.db"
    url = f"sqlite:///{path}"
    made = run("migrate", "--graph", url, "--create")
    assert made.returncode == 0, made.stderr
    # a write still in the log, as while a server runs: a checkpoint would copy it in
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO meta (key, value) VALUES ('export-probe', '1')")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    try:
        for form in ("jsonl", "csv", "vcard"):
            out = str(tmp_path / f"out.{form}")
            done = run("export", "--format", form, "--graph", url, out)
            assert done.returncode == 0, done.stderr
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    finally:
        writer.close()
    assert (tmp_path / "out.jsonl").read_text().startswith('{"type":"header"')

    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    older = run("export", "--graph", url, str(tmp_path / "older.jsonl"))
    assert older.returncode != 0 and "Traceback" not in older.stderr
    assert "contactgraph migrate" in older.stderr
    assert not (tmp_path / "older.jsonl").exists()


PAGES = """query($id: ID!, $after: String) { party(id: $id) {
  descendants(first: 3, after: $after) { pageInfo { hasNextPage endCursor }
  edges { node { depth party { id } } } } } }"""


async def _descendant_pages(url: str) -> list[list[tuple[int, str]]]:
    """The demo's largest company's descendants, three to a page, as depth and id; the
    server closed after them (closing optimizes the file)."""
    pages: list[list[tuple[int, str]]] = []
    async for http in serve(Settings(create=True, graph_url=url, demo=True)):
        gql = GraphQL(http)
        found = await gql(
            '{ parties(search: "Nordwind Logistics", first: 1) { edges { node { id } } } }'
        )
        root, after, more = found["parties"]["edges"][0]["node"]["id"], None, True
        while more:
            page = (await gql(PAGES, {"id": root, "after": after}))["party"]["descendants"]
            pages.append([(e["node"]["depth"], e["node"]["party"]["id"]) for e in page["edges"]])
            more, after = page["pageInfo"]["hasNextPage"], page["pageInfo"]["endCursor"]
    return pages


def _page_plan(path: Path) -> str:
    """SQLite's plan for the closure range of a descendants page after a cursor, as
    graph/sqlite/closure_pages.py asks it."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT DISTINCT r.descendant_id, r.depth FROM hierarchy_reach r "
            "WHERE r.ancestor_id = :root AND r.depth BETWEEN max(:depth, 1) AND 20 "
            "AND r.since <= :at AND r.until > :at AND (r.depth, r.descendant_id) > (:depth, :id) "
            "ORDER BY r.depth, r.descendant_id LIMIT 4",
            {"root": "a", "depth": 1, "id": "b", "at": "2026-01-01T00:00:00.000000+00:00"},
        ).fetchall()
    return rows[0][3]


async def test_an_upgraded_file_pages_descendants_from_the_closure_index_alone(
    tmp_path: Path,
) -> None:
    """Migration 23 makes the closure's downward index cover a page's rows (`until` in it)
    and gives it statistics, so a page after a cursor is one seek of the index and no row
    of the table; the pages answer as before the upgrade."""
    path = tmp_path / "graph.db"
    url = f"sqlite:///{path}"
    pages = await _descendant_pages(url)
    assert len(pages) > 2
    plan = _page_plan(path)
    assert "COVERING INDEX hierarchy_reach_down" in plan, plan
    assert "(depth,descendant_id)>(?,?)" in plan, plan

    with sqlite3.connect(path) as conn:
        conn.executescript(f"{BEFORE_23} PRAGMA user_version = {len(MIGRATIONS) - 1};")
    assert "COVERING" not in _page_plan(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate(conn)  # as a server starting on the file does, which optimizes only on closing
    plan = _page_plan(path)
    assert "COVERING INDEX hierarchy_reach_down" in plan, plan
    assert "(depth,descendant_id)>(?,?)" in plan, plan
    assert await _descendant_pages(url) == pages
