"""A page in the browser, watched: what it asked of its server and of anything else; and
the API asked directly, for what the page must show."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import ConsoleMessage, Locator, Page, Request, Route, WebSocket
from test_cli import SIGNED_IN


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Visit:
    """A page in a fresh browser context (nothing GraphiQL kept for another test, tabs or
    headers, is there), and what it did: requests to the API, frames sent over its
    WebSockets, anything it tried to load from another origin (refused here), and what
    its Content-Security-Policy refused, and the errors its scripts left uncaught."""

    page: Page
    origin: str = ""
    api_requests: list[Request] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    sent_frames: list[str | bytes] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.context.route("**/*", self._route)
        self.page.on("request", self._request)
        self.page.on("websocket", self._socket)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.crashes.append(str(error)))

    def goto(self, url: str) -> None:
        """Open the page at `url`: its origin is the one it may reach."""
        self.origin = _origin(url)
        self.page.goto(url)

    def open(self, url: str) -> None:
        """Open GraphiQL at `url` and wait until it can run a query."""
        self.goto(url)
        self.page.locator(".graphiql-execute-button").wait_for()

    def run(self, query: str) -> Locator:
        """Put `query` into GraphiQL's editor and run it with Ctrl-Enter, as a user does;
        the result pane, for `expect` to wait on."""
        self.page.locator(".graphiql-query-editor .CodeMirror").click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(query)
        # GraphiQL reads what was typed (is it a subscription?) 100 ms after the last key,
        # then keeps it in localStorage: a user is never faster, a test can be
        self.page.wait_for_function("q => localStorage.getItem('graphiql:query') === q", arg=query)
        self.page.keyboard.press("Control+Enter")
        return self.page.locator(".result-window")

    def _route(self, route: Route) -> None:
        if _origin(route.request.url) == self.origin:
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def _request(self, request: Request) -> None:
        if urlsplit(request.url).path == "/graphql" and request.method == "POST":
            self.api_requests.append(request)

    def _socket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        socket.on("framesent", self._sent)

    def _sent(self, frame: str | bytes) -> None:
        self.sent_frames.append(frame)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.refused.append(message.text)


def ask(
    server: str,
    query: str,
    variables: dict[str, object] | None = None,
    headers: dict[str, str] = SIGNED_IN,
) -> dict:
    """`query`'s data, asked over HTTP (with the demo's token unless `headers` say
    otherwise): what the page must show."""
    answer = httpx.post(
        f"{server}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=10,
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]


def party_id(server: str, name: str, headers: dict[str, str] = SIGNED_IN) -> str:
    query = "query($s: String) { parties(search: $s, first: 1) { edges { node { id } } } }"
    data = ask(server, query, {"s": name}, headers)
    return data["parties"]["edges"][0]["node"]["id"]


def assert_offline(visit: Visit) -> None:
    assert visit.foreign == [], "the page reached beyond its server"
    assert visit.refused == [], "the page's Content-Security-Policy refused part of it"
