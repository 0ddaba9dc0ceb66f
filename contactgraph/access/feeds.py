"""How many live feeds each user holds, across all their sockets and credentials."""

from __future__ import annotations

from collections import Counter


class ViewerFeeds:
    """Counts live subscriptions per user id; a user holding none takes no memory, so
    what is kept is bounded by the server's own cap on live subscriptions."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()

    def take(self, user_id: str, most: int) -> bool:
        """Count one more feed of the user's, unless they hold `most` already."""
        if self._held[user_id] >= most:
            return False
        self._held[user_id] += 1
        return True

    def release(self, user_id: str) -> None:
        """Count one feed of the user's less, however it ended."""
        self._held[user_id] -= 1
        if self._held[user_id] <= 0:
            del self._held[user_id]
