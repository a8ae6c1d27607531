"""What the historian backfills (PI Web API, AVEVA Historian) share: each UTC day of the run's
window read from the historian, mapped to rows, and replaced whole.

A day is one transaction: the source's rows of that day are deleted and rewritten, so re-running
a day replaces exactly that day's rows. Plain telemetry goes page by page, as columns, through
the columnar writer (`warehouse.columnar`: the writer's checks as column expressions, COPY per
day); the state and counter tags' readings through the signal logic of realtime ingest. A thread
reads the next page while one is written, so the historian's server, this process and the
database work at once. Where another source already holds the day's data it
wins and the historian fills the gaps (`oee_pipelines.warehouse.window`); what was dropped is the
run's `overlap_*` metadata. A day the historian fails on fails alone: the other days of the run
are written and reported materialized, the run fails naming the failed days and their errors,
and re-running those days completes them.
"""

import datetime as dt
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    ExecuteInProcessResult,
    Failure,
    MaterializeResult,
    materialize,
    multi_asset,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from assets.ingest import ingest, source_specs
from assets.partitions import HISTORIAN_BACKFILL_POLICY, HISTORIAN_DAYS
from oee_pipelines.connectors.historian import (
    READINGS,
    HistorianClient,
    HistorianConfig,
    samples,
    telemetry,
    telemetry_of,
    to_rows,
    unreadable,
)
from oee_pipelines.errors import SourceError
from oee_pipelines.warehouse import DeadLetter, WriteResult
from oee_pipelines.warehouse.columnar import TELEMETRY, ColumnarLoad
from oee_pipelines.warehouse.records import Plausibility, Window
from oee_pipelines.warehouse.window import WindowWriter
from resources import ClockResource, WarehouseResource
from resources.historian import HistorianResource

Read = Callable[[Sequence[str], dt.datetime, dt.datetime], Iterator[pl.DataFrame]]
"""A historian client's read: tags and a window in, `READINGS` pages out."""
_DAY = dt.timedelta(days=1)


def tag_history_asset(source: str, description: str) -> AssetsDefinition:
    """The backfill asset `<source>_tag_history` of a historian whose resource key is `source`:
    each UTC day of the partition window, the recorded values of every configured tag,
    telemetry as read and state and counter tags through the same signal logic as realtime
    ingest, replacing that day's rows of the source in one transaction."""

    @multi_asset(
        name=f"{source}_tag_history",
        specs=source_specs(
            source, ["telemetry", "machine_state", "production_count"], description=description
        ),
        partitions_def=HISTORIAN_DAYS,
        backfill_policy=HISTORIAN_BACKFILL_POLICY,
        pool=source,
        required_resource_keys={source, "warehouse", "clock"},
    )
    def tag_history(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        resources = context.resources
        historian: HistorianResource = getattr(resources, source)
        config = historian.historian(source)
        with historian.client(config) as client:
            yield from backfill_days(
                context, resources.warehouse, resources.clock, source, config, client
            )

    return tag_history


def backfill_days(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    clock: ClockResource,
    source: str,
    config: HistorianConfig,
    client: HistorianClient,
) -> Iterator[MaterializeResult]:
    """Replace the source's rows of every UTC day of the run's partition window."""
    window = context.partition_time_window
    until = min(window.end, clock.now())
    days = []
    day = window.start.astimezone(dt.UTC)
    while day < until:
        days.append((day, min(day + _DAY, until)))
        day += _DAY
    if not days:
        raise Failure(f"{source}: the window {window.start} - {window.end} is in the future")
    writer = WindowWriter(warehouse.pool)
    plausible = Plausibility(now=clock.now)
    overlap: Counter[str] = Counter()
    done, failed = [], []
    with (
        ingest(context, warehouse, source, writer=writer) as batch,
        ReadAhead(client.pages, list(config.bindings()), days, client.tags_per_request) as pages,
    ):
        for start, end in days:
            try:
                replaced = replace_window(
                    writer, source, config, pages.window(), start, end, plausible.window()
                )
            except SourceError as error:
                context.log.error(f"{source} {start.date()}: {error}")
                failed.append(f"{start.date()}: {error}")
                continue
            for entity, result in replaced.results.items():
                batch.written(entity, result)
            overlap.update(replaced.overlap)
            done.append(start)
        if failed:
            for start in done:
                for key in context.assets_def.keys:
                    context.log_event(
                        AssetMaterialization(key, partition=start.strftime("%Y-%m-%d"))
                    )
            raise Failure(
                f"{source}: {len(failed)} of {len(days)} days failed (re-run them): "
                + "; ".join(failed)
            )
    yield from batch.materializations(
        window=f"{window.start.isoformat()} - {until.isoformat()}",
        days=len(days),
        **{f"overlap_{entity}": count for entity, count in sorted(overlap.items())},
        overlap_rule="other sources win; the historian fills their gaps",
    )


@dataclass(frozen=True)
class Replaced:
    """What replacing one window wrote per table, and what the overlap rule dropped."""

    results: dict[str, WriteResult]
    overlap: dict[str, int]


def replace_window(
    writer: WindowWriter,
    source: str,
    config: HistorianConfig,
    pages: Iterable[pl.DataFrame],
    start: dt.datetime,
    end: dt.datetime,
    plausible: Window,
) -> Replaced:
    """Replace the source's rows of [start, end) with the window's `READINGS` pages, or leave
    them as they were when reading fails (the read's `SourceError` is raised).

    Plain telemetry is loaded page by page as it arrives; the signal tags' readings wait for the
    window's last page and go through the signal logic (`to_rows`), their rows too."""
    signal_tags = config.signal_tags()
    signal_pages = [READINGS.to_frame()]
    letters: list[DeadLetter] = []
    overlap: Counter[str] = Counter()
    with writer.replacing(source, start, end) as replacement:
        taken = replacement.others_telemetry()

        def gaps(rows: pl.DataFrame) -> pl.DataFrame:
            """The overlap rule: another source's reading at the same key wins."""
            if taken.is_empty():
                return rows
            kept = rows.join(taken, on=["machine_id", "tag", "ts"], how="anti")
            overlap["telemetry"] += len(rows) - len(kept)
            return kept

        context = {"window": f"{start.isoformat()} - {end.isoformat()}"}
        with ColumnarLoad(replacement.conn, TELEMETRY, source, plausible, context) as load:
            for page in pages:
                signal_pages.append(page.filter(pl.col("tag").is_in(signal_tags)))
                letters += unreadable(source, page, start, end)
                load.add(gaps(telemetry(config, page, start, end)))
            rows = to_rows(source, config, samples(pl.concat(signal_pages)), start, end)
            load.add(gaps(telemetry_of(rows.telemetry)))
        loaded = load.result()
        states, counts, dropped = replacement.without_overlap(rows.states, rows.counts)
        overlap.update(dropped)
        results = {
            "telemetry": WriteResult(loaded.received, loaded.written, len(loaded.rejected)),
            "machine_state": writer.write_machine_states(states, source),
            "production_count": writer.write_production_counts(counts, source),
        }
        replacement.dead_letters(rows.dead_letters + letters)
    return Replaced(results, dict(overlap))


class ReadAhead:
    """The pages of consecutive windows, read ahead of the writing by threads of their own.

    Each window's tags are read in groups of `group` (the client's request), `depth` groups at
    once and a few pages ahead, the next group as soon as a thread is free: the historian's
    server answers one call while this process parses another and writes a third. A client that
    holds a request's pages until its last (`connectors.pi`) still has the next request read
    while one is written. The groups are runs of consecutive tags, taken in turn, so pages keep
    the order of the tags given (the order of the warehouse's key, from
    `HistorianConfig.bindings`). A window's `SourceError` is raised by its pages; the windows
    after it are read on."""

    def __init__(
        self,
        read: Read,
        tags: Sequence[str],
        windows: Sequence[tuple[dt.datetime, dt.datetime]],
        group: int,
        depth: int = 2,
    ) -> None:
        groups = [list(tags[k : k + group]) for k in range(0, len(tags), group)]
        self._stop = threading.Event()
        self._dropped: set[int] = set()
        """Windows that failed: the rest of their pages is not wanted."""
        self._threads = ThreadPoolExecutor(depth, thread_name_prefix="historian-read")
        self._windows = [
            [
                (pages, self._threads.submit(self._read, read, group, start, end, index, pages))
                for group in groups
                for pages in [queue.Queue[pl.DataFrame | SourceError | None](maxsize=2)]
            ]
            for index, (start, end) in enumerate(windows)
        ]
        self._next = 0

    def _read(
        self,
        read: Read,
        tags: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        index: int,
        pages: queue.Queue[pl.DataFrame | SourceError | None],
    ) -> None:
        """One group's pages of a window into its queue, then None (or its error)."""
        try:
            for page in read(tags, start, end):
                self._put(index, pages, page)
        except SourceError as error:
            self._put(index, pages, error)
            return
        self._put(index, pages, None)

    def _put(self, index: int, pages: queue.Queue, item: object) -> None:
        while not self._stop.is_set() and index not in self._dropped:
            try:
                pages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # the writing stopped early: the reads stop at their next page
        self._threads.shutdown(wait=True, cancel_futures=True)

    def window(self) -> Iterator[pl.DataFrame]:
        """The pages of the next window."""
        index, self._next = self._next, self._next + 1
        for pages, read in self._windows[index]:
            while True:
                try:
                    item = pages.get(timeout=1)
                except queue.Empty:
                    if read.done():
                        read.result()  # what no read foresaw (a bug) fails the run
                    continue
                if item is None:
                    break
                if isinstance(item, SourceError):
                    self._dropped.add(index)
                    raise item
                yield item


class _Stopped(Exception):
    """The reading was stopped: nobody takes its pages any more."""


def backfill_recent_days(
    assets: Sequence[AssetsDefinition],
    resources: Mapping[str, object],
    now: dt.datetime,
    days: int,
) -> list[ExecuteInProcessResult]:
    """Materialize the last `days` complete UTC days of each historian asset in one run each, in
    process (what `oee demo` does; the UI backfills through the daemon instead)."""
    last = now.astimezone(dt.UTC).date() - _DAY
    first = last - (days - 1) * _DAY
    return [
        materialize(
            [asset],
            resources=dict(resources),
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
            },
            raise_on_error=False,
        )
        for asset in assets
    ]
