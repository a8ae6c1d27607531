"""The simulated plant's PI Web API: points and recorded stream-set values over real HTTP, in the
shapes of the PI Web API reference's sample responses.

Served: `GET /piwebapi/points?path=`, `GET /piwebapi/points/multiple?path=..&path=..` and
`GET /piwebapi/streamsets/recorded?webId=..&webId=..` (startTime, endTime, timeZone,
boundaryType Inside/Outside, maxCount up to 150,000). State tags are digital (their state set
is the canonical states), reason tags strings, counters integers; a bad value is a system
digital state with `Good: false`. `faults` makes every request for a UTC day fail, as an HTTP
error with `{"Errors": [...]}` or as a 200 with a `WebException`.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo

from oee_pipelines.signals import SIMULATOR_STATE_CODES

from ._http import Answer, Credentials, JsonServer
from .historian import Recorded, RecordedHistory, iso, parse_instant

PREFIX = "/piwebapi"
MAX_COUNT_LIMIT = 150_000
_STATE_CODES: dict[str, int] = {state: int(code) for code, state in SIMULATOR_STATE_CODES.items()}
_SYSTEM_STATES = {"bad": ("Bad Input", 307), "comm": ("I/O Timeout", 246)}
Fault = Literal["error", "webexception"]


class SimulatedPiWebApi:
    """A PI Data Archive `data_server` holding the recorded history, behind PI Web API."""

    def __init__(
        self,
        history: RecordedHistory,
        data_server: str = "PISRV01",
        credentials: Credentials | None = None,
        time_zone: str = "UTC",
        clock_behind: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self.history = history
        self.data_server = data_server
        self.credentials = credentials or Credentials()
        self.zone = ZoneInfo(time_zone)
        self.behind_us = clock_behind // dt.timedelta(microseconds=1)
        self.faults: dict[dt.date, Fault] = {}
        self.requests = 0

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> JsonServer:
        """A server on a real socket (not started); its url ends without /piwebapi."""
        return JsonServer(self.route, self.credentials, host, port)

    def route(self, path: str, params: list[tuple[str, str]]) -> Answer:
        self.requests += 1
        if path == f"{PREFIX}/points":
            point = self._point(_one(params, "path"))
            return (200, point) if point else (404, {"Errors": [_not_found(_one(params, "path"))]})
        if path == f"{PREFIX}/points/multiple":
            return 200, {"Items": [self._lookup(p) for k, p in params if k == "path"]}
        if path == f"{PREFIX}/streamsets/recorded":
            return self._recorded(params)
        return 404, {"Errors": [f"The requested resource '{path}' was not found."]}

    def web_id(self, tag: str) -> str:
        return "F1DP" + base64.urlsafe_b64encode(tag.encode()).decode().rstrip("=")

    def _tag_of(self, web_id: str) -> str | None:
        try:
            name = base64.urlsafe_b64decode(web_id[4:] + "=" * (-len(web_id[4:]) % 4)).decode()
        except ValueError:
            return None
        return name if web_id.startswith("F1DP") and name in self.history.tags else None

    def _point(self, path: str) -> dict[str, Any] | None:
        prefix = f"\\\\{self.data_server}\\"
        tag = path[len(prefix) :] if path.upper().startswith(prefix.upper()) else None
        if tag not in self.history.tags:
            return None
        signal = self.history.tags[tag].signal
        kind = {"state": "Digital", "reason_code": "String"}.get(signal, "Float32")
        return {
            "WebId": self.web_id(tag),
            "Id": list(self.history.tags).index(tag) + 1,
            "Name": tag,
            "Path": prefix + tag,
            "Descriptor": "",
            "PointClass": "classic",
            "PointType": "Int32" if signal.endswith("_count") else kind,
            "EngineeringUnits": self.history.tags[tag].unit or "",
            "Step": signal in ("state", "reason_code", "good_count", "reject_count"),
            "Future": False,
            "Links": {},
        }

    def _lookup(self, path: str) -> dict[str, Any]:
        point = self._point(path)
        return {
            "Identifier": path,
            "IdentifierType": "Path",
            "Object": point,
            "Exception": None if point else {"Errors": [_not_found(path)]},
        }

    def _recorded(self, params: list[tuple[str, str]]) -> Answer:
        max_count = int(_one(params, "maxCount") or 1000)
        if not 0 < max_count <= MAX_COUNT_LIMIT:
            return 400, {"Errors": [f"The maximum count must be between 1 and {MAX_COUNT_LIMIT}."]}
        zone = ZoneInfo(_one(params, "timeZone")) if _one(params, "timeZone") else self.zone
        start = parse_instant(_one(params, "startTime"), zone) + self.behind_us
        end = parse_instant(_one(params, "endTime"), zone) + self.behind_us
        outside = (_one(params, "boundaryType") or "Inside").lower() == "outside"
        fault = self.faults.get(dt.datetime.fromtimestamp(start / 1e6, dt.UTC).date())
        if fault == "error":
            return 502, {"Errors": ["The PI Data Archive is not reachable (simulated fault)."]}
        items = []
        for web_id in [value for key, value in params if key == "webId"]:
            tag = self._tag_of(web_id)
            if tag is None:
                return 400, {"Errors": [f"Unknown or invalid WebID '{web_id}'."]}
            recorded = self.history.values(tag, start, end)
            if outside:
                before, after = self.history.before(tag, start), self.history.after(tag, end)
                recorded = ([before] if before else []) + recorded + ([after] if after else [])
            unit = self.history.tags[tag].unit or ""
            digital = self.history.tags[tag].signal == "state"
            items.append(
                {
                    "WebId": web_id,
                    "Name": tag,
                    "Path": f"\\\\{self.data_server}\\{tag}",
                    "Links": {},
                    "Items": [self._value(v, unit, digital) for v in recorded[:max_count]],
                    "UnitsAbbreviation": unit,
                }
            )
        body: dict[str, Any] = {"Links": {}, "Items": items}
        if fault == "webexception":
            body["WebException"] = {
                "StatusCode": 502,
                "Errors": ["The stream was interrupted (simulated fault)."],
            }
        return 200, body

    def _value(self, recorded: Recorded, unit: str, digital: bool) -> dict[str, Any]:
        instant, value, flag = recorded
        good = flag not in _SYSTEM_STATES
        shown: object = value
        if not good:
            name, code = _SYSTEM_STATES[flag]
            shown = {"Name": name, "Value": code, "IsSystem": True}
        elif digital:
            shown = {"Name": value, "Value": _STATE_CODES[str(value)], "IsSystem": False}
        return {
            "Timestamp": iso(instant - self.behind_us),
            "Value": shown,
            "UnitsAbbreviation": unit,
            "Good": good,
            "Questionable": flag == "questionable",
            "Substituted": flag == "substituted",
            "Annotated": False,
        }


def _one(params: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in params if key.lower() == name.lower()), "")


def _not_found(path: str) -> str:
    return f"PI Point not found '{path}'."
