"""The explorer (/explore) in headless Chromium against `contactgraph serve --demo`: a
visitor finds a party by name and sees its org tree as of a date, its network, a path to
another party and its timeline growing live, all read from the public API with the
demo's token and nothing from anywhere else; on a server that is not the demo's, the page
asks for a token and says plainly why a bad one is refused.

With CONTACTGRAPH_SCREENSHOTS=DIR each view is saved as DIR/explore-*.png (the README's
are docs/screenshots, written by a run with CONTACTGRAPH_SCREENSHOTS=docs/screenshots).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from browsing import Visit, ask, assert_offline, party_id
from factories import RECORD
from playwright.sync_api import Locator, Page, Request, expect
from test_cli import DEMO_TOKEN, run, serving

SCREENSHOTS = os.environ.get("CONTACTGRAPH_SCREENSHOTS")


@pytest.fixture(scope="module")
def demo(module_graph_url: str) -> Iterator[str]:
    """One `serve --demo` for the module on each store: only the timeline's test writes,
    one activity."""
    env = {"CONTACTGRAPH_DEMO_TOKEN": DEMO_TOKEN}
    with serving(module_graph_url, "--demo", env=env) as served:
        yield served.url


def keep(page: Page, view: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/explore-{view}.png", full_page=True)


def explore(visit: Visit, server: str, name: str) -> Page:
    """Open the explorer, type `name` into its search and take the first match with Enter."""
    visit.page.set_viewport_size({"width": 1440, "height": 900})
    visit.goto(f"{server}/explore")
    search = visit.page.get_by_label("Find a party")
    search.fill(name)
    search.press("Enter")
    expect(visit.page.locator("#party-name")).to_contain_text(name)
    return visit.page


def unit(page: Page, party: str) -> Locator:
    """The tree's item of `party`, with everything shown below it."""
    return page.locator(f'.tree li:has(> details > summary [data-id="{party}"])')


def reads(visit: Visit, operation: str) -> list[dict]:
    """The variables of every `operation` the page sent."""
    sent = [json.loads(request.post_data or "{}") for request in visit.api_requests]
    return [s["variables"] for s in sent if s["query"].startswith(f"query {operation}(")]


def assert_clean(visit: Visit) -> None:
    assert_offline(visit)
    assert visit.crashes == []


def test_the_tree_shows_branches_and_departments(visit: Visit, demo: str) -> None:
    page = explore(visit, demo, "Nordwind Logistics AG")
    hamburg, munich = party_id(demo, "Nordwind Hamburg"), party_id(demo, "Nordwind Munich")
    tree = page.locator(".tree")
    expect(unit(page, hamburg)).to_contain_text("Fleet Management")
    expect(unit(page, hamburg)).to_contain_text("Customer Service")
    expect(unit(page, munich)).to_contain_text("Warehouse Operations")
    expect(unit(page, munich)).to_contain_text("Procurement")
    expect(tree).not_to_contain_text("Procurement Lead")  # a position: the third level
    page.get_by_role("button", name="Expand a level").click()
    expect(page.locator("#tree-levels")).to_have_text("3")
    expect(unit(page, munich)).to_contain_text("Procurement Lead")
    expect(unit(page, hamburg)).to_contain_text("Head of Fleet")
    keep(page, "tree")
    page.get_by_role("button", name="Collapse a level").click()
    page.get_by_role("button", name="Collapse a level").click()
    expect(page.locator("#tree-levels")).to_have_text("1")
    expect(tree).to_contain_text("Nordwind Munich")
    expect(tree).not_to_contain_text("Warehouse Operations")
    assert {r["asOf"] is not None for r in reads(visit, "Tree")} == {True}
    assert {h["authorization"] for h in headers(visit)} == {f"Bearer {DEMO_TOKEN}"}
    assert_clean(visit)


def headers(visit: Visit) -> Iterator[dict[str, str]]:
    return (request.all_headers() for request in visit.api_requests)


def test_the_date_slider_moves_procurement_back_to_hamburg(visit: Visit, demo: str) -> None:
    page = explore(visit, demo, "Nordwind Logistics AG")
    hamburg, munich = party_id(demo, "Nordwind Hamburg"), party_id(demo, "Nordwind Munich")
    expect(unit(page, munich)).to_contain_text("Procurement")
    expect(unit(page, hamburg)).not_to_contain_text("Procurement")
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date()
    page.get_by_label("As of, the date").fill(year_ago.isoformat())
    expect(unit(page, hamburg)).to_contain_text("Procurement")
    expect(unit(page, munich)).not_to_contain_text("Procurement")
    expect(page.get_by_label("As of", exact=True)).to_have_attribute(
        "aria-valuetext", f"{year_ago.isoformat()}, 365 days ago"
    )
    keep(page, "tree-a-year-ago")
    # every read of the views went out as of that day
    for operation in ("Tree", "Network", "Timeline"):
        assert reads(visit, operation)[-1]["asOf"].startswith(year_ago.isoformat()), operation
    # and the timeline ends then
    until = reads(visit, "Timeline")[-1]["until"]
    assert until == reads(visit, "Timeline")[-1]["asOf"]
    query = """query($id: ID!, $until: DateTime) { party(id: $id) {
        timeline(first: 1, includeDescendants: true, asOf: $until, until: $until) {
            edges { node { occurredAt } } } } }"""
    nordwind = party_id(demo, "Nordwind Logistics AG")
    then = ask(demo, query, {"id": nordwind, "until": until})["party"]["timeline"]["edges"]
    newest = page.locator("ol.timeline > li time").first
    expect(newest).to_have_attribute("datetime", then[0]["node"]["occurredAt"])
    # the slider by keyboard: End is today, where Procurement is in Munich again
    page.get_by_label("As of", exact=True).press("End")
    expect(unit(page, munich)).to_contain_text("Procurement")
    expect(unit(page, hamburg)).not_to_contain_text("Procurement")
    # Home is the oldest relationship's day, before Munich was part of the company
    page.get_by_label("As of", exact=True).press("Home")
    expect(unit(page, hamburg)).to_contain_text("Procurement")
    expect(page.locator(".tree")).not_to_contain_text("Nordwind Munich")
    assert_clean(visit)


def test_the_network_of_miriam_shows_her_two_employers(visit: Visit, demo: str) -> None:
    page = explore(visit, demo, "Miriam Brandt")
    edges = page.locator(".edges")
    expect(edges).to_contain_text("Warehouse Operations — EMPLOYS (Warehouse Manager) since")
    expect(edges).to_contain_text("Procurement — EMPLOYS (Deputy Procurement Lead) since")
    expect(page.locator(".graph canvas").first).to_be_visible()
    expect(page.locator(".legend")).to_contain_text("RESPONSIBLE_FOR")
    above = page.locator(".tree .above")  # where she sits, nearest first
    expect(above).to_have_text(
        re.compile(
            r"^Part of: (Warehouse Operations|Procurement), (Procurement|Warehouse Operations)"
        )
    )
    expect(above).to_contain_text("Nordwind Munich")
    expect(above).to_contain_text("Nordwind Logistics AG")
    keep(page, "network")
    # a relationship type left out of the filter leaves the network
    page.get_by_role("checkbox", name="EMPLOYS").uncheck()
    expect(edges).not_to_contain_text("EMPLOYS")
    expect(edges).to_contain_text("REPORTS_TO")
    assert "EMPLOYS" not in reads(visit, "Network")[-1]["types"]
    page.get_by_role("checkbox", name="EMPLOYS").check()
    expect(edges).to_contain_text("PART_OF")  # the units above her employers
    page.get_by_label("Depth").select_option("1")
    expect(edges).not_to_contain_text("PART_OF")
    expect(edges).to_contain_text("Procurement — EMPLOYS")
    assert reads(visit, "Network")[-1]["depth"] == 1
    # a party clicked in the graph, or its name in the list, is explored instead
    click_node(page, "Procurement")
    expect(page.locator("#party-name")).to_have_text("Procurement (department)")
    expect(edges).to_contain_text("Procurement — EMPLOYS (Deputy Procurement Lead)")
    edges.get_by_role("button", name="Nordwind Munich").first.click()
    expect(page.locator("#party-name")).to_have_text("Nordwind Munich (branch)")
    expect(edges).to_contain_text("Warehouse Operations — PART_OF since")
    assert_clean(visit)


# the page's graph as Cytoscape registers it on its container
GRAPH = "document.querySelector('.graph')._cyreg.cy"


def test_edges_are_drawn_in_their_types_colours(visit: Visit, demo: str) -> None:
    page = explore(visit, demo, "Miriam Brandt")
    expect(page.locator(".edges")).to_contain_text("REPORTS_TO")
    drawn = page.evaluate(
        f"""() => Object.fromEntries({GRAPH}.edges().map(
            (edge) => [edge.data("type"), edge.style("line-color").replaceAll(" ", "")]))"""
    )
    legend = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(".legend label")].map(
            (label) => [label.textContent.trim(), getComputedStyle(
                label.querySelector(".swatch")).backgroundColor.replaceAll(" ", "")]))"""
    )
    assert {"EMPLOYS", "REPORTS_TO", "PART_OF"} <= drawn.keys()
    for relationship_type, colour in drawn.items():
        assert legend[relationship_type] == colour, relationship_type
    assert len(set(legend.values())) == len(legend) == 7  # one colour per type
    assert_clean(visit)


def click_node(page: Page, name: str) -> None:
    """Click the party named `name` where the graph drew it, as a visitor would."""
    graph = page.locator(".graph").bounding_box()
    assert graph is not None
    node = f"{GRAPH}.nodes().filter((n) => n.data('label') === name)"
    page.wait_for_function(f"name => {node}.length === 1", arg=name)
    at = page.evaluate(f"name => {node}[0].renderedPosition()", name)
    page.mouse.click(graph["x"] + at["x"], graph["y"] + at["y"])


PATH = """query($a: ID!, $b: ID!, $asOf: DateTime) {
    path(fromId: $a, toId: $b, asOf: $asOf) { length nodes { displayName } } }"""


def marked(page: Page) -> list[str]:
    """The parties the graph marks as on the path."""
    return page.evaluate(f"() => {GRAPH}.nodes('.path').map((node) => node.data('label'))")


def as_of_day(page: Page, days_ago: int) -> str:
    """Type the day `days_ago` days back into the date field; return it once the page's
    path to the other party was read as of that day."""
    day = (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()

    def asked(request: Request) -> bool:
        sent = json.loads(request.post_data or "{}")
        path = sent.get("query", "").startswith("query Path(")
        return path and sent["variables"]["asOf"].startswith(day)

    with page.expect_request_finished(asked):
        page.get_by_label("As of, the date").fill(day)
    return day


def test_the_path_between_two_parties_is_shown(visit: Visit, demo: str) -> None:
    sofia, walter = party_id(demo, "Sofia Marino"), party_id(demo, "Walter Krämer")
    path = ask(demo, PATH, {"a": sofia, "b": walter})["path"]
    assert path["length"] >= 2
    page = explore(visit, demo, "Sofia Marino")
    target = page.get_by_label("Path to")
    target.fill("Walter Krämer")  # the matches come as the visitor types; by keyboard:
    expect(page.locator("#path-to-matches button").first).to_contain_text("Walter Krämer")
    target.press("ArrowDown")
    expect(page.locator("#path-to-matches button").first).to_be_focused()
    page.keyboard.press("Enter")
    steps = page.locator("ol.path > li")
    expect(steps).to_have_count(len(path["nodes"]))
    for step, node in zip(steps.all(), path["nodes"], strict=True):
        expect(step).to_contain_text(node["displayName"])
    expect(page.get_by_text(f"{path['length']} steps:")).to_be_visible()
    names = [node["displayName"] for node in path["nodes"]]
    assert sorted(marked(page)) == sorted(names)
    keep(page, "path")
    # as of another day the path is found again (Stefan knows Nina only since the demo was
    # loaded): marked again once the network is redrawn, or said to be none
    month_ago = as_of_day(page, 30)
    then = ask(demo, PATH, {"a": sofia, "b": walter, "asOf": reads(visit, "Path")[-1]["asOf"]})
    names = [node["displayName"] for node in then["path"]["nodes"]]
    assert "Nina Vogel" not in names
    expect(steps).to_have_count(len(names))
    expect(steps.nth(1)).to_contain_text(names[1])
    page.wait_for_function(f"() => {GRAPH}.nodes('.path').length === {len(names)}")
    assert sorted(marked(page)) == sorted(names)
    assert reads(visit, "Path")[-1]["asOf"].startswith(month_ago)
    as_of_day(page, 365)  # before Walter Krämer's heirs were entered
    expect(page.get_by_text("No path joins them on that date.")).to_be_visible()
    expect(steps).to_have_count(0)
    assert marked(page) == []
    assert_clean(visit)


def test_a_recorded_activity_appears_in_the_open_timeline(visit: Visit, demo: str) -> None:
    page = explore(visit, demo, "Nordwind Logistics AG")
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(20)
    page.get_by_role("button", name="More").click()
    expect(timeline).to_have_count(40)
    deadline = time.monotonic() + 15
    while httpx.get(f"{demo}/healthz").json()["subscribers"] != 1:
        assert time.monotonic() < deadline, "the page's subscription never reached the server"
        time.sleep(0.05)
    activity = {
        "type": "MEETING",
        "summary": "Met Procurement about the explorer",
        "authorId": party_id(demo, "Anna Keller"),
        "subjectIds": [party_id(demo, "Procurement")],  # two levels below the company
    }
    ask(demo, RECORD, {"input": activity})
    entry = timeline.filter(has_text="Met Procurement about the explorer")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Procurement")
    expect(timeline).to_have_count(41)
    # in its place by time: after the week of planned work ahead, before the past
    times = timeline.evaluate_all("items => items.map(item => item.dataset.at)")
    assert times == sorted(times, reverse=True)
    keep(page, "timeline")
    assert visit.sockets == [demo.replace("http", "ws", 1) + "/graphql"]
    init = json.loads(visit.sent_frames[0])
    assert init == {"type": "connection_init", "payload": {"Authorization": f"Bearer {DEMO_TOKEN}"}}
    assert_clean(visit)


def test_without_a_token_the_page_asks_for_one(visit: Visit, plain_server: str) -> None:
    page = visit.page
    visit.goto(f"{plain_server}/explore")
    token = page.get_by_label("API token")
    expect(token).to_be_focused()
    assert visit.api_requests == []  # nothing is asked before there is a token
    for unsendable in ("", "two words", "cgt_ünïcode"):  # not a header value: not sent
        token.fill(unsendable)
        token.press("Enter")
        assert token.evaluate("input => !input.validity.valid")
    assert visit.api_requests == []
    assert page.evaluate("() => sessionStorage.length") == 0
    token.fill("cgt_not-a-token")
    token.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("UNAUTHENTICATED")
    expect(page.get_by_label("API token")).to_be_visible()
    sent = {request.all_headers().get("authorization") for request in visit.api_requests}
    assert sent == {"Bearer cgt_not-a-token"}
    keep(page, "token")
    assert_clean(visit)


def test_a_token_given_signs_the_tab_in_until_it_signs_out(
    visit: Visit, plain_server: str, tmp_path: Path
) -> None:
    graph = {"CONTACTGRAPH_GRAPH": f"sqlite:///{tmp_path / 'plain.db'}"}  # plain_server's
    assert run("user", "create", "rita", "--role", "reader", env=graph).returncode == 0
    secret = run("token", "create", "--user", "rita", env=graph).stdout.strip()
    page = visit.page
    visit.goto(f"{plain_server}/explore")
    sign_in(page, "rita", secret)
    search = page.get_by_label("Find a party")
    search.fill("rita")
    search.press("Enter")
    expect(page.locator("#party-name")).to_have_text("rita (user)")
    expect(page.locator(".timeline")).to_be_attached()
    page.reload()  # the tab keeps the token
    expect(page.get_by_text("Signed in as rita")).to_be_visible()
    expect(page.locator("#party-name")).to_have_text("rita (user)")  # the address names her
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_focused()
    assert page.evaluate("() => sessionStorage.length") == 0
    sent = {request.all_headers().get("authorization") for request in visit.api_requests}
    assert sent == {f"Bearer {secret}"}
    assert_clean(visit)


def test_an_address_naming_no_party_says_so(visit: Visit, demo: str) -> None:
    for named in ("01a20fb4-0000-7000-8000-000000000000", "not-an-id", "%3Cscript%3E"):
        visit.goto(f"{demo}/explore#{named}")
        expect(visit.page.get_by_role("alert")).not_to_be_empty()
        expect(visit.page.locator("main")).to_be_hidden()
        expect(visit.page.get_by_label("Find a party")).to_be_visible()
    assert_clean(visit)


def user(graph: dict[str, str], name: str, *roles: str) -> str:
    """A token of a new user `name` holding `roles` (options of `user create`)."""
    assert run("user", "create", name, *roles, env=graph).returncode == 0
    return run("token", "create", "--user", name, env=graph).stdout.strip()


def sign_in(page: Page, name: str, secret: str) -> None:
    page.get_by_label("API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def test_the_page_shows_only_what_the_token_may_read(visit: Visit, tmp_path: Path) -> None:
    database = tmp_path / "scoped.db"
    graph = {"CONTACTGRAPH_GRAPH": f"sqlite:///{database}", "CONTACTGRAPH_CREATE": "1"}
    assert run("seed", "--demo", env=graph).returncode == 0
    boss = {"Authorization": f"Bearer {user(graph, 'boss', '--role', 'admin')}"}
    with serving(database) as served:  # the demo's graph, but no demo token in the page
        munich = party_id(served.url, "Nordwind Munich", boss)
        reader = user(graph, "rob", "--role", "reader", "--scope", munich)
        page = visit.page
        visit.goto(f"{served.url}/explore")
        sign_in(page, "rob", reader)
        search = page.get_by_label("Find a party")
        search.fill("Nordwind")
        matches = page.locator("#find-matches")
        expect(matches).to_contain_text("Nordwind Munich")
        expect(matches).not_to_contain_text("Nordwind Logistics AG")  # above his scope
        expect(matches).not_to_contain_text("Nordwind Hamburg")  # beside it
        search.press("Enter")
        expect(page.locator("#party-name")).to_have_text("Nordwind Munich (branch)")
        expect(page.locator(".tree")).to_contain_text("Procurement")
        expect(page.locator(".edges")).to_contain_text("Warehouse Operations")
        expect(page.locator(".edges")).not_to_contain_text("Nordwind Logistics AG")
        # a user without READ is told so, plainly, by the server's own words
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "fiona", user(graph, "fiona", "--role", "fiscal"))
        page.get_by_label("Find a party").fill("Nordwind")
        expect(page.get_by_role("alert")).to_have_text(
            "FORBIDDEN: reading the graph needs the READ permission"
        )
        assert_clean(visit)
