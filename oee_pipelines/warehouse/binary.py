"""PostgreSQL's binary COPY format, encoded here rather than row by row in psycopg.

The writer checks every row anyway, so it knows each field's type; encoding the row itself
lets it reuse the bytes of what repeats (a machine's tag, a message's timestamp) across the
rows of a batch and hand psycopg large blocks (`Copy.write`) instead of one call per row.
Format: a signature, then per row a 16-bit field count and per field a 32-bit length (-1 for
NULL) and the value in the type's binary send format, then a trailer.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""The header: signature, flags and header extension length (both 0)."""
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"

POSTGRES_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""Where PostgreSQL counts its timestamps from."""
POSTGRES_EPOCH_US = (POSTGRES_EPOCH - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
    microseconds=1
)
"""The same instant in microseconds since the Unix epoch."""
_MICROSECOND = dt.timedelta(microseconds=1)
_INT8 = struct.Struct(">iq").pack
_FLOAT8 = struct.Struct(">id").pack
_COUNT = struct.Struct(">h").pack

float8: Callable[[int, float], bytes] = _FLOAT8
"""`float8(8, value)`: a float8 field (length and value) in one call."""


def text(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(4, "big") + data


def timestamptz(value: dt.datetime) -> bytes:
    """An aware datetime as microseconds since 2000-01-01 UTC."""
    return _INT8(8, (value - POSTGRES_EPOCH) // _MICROSECOND)


def _float8(value: float) -> bytes:
    return _FLOAT8(8, value)


ENCODERS: dict[str, Callable[[object], bytes]] = {
    "text": text,  # type: ignore[dict-item]
    "timestamptz": timestamptz,  # type: ignore[dict-item]
    "float8": _float8,  # type: ignore[dict-item]
}
"""The field (length and value) of a non-NULL value, by PostgreSQL type (telemetry's types: the
other tables are copied row by row by psycopg)."""


def field_count(count: int) -> bytes:
    return _COUNT(count)
