"""A small threaded HTTP server answering JSON, for the simulated historians' REST APIs.

Runs on a real socket (a free port unless given), in a background thread, until stopped.
A route may answer `Raw` bytes instead of JSON (an HTML error page, a broken body), and a server
given a `post` route takes POSTs of JSON bodies (the ERP's confirmations), guarded as SAP Gateway
guards them: a POST must carry the `X-CSRF-Token` that a GET with `X-CSRF-Token: Fetch` got.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlsplit

import orjson


@dataclass(frozen=True)
class Raw:
    """A body sent as it is, not as JSON."""

    content_type: str
    body: bytes


Answer = tuple[int, object]
"""An HTTP status and the JSON body (or a `Raw` one)."""
Route = Callable[[str, list[tuple[str, str]]], Answer]
"""Answers a GET of a path with its query parameters (in order, repeated ones kept)."""
PostRoute = Callable[[str, object], Answer]
"""Answers a POST of a path with its JSON body."""


class Credentials:
    """What the server accepts: Basic user and password, or a Bearer token, or anything."""

    def __init__(
        self, username: str | None = None, password: str | None = None, token: str | None = None
    ) -> None:
        self._accepted = set()
        if username is not None:
            pair = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._accepted.add(f"Basic {pair}")
        if token is not None:
            self._accepted.add(f"Bearer {token}")

    def allow(self, authorization: str | None) -> bool:
        return not self._accepted or authorization in self._accepted


class HttpServer:
    """Serves requests with `handler` over HTTP until `stop()`; `url` is its base URL."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JsonServer(HttpServer):
    """Serves `route` (and `post`, when given) over HTTP/1.1 until `stop()`."""

    def __init__(
        self,
        route: Route,
        credentials: Credentials,
        host: str = "127.0.0.1",
        port: int = 0,
        post: PostRoute | None = None,
    ) -> None:
        super().__init__(_handler(route, credentials, post, secrets.token_urlsafe(16)), host, port)


def _handler(
    route: Route, credentials: Credentials, post: PostRoute | None, csrf_token: str
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            parts = urlsplit(self.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            fetch = post is not None and self.headers.get("X-CSRF-Token", "").lower() == "fetch"
            self._answer(
                lambda: route(parts.path, query), {"X-CSRF-Token": csrf_token} if fetch else {}
            )

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if post is None:
                self._send(405, {"Errors": ["POST is not supported here."]})
                return
            if self.headers.get("X-CSRF-Token") != csrf_token:
                refused = {"Errors": ["CSRF token validation failed"]}
                self._send(403, refused, {"X-CSRF-Token": "Required"})
                return
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                self._send(400, {"Errors": [f"malformed JSON: {exc}"]})
                return
            self._answer(lambda: post(urlsplit(self.path).path, document))

        def _answer(
            self, answer: Callable[[], Answer], headers: dict[str, str] | None = None
        ) -> None:
            if not credentials.allow(self.headers.get("Authorization")):
                self._send(401, {"Errors": ["Authorization has been denied for this request."]})
                return
            try:
                status, body = answer()
            except Exception as exc:  # noqa: BLE001 - a simulated server answers 500, as real ones do
                status, body = 500, {"Errors": [f"{type(exc).__name__}: {exc}"]}
            self._send(status, body, headers)

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, Raw) else None
            payload = raw.body if raw else orjson.dumps(body)
            self.send_response(status)
            content_type = raw.content_type if raw else "application/json; charset=utf-8"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="simulated"')
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests and the benchmark read the answers, not an access log."""

    return Handler
