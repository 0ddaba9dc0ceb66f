"""`contactgraph import --format csv` and `export --format csv` as a nightly sync runs
them, on a real SQLite file and on Neo4j: rows upserted by external id (a second run
writes nothing), a changed row updates its party only, every bad row listed by line and
column with nothing written, and an export read back into an empty graph."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

from client import GraphQL, serve
from test_cli import run

from contactgraph.config import Settings
from contactgraph.graph.csvsync.export import HEADER as EXPORTED

DOCS = Path(__file__).resolve().parents[1] / "docs"
MAPPING = """
source = "sap"
id = "no"

[columns]
kind = "kind"
name = "name"
first_name = "first"
last_name = "last"
category = "category"
emails = "email"
phones = ["phone"]
vat_number = "vat"
country = "country"
tags = "tags"

[parent]
id = "parent"
role = "role"

[[links]]
type = "KNOWS"
other = "knows"
"""
HEADER = "no,kind,name,first,last,category,email,phone,vat,country,tags,parent,role,knows"
ROWS = [
    # a contact before its parent: links are made once every party exists
    "P2,CONTACT,,Ida,Berg,,ida@example.com,+43 664 1234567,,AT,vip;north,O1,CEO,",
    "O1,ORGANIZATION,Acme,,,Commercial client,,,ATU13585627,AT,,,,",
    "O2,ORGANIZATION,Acme Sales,,,,,,,AT,,O1,,",
    "P3,CONTACT,,Max,Muster,private-client,max@example.com,,,,,O2,,P2",
]
PARTIES = """{ parties(first: 50) { edges { node { id displayName version
  externalIds { source key } tags history(first: 20) { edges { node { kind } } }
  relationships { type role fromId toId } } } } }"""


def _files(tmp_path: Path, rows: list[str], name: str = "rows.csv") -> tuple[str, str]:
    mapping, data = tmp_path / "mapping.toml", tmp_path / name
    mapping.write_text(MAPPING)
    data.write_text("\n".join([HEADER, *rows]) + "\n")
    return str(mapping), str(data)


async def _import(url: str, mapping: str, data: str, *extra: str) -> Any:
    return await asyncio.to_thread(
        run, "import", "--format", "csv", "--mapping", mapping, "--graph", url, *extra, data
    )


async def _graph(url: str) -> dict[str, dict[str, Any]]:
    """Every party by its sap key, as GraphQL reads it."""
    async for http in serve(Settings(graph_url=url)):
        found = await GraphQL(http)(PARTIES)
        return {
            node["externalIds"][0]["key"]: node
            for edge in found["parties"]["edges"]
            if (node := edge["node"])["externalIds"]
        }
    raise AssertionError("unreachable")


def _ok(done: Any) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return str(done.stdout)


async def test_a_csv_imports_once_and_a_changed_row_updates_its_party_only(
    graph_url: str, tmp_path: Path
) -> None:
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    mapping, data = _files(tmp_path, ROWS)
    first = _ok(await _import(graph_url, mapping, data))
    assert "4 parties created, 0 updated, 0 unchanged, 4 relationships made" in first
    graph = await _graph(graph_url)
    assert {k: p["displayName"] for k, p in graph.items()} == {
        "P2": "Ida Berg",
        "O1": "Acme",
        "O2": "Acme Sales",
        "P3": "Max Muster",
    }
    assert graph["P2"]["tags"] == ["vip", "north"]
    links = {
        (r["type"], r["role"], r["fromId"], r["toId"])
        for p in graph.values()
        for r in p["relationships"]
    }
    ids = {k: p["id"] for k, p in graph.items()}
    assert links == {
        ("MEMBER_OF", "CEO", ids["P2"], ids["O1"]),
        ("PART_OF", None, ids["O2"], ids["O1"]),
        ("MEMBER_OF", None, ids["P3"], ids["O2"]),
        ("KNOWS", None, ids["P3"], ids["P2"]),
    }

    again = _ok(await _import(graph_url, mapping, data))
    assert "0 parties created, 0 updated, 4 unchanged, 0 relationships made" in again
    assert await _graph(graph_url) == graph  # no version, history entry nor edge more

    changed = [ROWS[0], ROWS[1], ROWS[2].replace("Acme Sales", "Acme Vertrieb"), ROWS[3]]
    mapping, data = _files(tmp_path, changed, "changed.csv")
    third = _ok(await _import(graph_url, mapping, data))
    assert "0 parties created, 1 updated, 3 unchanged, 0 relationships made" in third
    after = await _graph(graph_url)
    assert after["O2"]["displayName"] == "Acme Vertrieb" and after["O2"]["version"] == 2
    assert after["O2"]["history"]["edges"][1:] == graph["O2"]["history"]["edges"]
    assert after["O2"]["history"]["edges"][0]["node"]["kind"] == "UPDATED"
    assert {k: p for k, p in after.items() if k != "O2"} == {
        k: p for k, p in graph.items() if k != "O2"
    }


async def test_a_dry_run_lists_every_bad_row_and_nothing_is_written(
    graph_url: str, tmp_path: Path
) -> None:
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    bad = [
        ROWS[1],  # line 2: good
        "O3,ORGANIZATION,Bad Vat,,,,,,ATU00000000,AT,,,,",  # 3
        "O4,ORGANIZATION,Orphan,,,,,,,AT,,NOPE,,",  # 4
        "O5,ORGANIZATION,Odd Category,,,No such category,,,,AT,,,,",  # 5
        "O1,ORGANIZATION,Acme again,,,,,,,AT,,,,",  # 6
        'O6,ORGANIZATION,"Bro"ken,,,,,,,AT,,,,',  # 7
        "O7,ORGANIZATION,Short,,,",  # 8
        "P9,ROBOT,,A,B,,,,,,,,,",  # 9
        "P8,CONTACT,,Eve,Mail,,not-an-address,,,,,,,",  # 10
    ]
    mapping, data = _files(tmp_path, bad)
    for extra in (["--dry-run"], []):
        done = await _import(graph_url, mapping, data, *extra)
        assert done.returncode == 1, done.stdout
        assert "Traceback" not in done.stderr
        for expected in (
            "line 3, column vat: 'ATU00000000'",
            "line 4, column parent: no party has external id sap:NOPE",
            "line 5, column category: no category is called 'No such category'",
            "line 6, column no: external id sap:O1 is on line 2 already",
            "line 7: malformed line",
            "line 8: 6 columns where the header has 14",
            "line 9, column kind: kind 'ROBOT' is neither",
            "line 10, column email: 'not-an-address'",
            "8 of 9 rows are bad; nothing was written",
        ):
            assert expected in done.stderr, (expected, done.stderr)
        assert "csv: line 2" not in done.stderr
        assert await _graph(graph_url) == {}

    mapping_path = tmp_path / "mapping.toml"
    mapping_path.write_text(MAPPING + "\n[columns.typo]\n")
    wrong = await _import(graph_url, mapping, data, "--dry-run")
    assert wrong.returncode == 1 and "unknown key" in wrong.stderr, wrong.stderr
    mapping_path.write_text(MAPPING.replace('"no"', '"number"'))
    missing = await _import(graph_url, mapping, data, "--dry-run")
    assert missing.returncode == 1 and "the header has no column 'number'" in missing.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + b"\nO1,ORGANIZATION,M\xfcller,,,,,,,AT,,,,\n")
    mapping_path.write_text(MAPPING)
    not_utf8 = await _import(graph_url, mapping, str(latin), "--dry-run")
    assert not_utf8.returncode == 1 and "is not UTF-8 text" in not_utf8.stderr
    assert "Traceback" not in not_utf8.stderr
    no_mapping = await asyncio.to_thread(
        run, "import", "--format", "csv", "--graph", graph_url, data
    )
    assert no_mapping.returncode == 1 and "needs --mapping" in no_mapping.stderr


async def test_an_export_reads_back_into_an_empty_graph(graph_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", source))
    mapping, data = _files(tmp_path, ROWS)
    _ok(await _import(source, mapping, data))
    exported = tmp_path / "parties.csv"
    _ok(await asyncio.to_thread(run, "export", "--format", "csv", "--graph", source, str(exported)))
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert len(rows) == 4 and {r["external_ids"] for r in rows} == {
        f"sap:{k}" for k in ("P2", "O1", "O2", "P3")
    }

    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    back = _ok(await _import(graph_url, str(DOCS / "csv-export-mapping.toml"), str(exported)))
    assert "4 parties created" in back and "3 relationships made" in back  # parents only
    again = await asyncio.to_thread(run, "export", "--format", "csv", "--graph", graph_url)
    copied = list(csv.DictReader(io.StringIO(_ok(again))))
    kept = set(EXPORTED) - {"id", "external_ids", "parent_id", "archived_at"}
    by_name = lambda found: {(r["name"] or r["first_name"]): {k: r[k] for k in kept} for r in found}  # noqa: E731
    assert by_name(copied) == by_name(rows)
    old_ids = {r["id"] for r in rows}
    assert all(f"contactgraph:{r['id']}" not in r["external_ids"] for r in copied)
    assert {
        r["external_ids"].split(";")[0].removeprefix("contactgraph:") for r in copied
    } == old_ids

    orgs = await asyncio.to_thread(
        run,
        "export",
        "--format",
        "csv",
        "--kind",
        "organization",
        "--search",
        "sales",
        "--graph",
        graph_url,
    )
    assert [r["name"] for r in csv.DictReader(io.StringIO(_ok(orgs)))] == ["Acme Sales"]
    taken = await asyncio.to_thread(
        run, "export", "--format", "csv", "--graph", graph_url, str(exported)
    )
    assert taken.returncode == 1 and "exists" in taken.stderr


MERGE = """mutation($s: ID!, $m: ID!) { mergeParties(survivorId: $s, mergedIds: [$m]) {
  survivor { externalIds { key } history(first: 2) { edges { node { kind subjectIds
    fields { field before after } } } } } } }"""
HOLDER = """query($key: String!) { partyByExternalId(source: "sap", key: $key) {
  id displayName externalIds { key } } }"""
UNMERGE = "mutation($id: ID!) { unmergeParty(id: $id) { party { externalIds { key } } } }"


async def test_a_merged_away_partys_key_finds_the_survivor_in_the_next_sync(
    graph_url: str, tmp_path: Path
) -> None:
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    twice = [ROWS[1], "O9,ORGANIZATION,Acme Austria,,,,,,,AT,,,,"]  # one firm, two records
    mapping, data = _files(tmp_path, twice)
    assert "2 parties created" in _ok(await _import(graph_url, mapping, data))
    ids = {k: p["id"] for k, p in (await _graph(graph_url)).items()}
    async for http in serve(Settings(graph_url=graph_url)):
        gql = GraphQL(http)
        merged = (await gql(MERGE, {"s": ids["O1"], "m": ids["O9"]}))["mergeParties"]
        assert merged["survivor"]["externalIds"] == [{"key": "O1"}, {"key": "O9"}]
        # the survivor's own entry (the tombstone's names it too)
        entries = [e["node"] for e in merged["survivor"]["history"]["edges"]]
        entry = next(e for e in entries if e["subjectIds"][0] == ids["O1"])
        assert entry["kind"] == "MERGED"
        taken = {f["field"]: f for f in entry["fields"]}["externalIds"]
        assert [x["key"] for x in taken["after"]] == ["O1", "O9"]

    again = _ok(await _import(graph_url, mapping, data))
    assert "0 parties created, 1 updated, 1 unchanged" in again  # O9's row, on the survivor
    async for http in serve(Settings(graph_url=graph_url)):
        gql = GraphQL(http)
        for key in ("O1", "O9"):
            found = (await gql(HOLDER, {"key": key}))["partyByExternalId"]
            assert found["id"] == ids["O1"] and found["displayName"] == "Acme Austria"
        # unmerged, the party gets back only the keys still free: the survivor keeps O9
        back = (await gql(UNMERGE, {"id": ids["O9"]}))["unmergeParty"]["party"]
        assert back["externalIds"] == []
        assert (await gql(HOLDER, {"key": "O9"}))["partyByExternalId"]["id"] == ids["O1"]


async def test_codes_held_twice_and_cycles_are_bad_rows_and_nothing_is_written(
    graph_url: str, tmp_path: Path
) -> None:
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    stored = [ROWS[1], ROWS[2], "O5,ORGANIZATION,Other,,,,,,ATU13585618,AT,,,,"]
    mapping, data = _files(tmp_path, stored)  # O2 is PART_OF O1
    _ok(await _import(graph_url, mapping, data))
    before = await _graph(graph_url)
    bad = [
        "O1,ORGANIZATION,Acme,,,Commercial client,,,ATU13585627,AT,,O2,,",  # 2: O2 is under O1
        "O3,ORGANIZATION,Copy,,,,,,ATU 135 856 27,AT,,,,",  # 3: O1's VAT number, again
        "O4,ORGANIZATION,Taken,,,,,,ATU13585618,AT,,,,",  # 4: O5 holds it
        "A1,ORGANIZATION,Loop one,,,,,,,AT,,A2,,",  # 5 and 6: a cycle within the file
        "A2,ORGANIZATION,Loop two,,,,,,,AT,,A1,,",
        "O6,ORGANIZATION,Fine,,,,,,ATU13585609,AT,,O1,,",  # 7: good
    ]
    mapping, data = _files(tmp_path, bad, "bad.csv")
    for extra in (["--dry-run"], []):
        done = await _import(graph_url, mapping, data, *extra)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        for expected in (
            "line 2, column parent: PART_OF to sap:O2 would close a cycle",
            "line 3, column vat: VAT number is on line 2 already",
            f"line 4, column vat: VAT number is held by party {before['O5']['id']} already",
            "line 5, column parent: PART_OF to sap:A2 would close a cycle",
            "line 6, column parent: PART_OF to sap:A1 would close a cycle",
            "5 of 6 rows are bad; nothing was written",
        ):
            assert expected in done.stderr, (expected, done.stderr)
        assert "line 7" not in done.stderr
        assert await _graph(graph_url) == before


TREE = """query($key: String!) { partyByExternalId(source: "sap", key: $key) {
  descendants(first: 50) { totalCount edges { node { depth party { displayName } } } }
  ancestors { displayName } } }"""


async def test_a_hierarchy_given_leaves_first_is_linked_whole(
    graph_url: str, tmp_path: Path
) -> None:
    """Parties are created and linked in the order of the file's hierarchy, not the
    file's: each level and its closure still come out right, under a parent the graph
    holds too."""
    _ok(await asyncio.to_thread(run, "migrate", "--create", "--graph", graph_url))
    mapping, data = _files(tmp_path, [ROWS[1]])
    _ok(await _import(graph_url, mapping, data))  # O1, held before the run below
    rows = [
        "P9,CONTACT,,Eva,Low,,,,,AT,,D4,,",
        "D4,ORGANIZATION,Four,,,,,,,AT,,D3,,",
        "P8,CONTACT,,Ben,Mid,,,,,AT,,D2,,",
        "D3,ORGANIZATION,Three,,,,,,,AT,,D2,,",
        "E1,ORGANIZATION,Else,,,,,,,AT,,,,",
        "D2,ORGANIZATION,Two,,,,,,,AT,,O1,,",
        "P7,CONTACT,,Ida,Else,,,,,AT,,E1,,",
    ]
    mapping, data = _files(tmp_path, rows, "tree.csv")
    assert "7 parties created, 0 updated, 0 unchanged, 6 relationships made" in _ok(
        await _import(graph_url, mapping, data)
    )
    async for http in serve(Settings(graph_url=graph_url)):
        gql = GraphQL(http)
        top = (await gql(TREE, {"key": "O1"}))["partyByExternalId"]
        below = {
            (e["node"]["depth"], e["node"]["party"]["displayName"])
            for e in top["descendants"]["edges"]
        }
        assert top["descendants"]["totalCount"] == 5
        assert below == {(1, "Two"), (2, "Three"), (2, "Ben Mid"), (3, "Four"), (4, "Eva Low")}
        leaf = (await gql(TREE, {"key": "P9"}))["partyByExternalId"]
        assert [p["displayName"] for p in leaf["ancestors"]] == ["Four", "Three", "Two", "Acme"]
        other = (await gql(TREE, {"key": "E1"}))["partyByExternalId"]
        assert other["descendants"]["totalCount"] == 1
