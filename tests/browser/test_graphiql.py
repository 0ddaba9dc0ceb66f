"""GraphiQL in headless Chromium against `contactgraph serve`: the page loads nothing but
what its server ships, runs what a user types, signs the demo's visitor in over HTTP and
WebSocket, and shows an anonymous visitor of any other server why nothing is answered."""

from __future__ import annotations

import json
import time

import httpx
from browsing import Visit, ask, assert_offline, party_id
from factories import RECORD
from playwright.sync_api import expect
from test_cli import DEMO_TOKEN

QUERY = "{ parties(first: 3) { edges { node { displayName } } } }"
BEARER = f"Bearer {DEMO_TOKEN}"


def test_the_demo_page_runs_a_typed_query(visit: Visit, demo_server: str) -> None:
    names = [edge["node"]["displayName"] for edge in ask(demo_server, QUERY)["parties"]["edges"]]
    assert len(names) == 3
    visit.open(f"{demo_server}/graphql")
    result = visit.run(QUERY)
    for name in names:
        expect(result).to_contain_text(name)
    ran = [r for r in visit.api_requests if json.loads(r.post_data or "{}").get("query") == QUERY]
    assert len(ran) == 1
    # the schema's introspection and the query: every request carried the demo's token
    assert len(visit.api_requests) >= 2
    assert {r.all_headers().get("authorization") for r in visit.api_requests} == {BEARER}
    # a dialog adds an inline <style> while open: the page's nonce lets it (and only it) in
    visit.page.get_by_role("button", name="Open settings dialog").click()
    expect(visit.page.get_by_role("dialog")).to_contain_text("Settings")
    assert_offline(visit)


def test_the_demo_page_subscribes_over_its_websocket(demo_server: str, visit: Visit) -> None:
    company = party_id(demo_server, "Nordwind Logistics AG")
    author = party_id(demo_server, "Anna Keller")
    visit.open(f"{demo_server}/graphql")
    result = visit.run(f'subscription {{ activityAdded(subjectId: "{company}") {{ summary }} }}')
    deadline = time.monotonic() + 15
    while httpx.get(f"{demo_server}/healthz").json()["subscribers"] != 1:
        assert time.monotonic() < deadline, "the page's subscription never reached the server"
        time.sleep(0.05)
    activity = {
        "type": "CALL",
        "summary": "Called from GraphiQL's test",
        "authorId": author,
        "subjectIds": [company],
        "occurredAt": "2025-06-01T09:00:00Z",
    }
    ask(demo_server, RECORD, {"input": activity})
    expect(result).to_contain_text("Called from GraphiQL's test")
    assert visit.sockets == [demo_server.replace("http", "ws", 1) + "/graphql"]
    messages = [json.loads(frame) for frame in visit.sent_frames]
    assert messages[0] == {"type": "connection_init", "payload": {"Authorization": BEARER}}
    assert messages[1]["type"] == "subscribe"
    assert_offline(visit)


def test_without_a_token_the_page_shows_unauthenticated(plain_server: str, visit: Visit) -> None:
    visit.open(f"{plain_server}/graphql")
    result = visit.run(QUERY)
    expect(result).to_contain_text("UNAUTHENTICATED")
    assert visit.api_requests
    assert all("authorization" not in r.all_headers() for r in visit.api_requests)
    assert_offline(visit)
