"""The socket `serve` listens on, bound before the server says where it serves: the banner
then names a port a client can reach (the one the system chose for `--port 0`), and a port
that is taken is one line rather than a log and a bare exit."""

from __future__ import annotations

import socket

from .graph.errors import ConfigError

BACKLOG = 2048  # uvicorn's default: connections the kernel queues while the app starts


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, inheritable so that worker processes accept on it too;
    connections made before the app is ready wait in the backlog."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def base_url(host: str, sock: socket.socket) -> str:
    """http://HOST:PORT with the port actually bound."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
