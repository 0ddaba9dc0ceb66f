"""Settings, from CLI flags or CONTACTGRAPH_* environment variables (flags win).

Every numeric setting with a help text is a `serve` flag named after it
(`max_page_size`: `--max-page-size`, CONTACTGRAPH_MAX_PAGE_SIZE), so a new
limit is one line here. The defaults let every README example, the test suite's
documents and GraphiQL's introspection query (184 tokens, depth 15, cost
53,321) through, and keep the worst document they allow at about 15
milliseconds of parsing and validation (bench/limits.py, BENCHMARKS.md).
"""

import ipaddress
import json
import socket
from dataclasses import Field, asdict, dataclass, field, fields
from typing import Any

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")

DEFAULT_GRAPH_URL = "sqlite:///./contactgraph.db"
MIN_METRICS_TOKEN = 16  # characters of a --metrics-token: a guessable one exposes /metrics


def _flag(default: float, help: str, minimum: float = 1, maximum: float | None = None) -> Any:
    """A setting `serve` takes as a flag, from `minimum` up to `maximum` (if any)."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "maximum": maximum})


@dataclass(frozen=True)
class Settings:
    graph_url: str = DEFAULT_GRAPH_URL
    # Host headers answered (Starlette's TrustedHostMiddleware): a DNS-rebinding page
    # reaches the server under its own name, and is refused
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    create: bool = False  # make the embedded database when its file does not exist
    demo: bool = False
    demo_token: str | None = None  # with demo: a token of the demo's administrator
    # OpenID Connect: JWTs of this issuer for this audience sign users in by a claim
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_claim: str = "preferred_username"
    oidc_create_users: bool = False
    # browser pages on these origins may call the API (CORS) and open WebSockets
    cors_origins: tuple[str, ...] = ()
    # serve --insecure-anonymous-admin, loopback only: no Authorization acts as an admin
    insecure_anonymous_admin: bool = False
    # the token GraphiQL's page sends for whoever opens it: serve --demo on loopback only
    ide_token: str | None = None
    # where phone numbers without +country code are read when their party has no country
    default_region: str | None = None
    # live events through this Redis (redis://...), shared by every server process using it;
    # None: the in-process bus of a single process
    events_url: str | None = None
    # who may read /metrics besides admins (observability/scrape.py): a bearer of this
    # token; anyone, with serve --demo on loopback
    metrics_token: str | None = None
    metrics_open: bool = False
    tracing: bool = False  # OpenTelemetry spans (observability/tracing.py)
    default_page_size: int = _flag(20, "Items per page when a query gives no `first`.")
    max_page_size: int = _flag(500, "Largest `first` a query may ask for; more is LIMIT_EXCEEDED.")
    max_depth: int = _flag(64, "Deepest a hierarchy traversal may go; more is LIMIT_EXCEEDED.")
    max_network_size: int = _flag(
        1000, "Most parties a network query may ask for; more is LIMIT_EXCEEDED."
    )
    subscriber_backlog: int = _flag(
        256, "Events a live subscriber may fall behind before it is told and closed."
    )
    max_subscriptions: int = _flag(
        10_000, "Live subscriptions the whole server holds at most; more are LIMIT_EXCEEDED."
    )
    max_subscriptions_per_viewer: int = _flag(
        100,
        "Live subscriptions one user holds at most, over all their sockets and tokens; "
        "more are LIMIT_EXCEEDED.",
    )
    rate_limit: int = _flag(
        600,
        "Requests (and WebSocket subscribe messages) one viewer may make a minute: each API "
        "token, or a user signed in otherwise. Past it, 429 RATE_LIMITED with Retry-After. "
        "0: no limit.",
        minimum=0,
    )
    rate_burst: int = _flag(
        600, "Requests one viewer may make at once; then --rate-limit's pace applies."
    )
    max_operations_per_socket: int = _flag(
        100, "Operations one WebSocket runs at once at most; more are LIMIT_EXCEEDED."
    )
    ws_init_timeout: float = _flag(
        10.0,
        "Seconds a WebSocket may take to send connection_init before it is closed (4408).",
        minimum=0.1,
    )
    ws_ping_interval: float = _flag(
        20.0,
        "Seconds between pings on an open WebSocket; one unanswered as long is dropped.",
        minimum=0.1,
    )
    max_message_bytes: int = _flag(
        1_048_576,
        "The largest WebSocket message; a larger one closes the socket (1009).",
        minimum=1024,
    )
    request_timeout: float = _flag(
        10.0,
        "Seconds a query or mutation may run (a subscription: each event); then the store "
        "work behind it is stopped and it answers TIMEOUT.",
        minimum=0.01,
    )
    shutdown_grace: float = _flag(
        10.0,
        "Seconds SIGTERM waits for running requests before cancelling them and exiting.",
        minimum=0,
    )
    auth_cache_seconds: float = _flag(
        5.0,
        "Seconds a checked credential is trusted before it is checked again; a token revoked "
        "from the CLI stops working within this time (through the API at once).",
        minimum=0,
    )
    process_sweep_seconds: float = _flag(
        300.0,
        "Seconds between the sweeps that open the steps of DATE_REACHED processes whose "
        "date is reached (docs/processes.md); 0: only when sweepProcesses asks.",
        minimum=0,
    )
    duplicate_threshold: float = _flag(
        0.8,
        "The duplicate score (0..1) from which a create with checkDuplicates writes nothing "
        "and answers CONFLICT with the parties it may be.",
        minimum=0.0,
        maximum=1.0,
    )
    # requests and documents: refused before they cost anything
    max_body_bytes: int = _flag(
        1 << 20, "Largest HTTP request body; a larger one is refused (413) before it is read."
    )
    max_json_depth: int = _flag(
        32, "Deepest nesting of arrays and objects in request JSON; deeper is BAD_REQUEST."
    )
    max_document_length: int = _flag(
        16_384, "Longest GraphQL document, in characters (variables are not counted)."
    )
    max_tokens: int = _flag(
        500, "Most tokens in a document: names, punctuation, values and comments."
    )
    max_query_depth: int = _flag(20, "Deepest nesting of fields in an operation.")
    max_aliases: int = _flag(50, "Most aliased fields in an operation.")
    max_cost: int = _flag(
        1_000_000,
        "Largest estimated cost of an operation: its fields, each counted once for every "
        "item of the lists it sits in (README, Limits).",
    )
    max_merge_work: int = _flag(
        5000,
        "Work graphql-core may spend checking that fields with one response name merge "
        "(quadratic in repeated fields).",
    )
    # argument values: refused with BAD_USER_INPUT before any resolver runs
    max_string_length: int = _flag(
        500, "Longest string argument or input field (names, tags, ids, roles, search)."
    )
    max_text_length: int = _flag(250_000, "Longest long text: an activity body.")
    max_list_length: int = _flag(100, "Most items in any list argument or input field.")
    max_search_terms: int = _flag(10, "Most words in a search.")
    max_search_term_length: int = _flag(64, "Longest word in a search.")
    max_properties_bytes: int = _flag(
        16_384, "Largest relationship `properties`, as compact UTF-8 JSON."
    )
    max_properties_depth: int = _flag(8, "Deepest nesting of relationship `properties`.")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        """Settings `to_json` wrote (its lists are this class's tuples)."""
        values = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


FLAGS: tuple[Field[Any], ...] = tuple(f for f in fields(Settings) if "help" in f.metadata)
"""The settings `serve` takes as flags, in the order its help lists them."""


def default_hosts(bound: str) -> tuple[str, ...]:
    """The Host names a server listening on `bound` answers unless told otherwise:
    localhost, the bound address, and on every interface the machine's own names."""
    hosts = set(LOCAL_HOSTS)
    if bound in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        hosts |= {name.lower(), socket.getfqdn().lower()}
        try:
            found = socket.getaddrinfo(name, None)
        except OSError:
            found = []
        for *_, address in found:
            ip = str(address[0])
            hosts.add(f"[{ip}]" if ":" in ip else ip)
    else:
        hosts.add(f"[{bound}]" if ":" in bound else bound.lower())
    return tuple(sorted(hosts))


def is_loopback(bound: str) -> bool:
    """Whether a server listening on `bound` is reachable from this machine only."""
    if bound == "localhost":
        return True
    try:
        return ipaddress.ip_address(bound.strip("[]")).is_loopback
    except ValueError:
        return False
