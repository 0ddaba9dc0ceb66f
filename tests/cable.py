"""A TCP line between a server under test and its database that a test can cut and mend."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit


class Cable:
    """Forwards connections on a loopback port to `target`. `cut` closes every connection
    and refuses new ones, as a stopped database or a lost network does; `mend` takes new
    ones again on the same port; `drop_next` closes the next connection to send anything,
    in place of sending it, as a database that dropped it meanwhile does; `hold` keeps
    back what the database sends until `release`, as a database that stops answering;
    `answered` is set by what it sends, so a test knows a statement ran while it holds it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._drop_next = False
        self._answering = threading.Event()
        self._answering.set()
        self.dropped = 0
        self.answered = threading.Event()  # set when the database sends, held or not
        self.port = self._listen(0)

    def _listen(self, port: int) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
            except OSError:  # the listener was closed: the cable is cut
                return
            far = socket.create_connection(self.target)
            with self._lock:
                self._open |= {near, far}
            for source, sink in ((near, far), (far, near)):
                threading.Thread(
                    target=self._pump, args=(source, sink, source is near), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outward: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if outward and self._dropped():
                    for end in (source, sink):
                        with contextlib.suppress(OSError):
                            end.shutdown(socket.SHUT_RDWR)
                    return
                if not outward:
                    self.answered.set()
                    self._answering.wait()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        assert self._listener is not None
        # closing alone leaves a thread blocked in accept() taking connections: shut it
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def mend(self) -> None:
        self._listen(self.port)

    def drop_next(self) -> None:
        with self._lock:
            self._drop_next = True

    def hold(self) -> None:
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def _dropped(self) -> bool:
        """Whether this send is the one to drop (and the count of those dropped)."""
        with self._lock:
            drop, self._drop_next = self._drop_next, False
            self.dropped += drop
            return drop

    @classmethod
    @contextlib.contextmanager
    def to(cls, url: str) -> Iterator[Cable]:
        """A cable to the server at `url` (bolt://host:port, redis://host:port), cut when
        the test ends."""
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None, url
        cable = cls((parts.hostname, parts.port))
        try:
            yield cable
        finally:
            cable.release()
            if cable._listener is not None:
                cable.cut()
