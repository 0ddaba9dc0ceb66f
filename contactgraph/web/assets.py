"""The static route of the pages' bundles (contactgraph/web/static).

Every file there is written by tools/web/build under a name holding its content's hash, so
a name never changes content: browsers may keep it for a year without asking again.
Starlette's StaticFiles answers GET and HEAD only, refuses paths outside the directory
(404) and lists no directories.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"


class Assets(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=Path(__file__).with_name("static"))

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
