"""Opaque cursors: base64 of the sort key, decoded only by the code that made them."""

import base64
import binascii

from .errors import BadUserInput

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
