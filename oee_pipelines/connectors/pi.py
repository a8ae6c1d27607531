"""A PI Web API client for history backfills: tags to WebIds, recorded values of many tags per
request, paging past `maxCount`, PI qualities and digital states, errors as `SourceError`.

Recorded values are read with `boundaryType=Outside` (the value before the window and the one
after it come too), `maxCount` values per stream and call. A stream that filled its page is asked
again from its last timestamp; the values up to and at that timestamp that the previous page
already held are dropped, so a page boundary neither loses nor repeats a value.

A request's streams are paged to the end of the window before the next request is made, and
its values handed on tag by tag, each tag's in time order: the order of the warehouse's key
(machine, tag, ts) when the tags come in that order, which lets PostgreSQL build a day's key in
one pass. A request's pages alone come page 1 of every tag, then page 2, ...; so one request's
values are held until its last page (`tags_per_request` tags, not the whole backfill).

Qualities become the codes `good`, `questionable`, `substituted` and `bad` (`Good: false`,
which includes system digital states such as "Pt Created" or "I/O Timeout"); the historians'
configuration translates them. A digital state's value is its name.

Recorded values are decoded by msgspec straight into typed objects (`_Recorded`), which skips
every field the client does not read: half the CPU time of plain JSON into dictionaries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import orjson
import polars as pl

from oee_pipelines.connectors.historian import HistorianClient, readings
from oee_pipelines.errors import ConfigError, SourceError

SYSTEM = "pi"
MAX_COUNT_LIMIT = 150_000
"""The most values PI Web API returns per stream and call; a larger maxCount is a 400."""
DEFAULT_MAX_COUNT = 10_000
"""Values per stream and call unless configured: a day of 1-second values takes nine calls."""


class _Value(msgspec.Struct, gc=False):
    """A recorded value (the fields read of PI Web API's TimedValue)."""

    Timestamp: str
    Value: Any
    Good: bool | None = None
    Questionable: bool | None = None
    Substituted: bool | None = None


class _Stream(msgspec.Struct, gc=False):
    WebId: str | None = None
    Items: list[_Value] | None = None


class _Recorded(msgspec.Struct, gc=False):
    """A `streamsets/recorded` body."""

    Items: list[_Stream] | None = None
    WebException: dict[str, Any] | None = None


_RECORDED = msgspec.json.Decoder(_Recorded)
_Params = list[tuple[str, str | int | float | bool | None]]


class PiWebApi(HistorianClient):
    """One PI Web API server; WebIds are cached for the client's life."""

    def __init__(
        self,
        base_url: str,
        data_server: str,
        *,
        auth: httpx.Auth | None = None,
        max_count: int = DEFAULT_MAX_COUNT,
        tags_per_request: int = 50,
        clock_offset: dt.timedelta = dt.timedelta(0),
        timeout_s: float = 60.0,
        verify_tls: bool = True,
    ) -> None:
        if not 1 <= max_count <= MAX_COUNT_LIMIT:
            raise ConfigError(f"PI Web API max_count must be 1..{MAX_COUNT_LIMIT}, not {max_count}")
        super().__init__(
            base_url,
            auth=auth,
            clock_offset=clock_offset,
            timeout_s=timeout_s,
            verify_tls=verify_tls,
            headers={"X-Requested-With": "oee-platform"},
        )
        self.data_server = data_server
        self.max_count = max_count
        self.tags_per_request = tags_per_request
        self._web_ids: dict[str, str] = {}

    def web_ids(self, tags: Sequence[str]) -> dict[str, str]:
        """Each tag's WebId (`points/multiple`, one call for all the tags not yet cached)."""
        missing = [tag for tag in dict.fromkeys(tags) if tag not in self._web_ids]
        if missing:
            paths = [f"\\\\{self.data_server}\\{tag}" for tag in missing]
            body = self._get("points/multiple", [("path", path) for path in paths], missing)
            for tag, item in zip(missing, body.get("Items") or [], strict=False):
                if item.get("Exception") or not (item.get("Object") or {}).get("WebId"):
                    raise SourceError(
                        SYSTEM, f"points/multiple {tag}", _errors(item.get("Exception") or {})
                    )
                self._web_ids[tag] = item["Object"]["WebId"]
            unresolved = [tag for tag in missing if tag not in self._web_ids]
            if unresolved:
                raise SourceError(SYSTEM, "points/multiple", f"no answer for {unresolved}")
        return {tag: self._web_ids[tag] for tag in tags}

    def pages(
        self, tags: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[pl.DataFrame]:
        """Every recorded value of the tags in [start, end], with the boundary values outside,
        timestamps corrected by the clock offset: one `READINGS` page per call."""
        web_ids = self.web_ids(tags)
        for chunk in _chunks(list(tags), self.tags_per_request):
            yield from self._read(
                chunk, web_ids, start - self.clock_offset, end - self.clock_offset
            )

    def _read(
        self, tags: list[str], web_ids: Mapping[str, str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[pl.DataFrame]:
        """Page through one chunk of tags until every stream returned less than maxCount, then
        hand on its values tag by tag (`_by_tag`)."""
        since = {tag: start for tag in tags}
        pages: list[_Page] = []
        last: dict[str, tuple[dt.datetime, int]] = {}
        """A paged stream's last instant read (historian time) and how many values it had."""
        while since:
            for page_start, group in _by_value(since).items():
                params: _Params = [("webId", web_ids[tag]) for tag in group]
                params += [
                    ("startTime", _iso(page_start)),
                    ("endTime", _iso(end)),
                    ("timeZone", "UTC"),
                    ("boundaryType", "Outside"),
                    ("maxCount", str(self.max_count)),
                    ("selectedFields", "Items.WebId;Items.Items"),
                ]
                body = self._recorded(params, group)
                streams = {stream.WebId: stream for stream in body.Items or []}
                names, counts, items = [], [], []  # type: list[str], list[int], list[_Value]
                for tag in group:
                    stream = streams.get(web_ids[tag])
                    if stream is None:
                        raise SourceError(SYSTEM, f"streamsets/recorded {tag}", "stream missing")
                    received = stream.Items or []
                    kept = (
                        received[_after_page(last[tag], _instants(received)) :]
                        if tag in last
                        else received
                    )
                    names.append(tag)
                    counts.append(len(kept))
                    items += kept
                    if len(received) < self.max_count:
                        del since[tag]
                    elif not kept:
                        raise SourceError(
                            SYSTEM,
                            f"streamsets/recorded {tag}",
                            f"more than maxCount={self.max_count} values at {_iso(page_start)}",
                        )
                    else:
                        ts, repeated = _last(_instants(kept))
                        if tag in last and last[tag][0] == ts:  # the whole page at one instant
                            repeated += last[tag][1]
                        last[tag] = ts, repeated
                        since[tag] = ts
                pages.append(_Page(self._readings(names, counts, items, group), names, counts))
        yield from _by_tag(tags, pages)

    def _readings(
        self, names: list[str], counts: list[int], items: list[_Value], group: list[str]
    ) -> pl.DataFrame:
        """The `READINGS` of a call's values (`counts[k]` of them of tag `names[k]`, in order)."""
        endpoint = f"streamsets/recorded ({_names(group)})"
        flags = pl.DataFrame(
            {
                "good": [item.Good for item in items],
                "questionable": [item.Questionable for item in items],
                "substituted": [item.Substituted for item in items],
            },
            schema={"good": pl.Boolean, "questionable": pl.Boolean, "substituted": pl.Boolean},
        )
        codes = flags.select(
            pl.when(pl.col("good").not_())  # includes system digital states
            .then(pl.lit("bad"))
            .when(pl.col("questionable"))
            .then(pl.lit("questionable"))
            .when(pl.col("substituted"))
            .then(pl.lit("substituted"))
            .otherwise(pl.lit("good"))
        ).to_series()
        tags = pl.DataFrame({"tag": names, "n": counts}, schema={"tag": pl.String, "n": pl.Int64})
        tag = tags.select(pl.col("tag").repeat_by("n").explode().drop_nulls()).to_series()
        timestamps = [item.Timestamp for item in items]
        values = [item.Value for item in items]
        return readings(tag, timestamps, values, codes, self.clock_offset, SYSTEM, endpoint)

    def _recorded(self, params: _Params, tags: Sequence[str]) -> _Recorded:
        """A `streamsets/recorded` call's body; an error (of the call, of the server, or in place
        of a value) is a `SourceError` with the server's message."""
        path = "streamsets/recorded"
        endpoint = f"{path} ({_names(tags)})"
        response = self._fetch(path, params, endpoint)
        try:
            body = _RECORDED.decode(response.content) if response.is_success else None
        except msgspec.DecodeError:  # no list of values: an error in place of one, or no JSON
            body = None
        if body is not None and not body.WebException:
            return body
        raise SourceError(SYSTEM, endpoint, _misfit(_checked(response, endpoint)))

    def _get(self, path: str, params: _Params, tags: Sequence[str]) -> dict:
        endpoint = f"{path} ({_names(tags)})"
        return _checked(self._fetch(path, params, endpoint), endpoint)

    def _fetch(self, path: str, params: _Params, endpoint: str) -> httpx.Response:
        try:
            return self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(SYSTEM, endpoint, f"{type(exc).__name__}: {exc}") from exc


def _checked(response: httpx.Response, endpoint: str) -> dict:
    """The JSON body of a successful call; an HTTP error or a `WebException` is a
    `SourceError` with the server's message."""
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        body = {"Errors": [response.text[:300]]}
    if not response.is_success:
        detail = _errors(body) if isinstance(body, dict) else str(body)[:300]
        raise SourceError(SYSTEM, endpoint, f"HTTP {response.status_code}: {detail}")
    if not isinstance(body, dict):
        raise SourceError(SYSTEM, endpoint, f"unexpected body: {str(body)[:300]}")
    if body.get("WebException"):
        raise SourceError(SYSTEM, endpoint, f"WebException: {_errors(body['WebException'])}")
    return body


def _misfit(body: dict[str, Any]) -> str:
    """What makes a recorded-values body no list of values (an error in place of a value)."""
    for stream in body.get("Items") or []:
        for item in stream.get("Items") or [] if isinstance(stream, dict) else [stream]:
            if not isinstance(item, dict):
                return str(item)[:300]
            if "Timestamp" not in item or "Value" not in item:
                return _errors(item)
    return f"unexpected body: {str(body)[:300]}"


@dataclass(frozen=True)
class _Page:
    """One call's `READINGS`: `counts[k]` values of tag `names[k]`, in turn."""

    readings: pl.DataFrame
    names: list[str]
    counts: list[int]


def _by_tag(tags: list[str], pages: list[_Page]) -> Iterator[pl.DataFrame]:
    """A request's values as one frame per tag in the order of `tags`, each in time order
    (the pages' slices, not copied); a request of one call as it came, already in that order."""
    if len(pages) == 1:
        yield pages[0].readings
        return
    slices: dict[str, list[pl.DataFrame]] = {tag: [] for tag in tags}
    for page in pages:
        offset = 0
        for name, count in zip(page.names, page.counts, strict=True):
            slices[name].append(page.readings.slice(offset, count))
            offset += count
    for tag in tags:
        yield pl.concat(slices[tag])


def _instants(items: list[_Value]) -> list[str]:
    return [item.Timestamp for item in items]


def _last(instants: list[str]) -> tuple[dt.datetime, int]:
    """The last instant of a page's values, and how many of them are at it."""
    last = instants[-1]
    repeated = 0
    for instant in reversed(instants):
        if instant != last:
            break
        repeated += 1
    return dt.datetime.fromisoformat(last), repeated


def _after_page(previous: tuple[dt.datetime, int], page: list[str]) -> int:
    """How many values a continuation page (its instants) begins with that the previous page
    already held: everything before its last instant, and as many values at that instant as it
    had there."""
    last, repeated = previous
    first = 0
    while first < len(page):
        ts = dt.datetime.fromisoformat(page[first])
        if ts > last or (ts == last and not repeated):
            break
        if ts == last:
            repeated -= 1
        first += 1
    return first


def _errors(body: Mapping[str, Any]) -> str:
    errors = body.get("Errors") or body.get("Message") or "no error message"
    status = f"status {body['StatusCode']}: " if body.get("StatusCode") else ""
    return status + ("; ".join(map(str, errors)) if isinstance(errors, list) else str(errors))


def _names(tags: Sequence[str]) -> str:
    return ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]


def _by_value(since: Mapping[str, dt.datetime]) -> dict[dt.datetime, list[str]]:
    """Tags grouped by where their next page starts, so tags in step share a request."""
    groups: dict[dt.datetime, list[str]] = {}
    for tag, start in since.items():
        groups.setdefault(start, []).append(tag)
    return groups
