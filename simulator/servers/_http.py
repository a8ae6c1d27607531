"""A small threaded HTTP server answering JSON, for the simulated historians' REST APIs.

Runs on a real socket (a free port unless given), in a background thread, until stopped.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import orjson

Answer = tuple[int, object]
"""An HTTP status and the JSON body (bytes: sent as they are, as text/plain)."""
Route = Callable[[str, list[tuple[str, str]]], Answer]
"""Answers a GET of a path with its query parameters (in order, repeated ones kept)."""


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


class JsonServer:
    """Serves `route` over HTTP/1.1 until `stop()`; `url` is its base URL."""

    def __init__(
        self, route: Route, credentials: Credentials, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        handler = _handler(route, credentials)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> JsonServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> JsonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(route: Route, credentials: Credentials) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if not credentials.allow(self.headers.get("Authorization")):
                self._send(401, {"Errors": ["Authorization has been denied for this request."]})
                return
            parts = urlsplit(self.path)
            try:
                status, body = route(parts.path, parse_qsl(parts.query, keep_blank_values=True))
            except Exception as exc:  # noqa: BLE001 - a simulated server answers 500, as real ones do
                status, body = 500, {"Errors": [f"{type(exc).__name__}: {exc}"]}
            self._send(status, body)

        def _send(self, status: int, body: object) -> None:
            raw = isinstance(body, bytes)
            payload = body if isinstance(body, bytes) else orjson.dumps(body)
            self.send_response(status)
            kind = "text/plain" if raw else "application/json; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="simulated"')
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests and the benchmark read the answers, not an access log."""

    return Handler
