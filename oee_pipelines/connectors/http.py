"""HTTP calls to a source system, guarded the same way for every client (MES, ERP).

A call is retried with exponential backoff when the server fails (5xx) or does not answer in
time; a 4xx is the caller's mistake and fails at once; a call that must not be repeated (a POST
that creates something) is tried once. A body larger than the limit is refused while it streams
in (a gigantic answer never fills the memory), and an HTML page where JSON was expected (a
proxy's login or error page) is refused instead of parsed. Every failure is a `SourceError`
naming the system, the endpoint and the HTTP status or the cause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from oee_pipelines.errors import SourceError

MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed call is tried again."""

    attempts: int = 4
    backoff_s: float = 0.5
    """Wait before the second attempt; doubled before each later one."""

    def wait(self, attempt: int) -> float:
        return self.backoff_s * 2 ** (attempt - 1)


DEFAULT_RETRY = RetryPolicy()


class GuardedHttp:
    """An httpx client whose calls are retried, size-limited and turned into SourceErrors."""

    def __init__(
        self,
        system: str,
        client: httpx.Client,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.system = system
        self.client = client
        self.retry = retry
        self.max_body_bytes = max_body_bytes

    @classmethod
    def open(
        cls,
        system: str,
        *,
        auth: httpx.Auth | None = None,
        timeout_s: float = 30.0,
        verify_tls: bool = True,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> GuardedHttp:
        """Calls on a client of their own; `close()` it when done."""
        client = httpx.Client(auth=auth, timeout=timeout_s, verify=verify_tls)
        return cls(system, client, retry, max_body_bytes)

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        answered: Callable[[httpx.Response], bool] | None = None,
        describe: Callable[[httpx.Response], str] | None = None,
        repeatable: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """The response of a successful call (body read), after retries on 5xx and timeouts.

        `answered` marks an error response the caller reads itself (a SOAP fault comes as
        HTTP 500, yet is an answer, not a server failure): it is returned, not retried.
        `describe` says what an error response means (an OData error's code and message);
        without it, the start of its body is shown. A call that is not `repeatable` (a POST
        that creates something: a retry could create it twice) is tried once.
        """
        endpoint = f"{method} {url}"
        attempts = self.retry.attempts if repeatable else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(method, url, endpoint, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt == attempts:
                    cause = f"{type(exc).__name__}{_after(attempt)}: {exc}"
                    raise SourceError(self.system, endpoint, cause) from exc
            else:
                if answered is not None and answered(response):
                    return response
                if response.status_code < 500 or attempt == attempts:
                    return self._checked(endpoint, response, attempt, describe or body_excerpt)
            time.sleep(self.retry.wait(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON body of a successful call; HTML or malformed JSON is a SourceError."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        response = self.request(method, url, headers=headers, **kwargs)
        endpoint = f"{method} {url}"
        content_type = response.headers.get("Content-Type", "")
        status = f"HTTP {response.status_code}"
        if "html" in content_type.lower() or response.content.lstrip()[:1] == b"<":
            raise SourceError(
                self.system,
                endpoint,
                f"{status}: HTML where JSON was expected ({content_type or 'no type'})",
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise SourceError(self.system, endpoint, f"{status}: malformed JSON: {exc}") from exc

    def _send(self, method: str, url: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        with self.client.stream(method, url, **kwargs) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise self._too_large(endpoint)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_body_bytes:
                    raise self._too_large(endpoint)
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))

    def _too_large(self, endpoint: str) -> SourceError:
        return SourceError(
            self.system, endpoint, f"response larger than the limit of {self.max_body_bytes} bytes"
        )

    def _checked(
        self,
        endpoint: str,
        response: httpx.Response,
        attempt: int,
        describe: Callable[[httpx.Response], str],
    ) -> httpx.Response:
        if response.status_code < 400:
            return response
        raise SourceError(
            self.system,
            endpoint,
            f"HTTP {response.status_code} {response.reason_phrase}{_after(attempt)}: "
            f"{describe(response)}",
        )


def body_excerpt(response: httpx.Response) -> str:
    """The start of an error response's body: what the server said went wrong."""
    return response.text[:300].strip()


def _after(attempt: int) -> str:
    return f" after {attempt} attempts" if attempt > 1 else ""
