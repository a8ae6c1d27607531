"""The simulated plant's AVEVA Historian REST API: `GET /Historian/v2/ProcessValues` over real
HTTP, in the shapes of the AVEVA Historian documentation.

The `$filter` names tags (`FQN eq '...'`, joined with `or`) and bounds `DateTime` with unquoted
literals (`ge`, `gt`, `le`, `lt`); `RetrievalMode` is `Delta` or `Full` (the simulated historian
stores changes only, so both answer the same). Delta retrieval starts with the value in effect
at the start time. Rows come `page_size` at a time with a next link; `annotations` chooses
OData v4 (`@odata.context`) or the older `odata.metadata` style. State tags hold the PLC's
state code, reason tags text; bad rows have `Value: null` with OPC quality 0 (or 24 for a
communication failure). `faults` makes every request for a UTC day fail with an OData error.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlencode

from oee_pipelines.signals import SIMULATOR_STATE_CODES

from ._http import Answer, Credentials, JsonServer
from .historian import Recorded, RecordedHistory, iso, parse_instant

PATH = "/Historian/v2/ProcessValues"
_QUALITY = {"good": 192, "questionable": 64, "substituted": 64, "bad": 0, "comm": 24}
_STATE_CODES: dict[str, int] = {state: int(code) for code, state in SIMULATOR_STATE_CODES.items()}
_TAG = re.compile(r"FQN\s+eq\s+'((?:[^']|'')*)'", re.IGNORECASE)
_BOUND = re.compile(r"DateTime\s+(ge|gt|le|lt)\s+([0-9T:.\-+Z]+)", re.IGNORECASE)


class SimulatedAvevaHistorian:
    """An AVEVA Historian holding the recorded history, behind its REST API."""

    def __init__(
        self,
        history: RecordedHistory,
        credentials: Credentials | None = None,
        page_size: int = 5000,
        annotations: Literal["v4", "v3"] = "v4",
        clock_behind: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self.history = history
        self.credentials = credentials or Credentials()
        self.page_size = page_size
        self.annotations = annotations
        self.behind_us = clock_behind // dt.timedelta(microseconds=1)
        self.faults: set[dt.date] = set()
        self.requests = 0
        self.url = ""
        self._rows = lru_cache(maxsize=16)(self._query)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> JsonServer:
        server = JsonServer(self.route, self.credentials, host, port)
        self.url = server.url
        return server

    def route(self, path: str, params: list[tuple[str, str]]) -> Answer:
        self.requests += 1
        if path != PATH:
            return _error(404, f"No resource at '{path}'.")
        query = dict(params)
        mode = query.get("RetrievalMode", "Delta")
        if mode.lower() not in ("delta", "full"):
            return _error(400, f"RetrievalMode '{mode}' is not supported here.")
        condition = query.get("$filter", "")
        tags = [tag.replace("''", "'") for tag in _TAG.findall(condition)]
        bounds = {op.lower(): parse_instant(text, dt.UTC) for op, text in _BOUND.findall(condition)}
        if not tags or not ({"ge", "gt"} & bounds.keys() and {"le", "lt"} & bounds.keys()):
            return _error(400, "The $filter needs FQN eq '...' and a DateTime range.")
        unknown = [tag for tag in tags if tag not in self.history.tags]
        if unknown:
            return _error(404, f"FQN doesn't exist: {', '.join(unknown)}")
        start = bounds.get("ge", bounds.get("gt", 0) + 1) + self.behind_us
        end = bounds.get("le", bounds.get("lt", 0) - 1) + self.behind_us
        if dt.datetime.fromtimestamp(start / 1e6, dt.UTC).date() in self.faults:
            return _error(500, "The Historian storage is not available (simulated fault).")
        rows = self._rows(tuple(tags), start, end)
        skip = int(query.get("$skip", "0"))
        context, next_link = (
            ("@odata.context", "@odata.nextLink")
            if self.annotations == "v4"
            else ("odata.metadata", "odata.nextLink")
        )
        body: dict[str, Any] = {
            context: f"{self.url}/Historian/v2/$metadata#ProcessValues",
            "value": rows[skip : skip + self.page_size],
        }
        if skip + self.page_size < len(rows):
            body[next_link] = f"{self.url}{PATH}?" + urlencode(
                {**query, "$skip": str(skip + self.page_size)}
            )
        return 200, body

    def _query(self, tags: tuple[str, ...], start: int, end: int) -> list[dict[str, Any]]:
        rows = []
        for tag in tags:
            recorded = self.history.values(tag, start, end)
            if not recorded or recorded[0][0] != start:  # Delta: the value in effect at start
                before = self.history.before(tag, start)
                if before is not None:
                    recorded.insert(0, (start, *before[1:]))
            signal = self.history.tags[tag].signal
            rows += [self._row(tag, signal, value) for value in recorded]
        return rows

    def _row(self, tag: str, signal: str, recorded: Recorded) -> dict[str, Any]:
        instant, value, flag = recorded
        text = None
        if signal == "state":
            value = _STATE_CODES[str(value)]
        elif isinstance(value, str):
            value, text = None, value
        return {
            "FQN": tag,
            "DateTime": iso(instant - self.behind_us),
            "OpcQuality": _QUALITY[flag],
            "Value": value,
            "Text": text,
        }


def _error(status: int, message: str) -> Answer:
    return status, {"error": {"code": str(status), "message": message}}
