"""Calls to a source system's HTTP API: retries with backoff, a size limit, JSON or a clear error.

What every REST-speaking source (the ERP's OData, the MES) needs from one call, so that a 503
during a nightly sync is retried, a runaway answer cannot fill the memory, and an HTML error
page from a proxy is refused instead of parsed. Failures are `SourceError`s naming the system,
the endpoint and the HTTP status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from oee_pipelines.errors import SourceError

RETRIED_STATUSES = frozenset({500, 502, 503, 504})
"""Answers worth asking again: the server or a gateway failed, the request may well be fine."""


@dataclass(frozen=True)
class CallPolicy:
    """How hard to try one call and how much of its answer to accept."""

    attempts: int = 3
    """Tries of a call that may be repeated (a read); a write is tried once."""
    backoff_s: float = 1.0
    """Wait before the second try; doubled before each further one."""
    max_bytes: int = 64 * 2**20
    """The largest answer read; a larger one is refused, not truncated."""


@dataclass(frozen=True)
class Answer:
    """A response read whole (within the limit)."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self, system: str, endpoint: str) -> Any:
        """The body as JSON; HTML, other types or malformed JSON are a SourceError."""
        if "json" not in self.content_type.lower():
            raise SourceError(system, endpoint, f"HTTP {self.status}: {self._not_json()}")
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise SourceError(
                system, endpoint, f"HTTP {self.status}: malformed JSON ({exc}): {self._excerpt()}"
            ) from exc

    def _not_json(self) -> str:
        kind = self.content_type or "no content type"
        return f"expected JSON, got {kind}: {self._excerpt()}"

    def _excerpt(self) -> str:
        return self.body[:200].decode("utf-8", "replace").replace("\n", " ")


def call(
    client: httpx.Client,
    request: httpx.Request,
    system: str,
    policy: CallPolicy,
    *,
    repeatable: bool = True,
) -> Answer:
    """Send `request`; a repeatable one is retried on timeouts, connection errors and 5xx.

    Returns the last answer whatever its status (the caller reads its error body); raises
    SourceError when no answer came or the answer is larger than `policy.max_bytes`.
    """
    endpoint = f"{request.method} {request.url.copy_with(query=None)}"
    attempts = policy.attempts if repeatable else 1
    for attempt in range(1, attempts + 1):
        try:
            answer = _read(client, request, system, endpoint, policy.max_bytes)
        except httpx.TransportError as exc:  # timeouts included
            if attempt == attempts:
                tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise SourceError(system, endpoint, f"{type(exc).__name__}{tries}: {exc}") from exc
        else:
            if answer.status not in RETRIED_STATUSES or attempt == attempts:
                return answer
        time.sleep(policy.backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _read(
    client: httpx.Client, request: httpx.Request, system: str, endpoint: str, max_bytes: int
) -> Answer:
    response = client.send(request, stream=True)
    try:
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > max_bytes:
            raise _too_large(system, endpoint, max_bytes)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(system, endpoint, max_bytes)
    finally:
        response.close()
    return Answer(response.status_code, response.headers, bytes(body))


def _too_large(system: str, endpoint: str, max_bytes: int) -> SourceError:
    return SourceError(system, endpoint, f"response larger than the limit of {max_bytes} bytes")
