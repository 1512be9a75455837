"""Time-ordered primary keys: UUID version 7 (RFC 9562).

A new row's key sorts after the keys made before it, so inserts land at the right edge of the
primary key and of every `(…, id)` index instead of on random pages. The column stays a UUID and
keys made earlier (version 4) stay valid.
"""

import os
import threading
import time
import uuid

_last = 0
_lock = threading.Lock()


def uuid7() -> uuid.UUID:
    """48 bits of Unix milliseconds, the version and variant bits, and 74 random bits.

    Keys made by one process are strictly increasing (RFC 9562, method 3): within the same
    millisecond the next key is the last one plus one, so rows written in one batch (a lead's
    "created" history entry, then its routing's) keep the order they were made in.
    """
    global _last
    unix_ms = time.time_ns() // 1_000_000
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    with _lock:
        if value <= _last:
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)
