"""Structured logs: one line per event, `key=value` pairs, never a password.

    2026-11-30T09:00:00.123Z level=info event=mqtt.connected source=sparkplug broker=mqtt://...

Every URL passes through `masked` before it is logged.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit, urlunsplit

_LOGGER = logging.getLogger("oee.realtime")


def log(level: int, event: str, **fields: object) -> None:
    """Log one event with its fields."""
    if _LOGGER.isEnabledFor(level):
        pairs = " ".join(f"{key}={_quoted(value)}" for key, value in fields.items())
        _LOGGER.log(level, f"event={event} {pairs}".rstrip())


def _quoted(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "='):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp += f".{int(record.msecs):03d}Z"
        line = f"{stamp} level={record.levelname.lower()} {record.getMessage()}"
        if record.exc_info:
            line += " traceback=" + _quoted(self.formatException(record.exc_info))
        return line


def configure_logging(level: int = logging.INFO) -> None:
    """Send the service's events to stderr, one line each."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter())
    _LOGGER.handlers[:] = [handler]
    _LOGGER.setLevel(level)
    _LOGGER.propagate = False


def url_password(url: str) -> str | None:
    return urlsplit(url).password


def masked(url: str) -> str:
    """The URL with its password replaced by `***`, safe to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
