r"""How `raw.dead_letter` keeps whatever arrived, exactly, readably, and once.

PostgreSQL text and jsonb cannot hold a NUL byte or a lone surrogate, yet a dead letter is
often exactly such input. So each row stores the payload twice:

- `payload` (bytea) exactly, its `payload_format` saying how to read it: `bytes` as they
  arrived; `text` as UTF-8 (a lone surrogate in Python's `surrogatepass` form); `json`, the
  decoded fields or a rejected record's fields as ASCII JSON the way Python's `json` writes it
  (\u escapes, NaN, datetimes in ISO 8601);
- `record` (jsonb) and the text columns escaped for reading: a NUL as `\x00`, a lone surrogate
  as `\udXXX`, an undecodable byte as `\xNN`, NaN and infinities as strings.

`fingerprint` is the SHA-256 of the exact source, target, reason, payload and context; it is
unique, so a replayed batch or message never stores its dead letters twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg import Connection

from oee_pipelines.warehouse.records import DeadLetter

_UNSHOWABLE = (TypeError, ValueError, RecursionError)
"""What showing a value can raise: a key JSON cannot have, an integer of more than 4300 digits
(Python's limit), a structure nested too deeply."""

_INSERT = """
    INSERT INTO raw.dead_letter
        (fingerprint, source, target, reason, record, payload, payload_format, context)
    VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb)
    ON CONFLICT (fingerprint) DO NOTHING
"""


def insert_dead_letters(conn: Connection, letters: Iterable[DeadLetter]) -> int:
    """Store the letters not stored before, in the caller's transaction; returns how many."""
    rows = [_row(letter) for letter in letters]
    if not rows:
        return 0
    cursor = conn.cursor()
    cursor.executemany(_INSERT, rows)
    return cursor.rowcount


def record_letter(record: object, source: str, target: str, reason: str) -> DeadLetter:
    """The dead letter of a record the writer rejected: its fields, whatever their types."""
    payload: Mapping[str, Any] | str
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        payload = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    else:
        payload = record if isinstance(record, Mapping) else repr(record)
    return DeadLetter(source, target, reason, payload)


def escaped(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL as `\\x00`, a lone surrogate as `\\udXXX`."""
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


def _row(letter: DeadLetter) -> tuple:
    payload_format, payload = _exact(letter.payload)
    context = json.dumps(letter.context, ensure_ascii=True, sort_keys=True, default=str)
    source, target, reason = (str(text) for text in (letter.source, letter.target, letter.reason))
    try:
        readable = json.dumps(_readable(letter.payload), ensure_ascii=False)
    except _UNSHOWABLE as error:
        readable = json.dumps(f"unshowable {type(letter.payload).__name__}: {error}")
    return (
        _fingerprint(source, target, reason, payload_format, payload, context),
        escaped(source),
        escaped(target),
        escaped(reason),
        readable,
        payload,
        payload_format,
        json.dumps(_readable(letter.context), ensure_ascii=False),
    )


def _exact(payload: object) -> tuple[str, bytes]:
    if isinstance(payload, bytes | bytearray | memoryview):
        return "bytes", bytes(payload)
    if isinstance(payload, str):
        return "text", payload.encode("utf-8", "surrogatepass")
    try:
        return "json", json.dumps(payload, ensure_ascii=True, default=_jsonable).encode("ascii")
    except _UNSHOWABLE:  # keys JSON cannot have: the repr is the next best thing
        pass
    try:
        return "text", repr(payload).encode("utf-8", "surrogatepass")
    except _UNSHOWABLE as error:
        return "text", f"unshowable {type(payload).__name__}: {error}".encode()


def _readable(value: object) -> object:
    """`value` as JSON that jsonb accepts, escaped where it must be."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return escaped(bytes(value).decode("utf-8", "backslashreplace"))
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {escaped(str(key)): _readable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_readable(item) for item in value]
    return escaped(_jsonable(value))


def _jsonable(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else repr(value)


def _fingerprint(source: str, target: str, reason: str, *exact: str | bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (source, target, reason, *exact):
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()
