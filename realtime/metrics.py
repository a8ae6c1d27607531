"""Prometheus metrics and the `/health` endpoint of the realtime service.

Each service owns a registry of its own (tests run several services in one process). The HTTP
endpoint is prometheus-client's WSGI app behind a tiny router, served from a daemon thread:
`/metrics` for Prometheus, `/health` for a load balancer or an orchestrator's probe.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

_PREFIX = "oee_realtime"


class Metrics:
    """The service's counters and gauges, labelled by source (or table)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(f"{_PREFIX}_messages", "Messages received", ["source"], registry=r)
        self.values = Counter(f"{_PREFIX}_values", "Records decoded", ["source"], registry=r)
        self.dead_letters = Counter(
            f"{_PREFIX}_dead_letters", "Inputs kept as dead letters", ["source"], registry=r
        )
        self.rate_limited = Counter(
            f"{_PREFIX}_rate_limited", "Messages over the rate limit", ["source"], registry=r
        )
        self.rows_written = Counter(
            f"{_PREFIX}_rows_written", "Rows inserted or changed", ["table"], registry=r
        )
        self.write_seconds = Histogram(
            f"{_PREFIX}_write_seconds",
            "Time to commit one batch to the warehouse",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.spool_batches = Gauge(f"{_PREFIX}_spool_batches", "Batches in the spool", registry=r)
        self.spool_bytes = Gauge(f"{_PREFIX}_spool_bytes", "Bytes in the spool", registry=r)
        self.spool_full = Gauge(
            f"{_PREFIX}_spool_full", "1 while the spool is full and intake waits", registry=r
        )
        self.database_up = Gauge(
            f"{_PREFIX}_database_up", "1 while the warehouse accepts writes", registry=r
        )
        self.connected = Gauge(
            f"{_PREFIX}_source_connected", "1 while the source is connected", ["source"], registry=r
        )

        self._connected: dict[str, bool] = {}
        self._spool = (0, 0, False)
        self._database_up = False

    def set_connected(self, source: str, connected: bool) -> None:
        self._connected[source] = connected
        self.connected.labels(source).set(int(connected))

    def set_database_up(self, up: bool) -> None:
        self._database_up = up
        self.database_up.set(int(up))

    def set_spool(self, batches: int, size: int, full: bool) -> None:
        self._spool = (batches, size, full)
        self.spool_batches.set(batches)
        self.spool_bytes.set(size)
        self.spool_full.set(int(full))

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while every source is connected and the spool has room."""
        batches, size, full = self._spool
        report = {
            "sources": dict(self._connected),
            "database_up": self._database_up,
            "spool_batches": batches,
            "spool_bytes": size,
            "spool_full": full,
        }
        return all(self._connected.values()) and not full, report


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not events."""


@contextmanager
def serving(metrics: Metrics, host: str, port: int) -> Iterator[int]:
    """Serve `/metrics` and `/health` until the block ends; yields the bound port."""
    app = _router(metrics, make_wsgi_app(metrics.registry))
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def _router(metrics: Metrics, prometheus: Callable) -> Callable:
    def app(environ: dict, start_response: Callable) -> list[bytes]:
        if environ.get("PATH_INFO") == "/health":
            healthy, report = metrics.health()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(report).encode()]
        return prometheus(environ, start_response)

    return app
