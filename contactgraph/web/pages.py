"""The pages' HTML: the project's own template, naming the bundles tools/web/build wrote
(assets.json) under the static route, and the settings a page reads from a JSON block.

The Content-Security-Policy lets a page load scripts, styles and connections from its own
server only (fonts and icons are data: URLs inside the bundled stylesheet; the one style
element GraphiQL adds at run time carries the response's nonce): a page that works under
it needs nothing from the internet, and an injected script cannot run.
"""

from __future__ import annotations

import json
import secrets
from functools import cache
from html import escape
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse

STATIC_PATH = "/static"
_POLICY = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'nonce-{nonce}'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # the page names this release's bundles: ask each time
}
_HERE = Path(__file__).parent

GRAPHIQL_QUERY = """\
# Ctrl-Enter runs the query; Ctrl-Space suggests fields.
{
  parties(first: 5) {
    totalCount
    edges { node { displayName kind } }
  }
}
"""


@cache
def _bundles() -> dict[str, dict[str, str | None]]:
    manifest: dict[str, dict[str, str | None]] = json.loads((_HERE / "assets.json").read_text())
    return manifest


@cache
def _template() -> Template:
    return Template((_HERE / "page.html").read_text())


def _script_json(value: object) -> str:
    """JSON that cannot end its <script> block early nor open a comment in it."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def respond(page: str, title: str, config: dict[str, object]) -> HTMLResponse:
    """The page `page` (its bundle built from tools/web/pages/PAGE.js), given `config`
    and a fresh nonce: the one inline style its libraries may add at run time (a dialog's
    scroll lock) carries it, so the policy needs no 'unsafe-inline'."""
    bundle = _bundles()[page]
    style = bundle["style"]
    nonce = secrets.token_urlsafe(16)
    html = _template().substitute(
        title=escape(title),
        style=f'<link rel="stylesheet" href="{STATIC_PATH}/{style}">' if style else "",
        config=_script_json({**config, "styleNonce": nonce}),
        script=f"{STATIC_PATH}/{bundle['script']}",
        licenses=f"{STATIC_PATH}/{bundle['licenses']}",  # of the npm packages bundled
    )
    policy = "; ".join(_POLICY).format(nonce=nonce)
    return HTMLResponse(html, headers={**_HEADERS, "Content-Security-Policy": policy})


def _signed_in(token: str | None) -> dict[str, str]:
    """The headers a page sends with every request and as the WebSocket's connection_init
    payload: the demo's token when there is one (serve --demo on loopback), else none, and
    the page's visitor signs in with a token of their own."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def graphiql(token: str | None) -> HTMLResponse:
    """GraphiQL's page, at GET /graphql for a browser."""
    return respond(
        "graphiql", "contactgraph GraphiQL", {"headers": _signed_in(token), "query": GRAPHIQL_QUERY}
    )


def explore(token: str | None) -> HTMLResponse:
    """The explorer, at GET /explore. Anyone may load it: it holds code, no data. Every
    read it makes goes to /graphql with the visitor's token, where that viewer's grants
    scope it and the API's limits bound it, as for any other client."""
    return respond("explore", "contactgraph explorer", {"headers": _signed_in(token)})
