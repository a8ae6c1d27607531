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

from oee_pipelines.connectors.erp.calls import Answer, CallPolicy, call
from oee_pipelines.errors import SourceError

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TIME = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ODataClient:
    """One OData v2 server (`base_url` up to the services, e.g. .../sap/opu/odata/sap)."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        timeout_s: float = 60.0,
        policy: CallPolicy | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.system = system
        self.policy = policy or CallPolicy()
        self._base = base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout_s,
            verify=verify_tls,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> ODataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def entities(
        self, service: str, entity_set: str, *, filter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every entity of the set (matching `filter`), page by page as the server sends them
        (server-driven paging: `$top` would cap the whole answer, not a page)."""
        params = {"$format": "json"}
        if filter:
            params["$filter"] = filter
        request: httpx.Request | None = self._http.build_request(
            "GET", self._url(service, entity_set), params=params
        )
        while request is not None:
            body = self._data(call(self._http, request, self.system, self.policy), request)
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise self._error(request, f"no collection in the answer: {str(body)[:200]}")
            yield from results
            request = self._next(request, body.get("__next"))

    def create(self, service: str, entity_set: str, entity: Mapping[str, Any]) -> dict[str, Any]:
        """POST one new entity; returns the entity the server created. Tried once: a retry
        could create it twice."""
        token = self._csrf_token(service)
        request = self._http.build_request(
            "POST", self._url(service, entity_set), json=entity, headers={"X-CSRF-Token": token}
        )
        answer = call(self._http, request, self.system, self.policy, repeatable=False)
        created = self._data(answer, request)
        if not isinstance(created, dict):
            raise self._error(request, f"no entity in the answer: {str(created)[:200]}")
        return created

    def _csrf_token(self, service: str) -> str:
        """A token for changes, fetched with a GET of the service document."""
        request = self._http.build_request(
            "GET", f"{self._base}{service}/", headers={"X-CSRF-Token": "Fetch"}
        )
        answer = call(self._http, request, self.system, self.policy)
        token = answer.headers.get("X-CSRF-Token")
        if answer.status >= 400 or not token:
            cause = f"HTTP {answer.status}: no CSRF token: {_error_text(answer)}"
            raise self._error(request, cause)
        return token

    def _url(self, service: str, entity_set: str) -> str:
        return f"{self._base}{service}/{entity_set}"

    def _next(self, request: httpx.Request, next_url: object) -> httpx.Request | None:
        """The request of the next page; only on the same server (a `__next` elsewhere could
        send our credentials to another host)."""
        if not next_url:
            return None
        url = httpx.URL(urljoin(str(request.url), str(next_url)))
        if (url.scheme, url.host, url.port) != (
            request.url.scheme,
            request.url.host,
            request.url.port,
        ):
            raise self._error(request, f"__next points to another server: {url}")
        return self._http.build_request("GET", url)

    def _data(self, answer: Answer, request: httpx.Request) -> Any:
        endpoint = _endpoint(request)
        if answer.status >= 400:
            raise SourceError(self.system, endpoint, f"HTTP {answer.status}: {_error_text(answer)}")
        body = answer.json(self.system, endpoint)
        if not isinstance(body, dict) or "d" not in body:
            raise SourceError(self.system, endpoint, f"not an OData v2 answer: {str(body)[:200]}")
        return body["d"]

    def _error(self, request: httpx.Request, cause: str) -> SourceError:
        return SourceError(self.system, _endpoint(request), cause)


def _endpoint(request: httpx.Request) -> str:
    return f"{request.method} {request.url.copy_with(query=None)}"


def _error_text(answer: Answer) -> str:
    """The OData error's code and message, or what the body shows when it is not one."""
    if "json" in answer.content_type.lower():
        try:
            error = answer.json("", "")["error"]
            return f"{error['code']}: {error['message']['value']}"
        except (SourceError, KeyError, TypeError):
            pass
    excerpt = answer.body[:200].decode("utf-8", "replace").replace("\n", " ")
    return f"{answer.content_type or 'no content type'}: {excerpt}"


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
