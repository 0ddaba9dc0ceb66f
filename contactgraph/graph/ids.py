"""Server-made ids: UUIDv7, time-sortable and identical in form on every backend."""

import os
import threading
import time

_lock = threading.Lock()
_last = (0, 0)


def uuid7(ms: int, rand: bytes) -> str:
    """Lay out a UUIDv7 from a millisecond timestamp and 10 random bytes (RFC 9562)."""
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(rand[:2], "big") & 0x0FFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(rand[2:10], "big") & ((1 << 62) - 1)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_id() -> str:
    """A fresh id, strictly increasing within this process so ties sort by creation."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = _last
        if ms <= last_ms:
            ms, seq = last_ms, last_seq + 1
            if seq > 0x0FFF:
                ms, seq = ms + 1, 0
        else:
            seq = int.from_bytes(os.urandom(2), "big") & 0x07FF
        _last = (ms, seq)
    rand = (seq & 0x0FFF).to_bytes(2, "big") + os.urandom(8)
    return uuid7(ms, rand)
