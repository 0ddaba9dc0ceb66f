"""The server's own pages (GraphiQL at /graphql, the explorer at /explore) and the bundles
they load from /static, over HTTP as a browser fetches them. No page reads the graph, so
one store (SQLite) serves them here; the pages at work in a real browser are tests/browser."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from client import serve

from contactgraph.config import Settings

HTML = {"accept": "text/html,application/xhtml+xml"}
TOKEN = "cgt_page-token"
PAGES = ["/graphql", "/explore"]
BUNDLE = {"/graphql": "graphiql", "/explore": "explore"}  # tools/web/pages/NAME.js


async def client(tmp_path: Path, ide_token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        create=True, graph_url=f"sqlite:///{tmp_path / 'g.db'}", ide_token=ide_token
    )
    async for http in serve(settings):
        http.headers.pop("authorization")  # a browser opening the page has no token
        yield http


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for http in client(tmp_path, None):
        yield http


def page_config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="page-config">(.*?)</script>', html)
    assert found is not None, html
    config: dict[str, object] = json.loads(found[1])
    return config


def bundles(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("path", PAGES)
async def test_the_page_forbids_every_origin_but_its_own(
    site: httpx.AsyncClient, path: str
) -> None:
    nonces = set()
    for _ in range(2):
        page = await site.get(path, headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        header = page.headers["content-security-policy"]
        policy = dict(directive.strip().split(" ", 1) for directive in header.split(";"))
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == policy["connect-src"] == "'self'"
        # GraphiQL's dialogs and Cytoscape add one <style>: it carries this response's nonce
        config = page_config(page.text)
        assert policy["style-src"] == f"'self' 'nonce-{config['styleNonce']}'"
        nonces.add(config["styleNonce"])
        assert "unpkg" not in page.text and "jsdelivr" not in page.text and "http" not in page.text
        assert config["headers"] == {}  # no token off demo mode
    assert len(nonces) == 2


@pytest.mark.parametrize("path", PAGES)
async def test_bundles_are_served_for_good(site: httpx.AsyncClient, path: str) -> None:
    page = await site.get(path, headers=HTML)
    named = bundles(page.text)
    assert {bundle.split("/")[2] for bundle in named} == {BUNDLE[path]}  # its own, no other's
    kinds = {}
    for path in named:
        response = await site.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 1000, path
        kinds[path.rsplit(".", 1)[1]] = response.headers["content-type"].split(";")[0]
    assert kinds["css"] == "text/css"
    assert kinds["txt"] == "text/plain"  # the bundled packages' licenses
    assert kinds["js"] in ("text/javascript", "application/javascript")
    etag = (await site.get(named[0])).headers["etag"]
    assert (await site.get(named[0], headers={"if-none-match": etag})).status_code == 304
    assert (await site.post(named[0])).status_code == 405


async def test_bundles_travel_gzipped_to_clients_that_take_it(site: httpx.AsyncClient) -> None:
    page = await site.get("/graphql", headers=HTML)
    script = next(bundle for bundle in bundles(page.text) if bundle.endswith(".js"))
    plain = await site.get(script, headers={"accept-encoding": "identity"})
    packed = await site.get(script, headers={"accept-encoding": "br;q=1, gzip;q=0.8"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # httpx decodes; the same bytes arrive
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.headers["cache-control"] == plain.headers["cache-control"]
    assert packed.headers["etag"] != plain.headers["etag"]  # one tag per encoding
    again = {"accept-encoding": "gzip", "if-none-match": packed.headers["etag"]}
    assert (await site.get(script, headers=again)).status_code == 304
    stale = {"accept-encoding": "gzip", "if-none-match": plain.headers["etag"]}
    assert (await site.get(script, headers=stale)).status_code == 304  # its copy is good too
    part = await site.get(script, headers={"accept-encoding": "gzip", "range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == plain.content[:100]
    assert "content-encoding" not in part.headers


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/assets.py",  # contactgraph/web/assets.py, next to static/
        "/static/..%2f..%2fapp.py",
        "/static/graphiql/%2e%2e/%2e%2e/page.html",
        "/static/%2fetc%2fpasswd",
        "/static/graphiql/",  # directories are not listed
        "/static/",
        "/static/graphiql/nothing-here.js",
    ],
)
async def test_hostile_paths_find_nothing(site: httpx.AsyncClient, path: str) -> None:
    response = await site.get(path)
    assert response.status_code == 404, path
    assert b"import" not in response.content and b"root:" not in response.content


@pytest.mark.parametrize("path", PAGES)
async def test_the_demo_page_carries_its_token(tmp_path: Path, path: str) -> None:
    async for http in client(tmp_path, TOKEN):
        page = await http.get(path, headers=HTML)
        config = page_config(page.text)
        assert config["headers"] == {"Authorization": f"Bearer {TOKEN}"}


async def test_graphiql_opens_with_a_query(site: httpx.AsyncClient) -> None:
    assert "parties" in str(page_config((await site.get("/graphql", headers=HTML)).text)["query"])


async def test_the_explorer_answers_get_and_head_only(site: httpx.AsyncClient) -> None:
    """It holds no data: any visitor gets it, and it takes nothing (no form, no upload)."""
    page = await site.get("/explore?party=anything", headers={"accept": "*/*"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "anything" not in page.text  # the query string is not read, nor echoed
    head = await site.head("/explore")
    assert head.status_code == 200 and head.content == b""
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        refused = await site.request(method, "/explore", json={"query": "{ viewer { id } }"})
        assert refused.status_code == 405, method
        assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert (await site.get("/explore/", headers=HTML)).status_code in (307, 404)


@pytest.mark.parametrize("path", PAGES)
async def test_a_token_cannot_break_out_of_the_page(tmp_path: Path, path: str) -> None:
    """CONTACTGRAPH_DEMO_TOKEN is the operator's choice: whatever it holds stays data."""
    hostile = 'x</script><script>alert(1)</script><!--"'
    async for http in client(tmp_path, hostile):
        page = await http.get(path, headers=HTML)
        assert page.text.count("</script>") == 2  # the config block's and the bundle's
        assert page_config(page.text)["headers"] == {"Authorization": f"Bearer {hostile}"}
