"""Settings, from CLI flags or CONTACTGRAPH_* environment variables (flags win)."""

import socket
from dataclasses import dataclass

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")

DEFAULT_GRAPH_URL = "sqlite:///./contactgraph.db"


@dataclass(frozen=True)
class Settings:
    graph_url: str = DEFAULT_GRAPH_URL
    # Host headers answered (Starlette's TrustedHostMiddleware): a DNS-rebinding page
    # reaches the server under its own name, and is refused
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    create: bool = False  # make the embedded database when its file does not exist
    demo: bool = False
    default_page_size: int = 20
    max_page_size: int = 500
    max_depth: int = 64
    max_network_size: int = 1000
    subscriber_backlog: int = 256
    max_subscriptions: int = 10_000  # live feeds on the whole server
    max_operations_per_socket: int = 100
    ws_init_timeout: float = 10.0  # seconds from the WebSocket handshake to connection_init
    ws_ping_interval: float = 20.0  # seconds between pings; as long again to answer
    max_message_bytes: int = 1_048_576  # the largest WebSocket message
    shutdown_grace: float = 10.0  # seconds SIGTERM waits for requests before cancelling them


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
