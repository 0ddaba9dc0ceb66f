"""How often one viewer may ask: a token bucket per API token (else per user).

Each viewer's bucket holds up to `burst` requests and refills at `per_minute` / 60 a
second; a request finding it empty is refused with the seconds until it holds one
again. A bucket that has refilled to the brim says nothing a new bucket would not, so
it is dropped: the buckets are kept in order of last use, and the least recently used
is dropped once full. What is kept is then the viewers seen within the last
burst / rate seconds, never more than `max_keys` (past it the least recently used go
first), so a client holding many tokens cannot make the server grow without bound.
Expiry is lazy, on the next request: no background task.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..graph.errors import RateLimited
from .viewer import Viewer

MAX_KEYS = 100_000


def viewer_key(viewer: Viewer) -> str:
    """What a viewer's budget is kept under: each API token has its own, a user signed in
    otherwise (a JWT, or anonymously) has one."""
    return f"token:{viewer.token_id}" if viewer.token_id else f"user:{viewer.id}"


@dataclass
class _Bucket:
    tokens: float
    at: float  # clock reading when `tokens` was right


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self._per_second = per_minute / 60
        self._burst = max(burst, 1)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    @property
    def tracked(self) -> int:
        """How many viewers' buckets are held."""
        return len(self._buckets)

    def admit(self, viewer: Viewer) -> None:
        """Count one request of the viewer's; RATE_LIMITED when their budget is spent."""
        wait = self.take(viewer_key(viewer))
        if wait:
            raise RateLimited(
                f"too many requests: a credential may make {self.per_minute} a minute "
                f"(--rate-limit), {self._burst} at once (--rate-burst); try again in {wait} s",
                wait,
            )

    def take(self, key: str) -> int:
        """Count one request of `key`: 0 when it may go ahead, else the whole seconds (at
        least 1) until it may."""
        if not self.enabled:
            return 0
        now = self._clock()
        self._expire(now)
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self._burst, now)
        else:
            bucket.tokens = self._level(bucket, now)
            bucket.at = now
        self._buckets[key] = bucket  # the most recently used, last
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self._per_second))

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + (now - bucket.at) * self._per_second)

    def _expire(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if len(self._buckets) < self._max_keys and self._level(oldest, now) < self._burst:
                return
            del self._buckets[key]
