"""An AVEVA (Wonderware) Historian REST client for history backfills: `ProcessValues` of a tag
list and a time range over OData v2, following `@odata.nextLink`, errors as `SourceError`.

The filter names each tag (`FQN eq '...'`) and bounds the time with unquoted DateTime literals
(`DateTime ge 2026-10-24T00:00:00Z`, as v2 of the API takes them). Delta retrieval starts with
the value in effect at the start time. Both annotation styles are accepted: OData v4
(`@odata.context`, `@odata.nextLink`) and the older `odata.metadata`, `odata.nextLink`.
Each row's OPC quality (192 good, 64 uncertain, 0 bad, 24 comm failure) is kept as its code
for the historians' configuration to translate; a bad row's `Value` is null. String tags carry
their value in `Text`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import httpx
import orjson
import polars as pl

from oee_pipelines.connectors.historian import HistorianClient, readings
from oee_pipelines.errors import SourceError

SYSTEM = "aveva"
_CONTEXTS = ("@odata.context", "odata.metadata")
_NEXT_LINKS = ("@odata.nextLink", "odata.nextLink")


class AvevaHistorian(HistorianClient):
    """One AVEVA Historian's REST API (`.../Historian/v2`)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        tags_per_request: int = 20,
        retrieval_mode: str = "Delta",
        clock_offset: dt.timedelta = dt.timedelta(0),
        timeout_s: float = 60.0,
        verify_tls: bool = True,
    ) -> None:
        super().__init__(
            base_url,
            auth=auth,
            clock_offset=clock_offset,
            timeout_s=timeout_s,
            verify_tls=verify_tls,
            headers={},
        )
        self.tags_per_request = tags_per_request
        self.retrieval_mode = retrieval_mode

    def pages(
        self, tags: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[pl.DataFrame]:
        """Every stored value of the tags in [start, end] (the value in effect at start first),
        timestamps corrected by the clock offset: one `READINGS` page per call."""
        first, last = _literal(start - self.clock_offset), _literal(end - self.clock_offset)
        for index in range(0, len(tags), self.tags_per_request):
            chunk = tags[index : index + self.tags_per_request]
            names = " or ".join(f"FQN eq '{tag.replace(chr(39), chr(39) * 2)}'" for tag in chunk)
            query = f"({names}) and DateTime ge {first} and DateTime le {last}"
            url: str | None = "ProcessValues"
            params: dict[str, str] | None = {
                "$filter": query,
                "RetrievalMode": self.retrieval_mode,
            }
            while url:
                body = self._get(url, params, chunk)
                yield self._readings(body["value"], chunk)
                url, params = next((body[key] for key in _NEXT_LINKS if body.get(key)), None), None

    def _readings(self, rows: list[dict], chunk: Sequence[str]) -> pl.DataFrame:
        endpoint = f"ProcessValues ({', '.join(chunk[:3])}{' ...' if len(chunk) > 3 else ''})"
        try:
            tags = pl.Series("tag", [row["FQN"] for row in rows], dtype=pl.String)
            timestamps = [row["DateTime"] for row in rows]
            values = [
                value if (value := row.get("Value")) is not None else row.get("Text")
                for row in rows
            ]
            codes = pl.Series("code", [row.get("OpcQuality") for row in rows], strict=False)
        except (KeyError, TypeError, AttributeError) as error:
            raise SourceError(SYSTEM, endpoint, f"a row without {error}") from None
        unasked = set(tags.unique().to_list()) - set(chunk)
        if unasked:
            raise SourceError(SYSTEM, "ProcessValues", f"a row of unasked tag {min(unasked)!r}")
        return readings(tags, timestamps, values, codes, self.clock_offset, SYSTEM, endpoint)

    def _get(self, url: str, params: dict[str, str] | None, tags: Sequence[str]) -> dict:
        endpoint = f"ProcessValues ({', '.join(tags[:3])}{' ...' if len(tags) > 3 else ''})"
        try:
            response = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(SYSTEM, endpoint, f"{type(exc).__name__}: {exc}") from exc
        try:
            body = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            body = {"error": {"message": response.text[:300]}}
        if not response.is_success:
            raise SourceError(SYSTEM, endpoint, f"HTTP {response.status_code}: {_error(body)}")
        if not isinstance(body, dict) or not any(key in body for key in _CONTEXTS):
            raise SourceError(SYSTEM, endpoint, f"not an OData answer: {str(body)[:300]}")
        if not isinstance(body.get("value"), list):
            raise SourceError(SYSTEM, endpoint, "the answer has no 'value' list")
        return body


def _error(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = error.get("message")
        if isinstance(message, dict):  # OData v3: {"lang": ..., "value": ...}
            message = message.get("value")
        return f"{error.get('code', '')} {message}".strip()
    return str(body)[:300]


def _literal(instant: dt.datetime) -> str:
    """An OData v2 DateTime literal: UTC with a Z, not quoted."""
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
