"""What the PI and AVEVA backfills share: the historians' configuration, a page of tag history
as columns, and a window of it turned into warehouse rows.

A client reads a window as pages of `READINGS` columns (tag, instant, value, text, the
historian's quality code), parsed straight into a polars frame: history is millions of values,
and a Python object per value would cost more than fetching it. Plain telemetry tags stay
columns (`telemetry`) for the columnar writer; the few state and counter tags' readings become
samples for the same signal logic as realtime ingest (`to_rows`): one code path, not two.

A window [start, end) is read with the historian's boundary values (the last value before it,
the first after it), so the state at `start` and the counter readings around the edges are known.
Telemetry keeps the readings inside the window; state intervals are clipped to it; counters
start and end the window with their value in effect at its edges, so count deltas lie inside
it. Consecutive windows therefore never overlap, and re-reading a window gives the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oee_pipelines.errors import ConfigError, SourceError
from oee_pipelines.plant_model import TagMapping
from oee_pipelines.signals import SIMULATOR_STATE_CODES, Binding, MachineSignals, Signal, Value
from oee_pipelines.vocabulary import MachineState, Quality
from oee_pipelines.warehouse import (
    DeadLetter,
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)

Sample = tuple[dt.datetime, Value, str]
"""One recorded value: its instant (aware, corrected to true UTC), the value, the historian's
own quality code (translated by the configuration's quality table)."""

READINGS = pl.Schema(
    {
        "tag": pl.String(),
        "ts": pl.Datetime("us", "UTC"),
        "value": pl.Float64(),
        "value_text": pl.String(),
        "code": pl.String(),
        "unreadable": pl.String(),
    }
)
"""A page of recorded values as columns: the historian's tag, the instant (corrected to true
UTC), the number or else the text (a string tag, a digital state's name), the quality code, and
a value that is none of these (a list, a state without a name) as JSON: a dead letter."""
TELEMETRY_COLUMNS = pl.Schema(
    {
        "machine_id": pl.String(),
        "tag": pl.String(),
        "ts": pl.Datetime("us", "UTC"),
        "value": pl.Float64(),
        "value_text": pl.String(),
        "unit": pl.String(),
        "quality": pl.String(),
    }
)
"""Telemetry rows as the columnar writer takes them (`warehouse.columnar.TELEMETRY`)."""
_INSTANT = "%Y-%m-%dT%H:%M:%S%.f%#z"
_WHOLE_SECONDS = "%Y-%m-%dT%H:%M:%S"


class HistorianConfig(BaseModel):
    """One historian: its tags per machine signal, its quality table and its clock offset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clock_offset_s: float = 0.0
    quality: dict[str, Quality] = Field(min_length=1)
    state_codes: dict[str, MachineState] = Field(
        default_factory=lambda: dict(SIMULATOR_STATE_CODES)
    )
    machines: dict[str, dict[str, TagMapping]] = Field(min_length=1)

    @property
    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.clock_offset_s)

    def bindings(self) -> dict[str, Binding]:
        """Each historian tag and where its readings land, in the order of the warehouse's key
        (machine, tag): tags read in this order come back as rows already sorted, and a day's
        table whose rows arrive sorted has its key built in one pass (`warehouse.columnar`)."""
        return {
            mapping.address: Binding.of(machine_id, signal, mapping)
            for machine_id, signals in sorted(self.machines.items())
            for signal, mapping in sorted(signals.items())
        }

    def translate(self, code: str) -> Quality:
        """The warehouse quality of a historian quality code; an unknown code is bad."""
        return self.quality.get(code, "bad")

    def signal_tags(self) -> list[str]:
        """The historian tags of state, reason and counter signals (not plain telemetry)."""
        return [tag for tag, binding in self.bindings().items() if binding.signal]


def load_historians(path: str | Path) -> dict[str, HistorianConfig]:
    """Read `config/historians.yaml`: one entry per historian (`pi`, `aveva`)."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {name: HistorianConfig.model_validate(entry) for name, entry in document.items()}
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise ConfigError(f"{path}: cannot read the historians' configuration: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: invalid historians' configuration: {problems}") from exc


@dataclass
class HistorianRows:
    """The warehouse rows of one window (the `Rows` the signal logic appends to)."""

    telemetry: list[TelemetryRecord] = field(default_factory=list)
    states: list[MachineStateRecord] = field(default_factory=list)
    counts: list[ProductionCountRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def to_rows(
    source: str,
    config: HistorianConfig,
    readings: Mapping[str, Sequence[Sample]],
    start: dt.datetime,
    end: dt.datetime,
) -> HistorianRows:
    """The rows of [start, end) from each tag's readings (boundary values included)."""
    bindings = config.bindings()
    signals = MachineSignals(config.state_codes)
    rows = HistorianRows()
    ordered, stepped = [], set()
    for tag, samples in readings.items():
        binding = bindings[tag]
        if binding.signal is Signal.TELEMETRY:
            _route(source, signals, binding, config, samples, rows)
            continue
        if binding.signal in (Signal.GOOD, Signal.REJECT):
            samples, added = _counter_window(samples, start, end)
            stepped |= {(binding.machine_id, binding.tag, ts) for ts in added}
        # signals drive the trackers: all of a machine's readings in time order
        ordered += [(sample[0], binding.signal, tag, sample) for sample in samples]
    ordered.sort(key=lambda item: item[:3])
    for _, _, tag, sample in ordered:
        _route(source, signals, bindings[tag], config, (sample,), rows)
    rows.telemetry = [
        r
        for r in rows.telemetry
        if start <= r.ts < end and (not stepped or (r.machine_id, r.tag, r.ts) not in stepped)
    ]
    rows.states = _clipped(rows.states, start, end)
    latest = {(r.machine_id, r.start_ts): r for r in rows.counts}
    rows.counts = list(latest.values())
    return rows


def _counter_window(
    samples: Sequence[Sample], start: dt.datetime, end: dt.datetime
) -> tuple[list[Sample], list[dt.datetime]]:
    """A counter's readings of [start, end], beginning at `start` and ending at `end` with the
    value in effect then (the last reading at or before), and the instants so added.

    So each window's count deltas lie inside it, and the next window starts from the same value:
    parts read after the last reading of a window are counted in the next one, never twice.
    """
    inside = [sample for sample in samples if start <= sample[0] <= end]
    added = []
    for edge, at in ((start, 0), (end, len(inside))):
        if not any(sample[0] == edge for sample in inside):
            earlier = [sample for sample in samples if sample[0] < edge]
            if earlier:
                inside.insert(at, (edge, *earlier[-1][1:]))
                added.append(edge)
    return inside, added


def _route(
    source: str,
    signals: MachineSignals,
    binding: Binding,
    config: HistorianConfig,
    samples: Sequence[Sample],
    rows: HistorianRows,
) -> None:
    translate, reading = config.translate, signals.reading
    for ts, value, code in samples:
        problem = reading(binding, ts, value, translate(code), rows)
        if problem is not None:
            rows.dead_letters.append(
                DeadLetter(
                    source,
                    "curated.machine_state"
                    if binding.signal in (Signal.STATE, Signal.REASON)
                    else "curated.production_count",
                    problem,
                    {"ts": ts.isoformat(), "value": value, "quality": code},
                    {"machine_id": binding.machine_id, "signal": binding.tag},
                )
            )


def _clipped(
    records: list[MachineStateRecord], start: dt.datetime, end: dt.datetime
) -> list[MachineStateRecord]:
    """The tracker's intervals (the last one for a start wins), clipped to [start, end)."""
    latest = {(r.machine_id, r.start_ts): r for r in records}
    clipped = []
    for record in latest.values():
        begin = max(record.start_ts, start)
        stop = end if record.end_ts is None else min(record.end_ts, end)
        if begin < stop:
            clipped.append(dataclasses.replace(record, start_ts=begin, end_ts=stop))
    return clipped


def readings(
    tags: pl.Series,
    timestamps: list[str],
    values: list[object],
    codes: pl.Series,
    offset: dt.timedelta,
    system: str,
    endpoint: str,
) -> pl.DataFrame:
    """A page's `READINGS` from its columns as the API sent them: ISO 8601 instants with an
    offset, values (numbers, strings, PI digital states `{"Name", ...}`, null) and quality codes.

    Numbers are read by polars; only the values that are no number (a digital state) are looked
    at one by one. An instant that is not ISO 8601 with an offset is the API's error."""
    texts = [value if value.__class__ is str else None for value in values]
    text = pl.Series("value_text", texts, dtype=pl.String)
    number = pl.Series("value", values, dtype=pl.Float64, strict=False)
    odd: list[str | None] = [None] * len(values)
    for at in (number.is_null() & text.is_null()).arg_true().to_list():
        value = values[at]
        name = value.get("Name") if isinstance(value, dict) else None
        if isinstance(name, str):  # a digital state, by name
            texts[at] = name
        elif value is not None:
            odd[at] = json.dumps(value, default=repr)
    text = pl.Series("value_text", texts, dtype=pl.String)
    unreadable = pl.Series("unreadable", odd, dtype=pl.String)
    try:
        instant = _instants(pl.Series("ts", timestamps, dtype=pl.String))
    except pl.exceptions.PolarsError as error:
        raise SourceError(system, endpoint, f"unreadable timestamp: {error}") from None
    return pl.DataFrame(
        [
            tags.alias("tag"),
            instant + offset if offset else instant,
            number,
            text,
            codes.alias("code"),
            unreadable,
        ]
    ).with_columns(
        pl.when(text.is_null()).then(number).alias("value"), pl.col("code").cast(pl.String)
    )


def _instants(texts: pl.Series) -> pl.Series:
    """ISO 8601 instants with an offset as UTC; whole seconds in UTC (`...:SSZ`, most of a
    historian's values) are read by polars' fast path, four times quicker than the general."""
    whole_utc = (texts.str.len_bytes() == len("2026-01-01T00:00:00Z")) & texts.str.ends_with("Z")
    if whole_utc.all():
        naive = texts.str.slice(0, 19).str.to_datetime(_WHOLE_SECONDS, time_unit="us")
        return naive.dt.replace_time_zone("UTC")
    return texts.str.to_datetime(_INSTANT, time_unit="us", time_zone="UTC")


def telemetry(
    config: HistorianConfig, page: pl.DataFrame, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """The `TELEMETRY_COLUMNS` rows of a page's plain telemetry tags inside [start, end), qualities
    translated (an unknown code is bad)."""
    plain = pl.DataFrame(
        [
            (tag, binding.machine_id, binding.tag, binding.unit)
            for tag, binding in config.bindings().items()
            if not binding.signal
        ],
        schema={
            "address": pl.String,
            "machine_id": pl.String,
            "name": pl.String,
            "unit": pl.String,
        },
        orient="row",
    )
    inside = page.filter(
        (pl.col("ts") >= start) & (pl.col("ts") < end) & pl.col("unreadable").is_null()
    )
    return inside.join(plain, left_on="tag", right_on="address", maintain_order="left").select(
        "machine_id",
        pl.col("name").alias("tag"),
        "ts",
        "value",
        "value_text",
        "unit",
        pl.col("code").replace_strict(config.quality, default="bad").alias("quality"),
    )


def unreadable(
    source: str, page: pl.DataFrame, start: dt.datetime, end: dt.datetime
) -> list[DeadLetter]:
    """The page's readings inside [start, end) whose value is no number, text or digital state,
    as dead letters naming the tag and the instant."""
    odd = page.filter(
        (pl.col("ts") >= start) & (pl.col("ts") < end) & pl.col("unreadable").is_not_null()
    )
    return [
        DeadLetter(
            source,
            "telemetry",
            "value is no number, text or digital state",
            {"tag": tag, "ts": ts.isoformat(), "value": value},
            {"tag": tag, "ts": ts.isoformat()},
        )
        for tag, ts, value in odd.select("tag", "ts", "unreadable").iter_rows()
    ]


def samples(readings: pl.DataFrame) -> dict[str, list[Sample]]:
    """Each tag's readings as samples, in the order read (for the signal logic)."""
    history: dict[str, list[Sample]] = {}
    readable = readings.filter(pl.col("unreadable").is_null()).drop("unreadable")
    for tag, ts, value, text, code in readable.iter_rows():
        history.setdefault(tag, []).append(
            (ts.replace(tzinfo=dt.UTC), text if value is None else value, code)
        )
    return history


def telemetry_of(records: Sequence[TelemetryRecord]) -> pl.DataFrame:
    """Telemetry records (the signal tags' readings) as `TELEMETRY_COLUMNS` rows."""
    return pl.DataFrame(
        [dataclasses.astuple(record) for record in records],
        schema=TELEMETRY_COLUMNS,
        orient="row",
        strict=False,
    )


class HistorianClient:
    """One historian's REST API over HTTP: what the PI and AVEVA clients share."""

    tags_per_request: int
    """Tags read by one request (and its pages): the unit a backfill reads ahead."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        clock_offset: dt.timedelta,
        timeout_s: float,
        verify_tls: bool,
        headers: Mapping[str, str],
    ) -> None:
        self.clock_offset = clock_offset
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            auth=auth,
            timeout=timeout_s,
            verify=verify_tls,
            headers={"Accept": "application/json", **headers},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def pages(
        self, tags: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[pl.DataFrame]:
        """Every recorded value of the tags in [start, end] with the boundary values around it,
        as `READINGS` pages in the order received, timestamps corrected by the clock offset."""
        raise NotImplementedError

    def recorded(self, tags: Sequence[str], start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """All the pages of `pages` in one frame."""
        return pl.concat([READINGS.to_frame(), *self.pages(tags, start, end)])


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` (an OAuth/OIDC access token)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def http_auth(username: str | None, password: str | None, token: str | None) -> httpx.Auth | None:
    """Bearer when a token is given, else Basic when a user is, else none (Kerberos: see README)."""
    if token:
        return BearerAuth(token)
    if username:
        return httpx.BasicAuth(username, password or "")
    return None
