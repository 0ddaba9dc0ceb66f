"""Opaque cursors: base64 of the sort key, decoded only by the code that made them.

A cursor comes back from the client, so every part of it is checked before a
store compares it with stored keys: a forged or out-of-range one is
BAD_USER_INPUT, never a database error.
"""

import base64
import binascii

from .errors import BadUserInput
from .times import format_instant, parse_instant

_SEPARATOR = "\x1f"


def encode_cursor(*key: str) -> str:
    return base64.urlsafe_b64encode(_SEPARATOR.join(key).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        key = base64.urlsafe_b64decode(cursor.encode()).decode().split(_SEPARATOR)
    except (binascii.Error, UnicodeError, ValueError):
        key = []
    if len(key) != parts or not all(key):
        raise BadUserInput(f"{cursor!r} is not a cursor of this list")
    return key


def cursor_depth(text: str, max_depth: int) -> int:
    """The depth part of a hierarchy cursor: ASCII digits, no deeper than the walk goes."""
    if not (text.isascii() and text.isdigit() and int(text) <= max_depth):
        raise BadUserInput(f"{text!r} is not a depth of this list")
    return int(text)


def check_instant_cursor(cursor: str) -> None:
    """Refuse a timeline cursor whose time is not in the one text form instants are
    stored in: stores compare it with stored times as they are."""
    at, _ = decode_cursor(cursor, 2)
    try:
        canonical = format_instant(parse_instant(at)) == at
    except (BadUserInput, OverflowError):
        canonical = False
    if not canonical:
        raise BadUserInput(f"{cursor!r} is not a cursor of this list")
