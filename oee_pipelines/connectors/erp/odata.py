"""A generic OData v2 client (as SAP Gateway serves it): paged reads, creates, typed values.

OData v2 wraps answers in `{"d": ...}`: a collection as `{"d": {"results": [...], "__next":
url}}` (server-driven paging: `__next` until it is absent), one entity as `{"d": {...}}`.
Values come in the JSON verbose format: `Edm.DateTime` as `/Date(<ms since epoch>)/`,
`Edm.DateTimeOffset` as `/Date(<ms>+<offset minutes>)/`, `Edm.Time` as an ISO 8601 duration
(`PT15H51M04S`), `Edm.Decimal` as a JSON string. Errors are `{"error": {"code": ..., "message":
{"value": ...}}}` with an HTTP status; all of them become `SourceError`s. A change is sent with
the CSRF token that SAP Gateway hands out to a GET with `X-CSRF-Token: Fetch` (and its session
cookies, which the client keeps).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

import httpx

from oee_pipelines.connectors.http import GuardedHttp, body_excerpt
from oee_pipelines.errors import SourceError

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TIME = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ODataClient:
    """One OData v2 server (`base_url` up to the services, e.g. .../sap/opu/odata/sap)."""

    def __init__(self, system: str, base_url: str, http: GuardedHttp | None = None) -> None:
        """`http`: how calls are made (auth, timeout, retries, size limit); defaults otherwise."""
        self.system = system
        self._base = base_url.rstrip("/") + "/"
        self._http = http or GuardedHttp.open(system)

    def __enter__(self) -> ODataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def entities(
        self, service: str, entity_set: str, *, filter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every entity of the set (matching `filter`), page by page as the server sends them
        (server-driven paging: `$top` would cap the whole answer, not a page)."""
        params: dict[str, str] | None = {"$format": "json"} | (
            {"$filter": filter} if filter else {}
        )
        url: str | None = self._url(service, entity_set)
        while url is not None:
            body = self._data("GET", url, params=params)
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise self._error("GET", url, f"no collection in the answer: {str(body)[:200]}")
            yield from results
            url, params = self._next(url, body.get("__next")), None

    def create(self, service: str, entity_set: str, entity: Mapping[str, Any]) -> dict[str, Any]:
        """POST one new entity; returns the entity the server created. Tried once: a retry
        could create it twice."""
        token = self._csrf_token(service)
        url = self._url(service, entity_set)
        created = self._data(
            "POST", url, json=entity, headers={"X-CSRF-Token": token}, repeatable=False
        )
        if not isinstance(created, dict):
            raise self._error("POST", url, f"no entity in the answer: {str(created)[:200]}")
        return created

    def _csrf_token(self, service: str) -> str:
        """A token for changes, fetched with a GET of the service document."""
        url = f"{self._base}{service}/"
        headers = {"X-CSRF-Token": "Fetch", "Accept": "application/json"}
        response = self._http.request("GET", url, headers=headers, describe=_error_text)
        token = response.headers.get("X-CSRF-Token")
        if not token:
            raise self._error("GET", url, f"HTTP {response.status_code}: no CSRF token")
        return token

    def _url(self, service: str, entity_set: str) -> str:
        return f"{self._base}{service}/{entity_set}"

    def _next(self, url: str, next_url: object) -> str | None:
        """The URL of the next page; only on the same server (a `__next` elsewhere could send
        our credentials to another host)."""
        if not next_url:
            return None
        here, there = httpx.URL(url), httpx.URL(urljoin(url, str(next_url)))
        if (there.scheme, there.host, there.port) != (here.scheme, here.host, here.port):
            raise self._error("GET", url, f"__next points to another server: {there}")
        return str(there)

    def _data(self, method: str, url: str, **kwargs: Any) -> Any:
        """What an OData v2 answer wraps in `{"d": ...}`."""
        body = self._http.json(method, url, describe=_error_text, **kwargs)
        if not isinstance(body, dict) or "d" not in body:
            raise self._error(method, url, f"not an OData v2 answer: {str(body)[:200]}")
        return body["d"]

    def _error(self, method: str, url: str, cause: str) -> SourceError:
        return SourceError(self.system, f"{method} {url}", cause)


def _error_text(response: httpx.Response) -> str:
    """The OData error's code and message, or the start of the body when it is not one."""
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']['value']}"
    except (ValueError, KeyError, TypeError):
        return body_excerpt(response)


def parse_datetime(value: str) -> dt.datetime:
    """`/Date(1492041600000)/` or `/Date(1492041600000+0120)/`: milliseconds since the epoch
    in UTC (the offset only says where the value was entered)."""
    match = _DATE.match(value)
    if not match:
        raise ValueError(f"not an OData date {value!r}")
    return _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))


def parse_time(value: str) -> dt.timedelta:
    """`PT15H51M04S`: an `Edm.Time`, the time of day as a duration since midnight."""
    match = _TIME.match(value)
    if not match or value == "PT":
        raise ValueError(f"not an OData time {value!r}")
    hours, minutes, seconds = match.groups()
    return dt.timedelta(
        hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
    )


def parse_decimal(value: str | int | float) -> Decimal:
    """An `Edm.Decimal` (a JSON string, so no precision is lost on the way)."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite decimal {value!r}")
    return number


def format_datetime(instant: dt.datetime) -> str:
    """An instant as OData v2 JSON writes `Edm.DateTime` (milliseconds, UTC)."""
    return f"/Date({(instant - _EPOCH) // dt.timedelta(milliseconds=1)})/"


def format_time(duration: dt.timedelta) -> str:
    """A time of day as `Edm.Time` (`PT15H51M04S`)."""
    seconds = int(duration.total_seconds())
    return f"PT{seconds // 3600:02d}H{seconds % 3600 // 60:02d}M{seconds % 60:02d}S"


def datetime_literal(instant: dt.datetime) -> str:
    """An instant as a `$filter` literal of `Edm.DateTimeOffset`."""
    return f"datetimeoffset'{instant.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z'"
