"""The static route of the pages' bundles (contactgraph/web/static).

Every file there is written by tools/web/build under a name holding its content's hash, so
a name never changes content: browsers may keep it for a year without asking again, and a
file's gzip encoding, made once per process, may be kept as long. Starlette's StaticFiles
answers GET and HEAD only, refuses paths outside the directory (404) and lists no
directories.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = frozenset({".js", ".css", ".txt"})  # the bundles; images are compressed already


class Assets(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=Path(__file__).with_name("static"))
        self._gzipped: dict[str, bytes] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if isinstance(response, FileResponse) and _takes_gzip(Headers(scope=scope), response):
            response = await self._gzip(response, Headers(scope=scope))
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _gzip(self, plain: FileResponse, request: Headers) -> Response:
        """The gzip encoding of a bundle, under its own entity tag: one tag for two
        encodings would let a cache answer a client with the encoding it did not ask for."""
        headers = {
            "etag": plain.headers["etag"].removesuffix('"') + '-gzip"',
            "last-modified": plain.headers["last-modified"],
            "content-type": plain.headers["content-type"],
            "content-encoding": "gzip",
            "vary": "Accept-Encoding",
        }
        if self.is_not_modified(Headers(headers), request):
            return NotModifiedResponse(Headers(headers))
        key = str(plain.path)
        if key not in self._gzipped:
            data = await anyio.Path(key).read_bytes()
            self._gzipped[key] = await anyio.to_thread.run_sync(_compress, data)
        return Response(self._gzipped[key], headers=headers)


def _takes_gzip(request: Headers, plain: FileResponse) -> bool:
    """Whether the client accepts gzip for a whole compressible file (a range request gets
    the plain bytes it addresses)."""
    accepted = {
        coding.split(";")[0].strip().lower()
        for coding in request.get("accept-encoding", "").split(",")
    }
    return (
        "gzip" in accepted
        and "range" not in request
        and plain.status_code == 200
        and Path(plain.path).suffix in COMPRESSIBLE
    )


def _compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)
