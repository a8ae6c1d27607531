"""What the historian backfills (PI Web API, AVEVA Historian) share: each UTC day of the run's
window read from the historian, mapped to rows by the shared signal logic, and replaced whole.

A day is one transaction: the source's rows of that day are deleted and rewritten, so re-running
a day replaces exactly that day's rows. Where another source already holds the day's data it
wins and the historian fills the gaps (`oee_pipelines.warehouse.window`); what was dropped is the
run's `overlap_*` metadata. A day the historian fails on fails alone: the other days of the run
are written and reported materialized, the run fails naming the failed days and their errors,
and re-running those days completes them.
"""

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

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
from oee_pipelines.connectors.historian import HistorianConfig, Sample, to_rows
from oee_pipelines.errors import SourceError
from oee_pipelines.warehouse.window import WindowWriter
from resources import ClockResource, WarehouseResource
from resources.historian import HistorianResource

Read = Callable[[Sequence[str], dt.datetime, dt.datetime], dict[str, list[Sample]]]
"""A historian client's read: tags and a window in, each tag's samples out."""
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
                context, resources.warehouse, resources.clock, source, config, client.recorded
            )

    return tag_history


def backfill_days(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    clock: ClockResource,
    source: str,
    config: HistorianConfig,
    read: Read,
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
    tags = list(config.bindings())
    writer = WindowWriter(warehouse.pool)
    overlap: Counter[str] = Counter()
    done, failed = [], []
    with ingest(context, warehouse, source, writer=writer) as batch:
        for start, end in days:
            try:
                rows = to_rows(source, config, read(tags, start, end), start, end)
            except SourceError as error:
                context.log.error(f"{source} {start.date()}: {error}")
                failed.append(f"{start.date()}: {error}")
                continue
            with writer.replacing(source, start, end) as replacement:
                telemetry, states, counts, dropped = replacement.without_overlap(
                    rows.telemetry, rows.states, rows.counts
                )
                batch.telemetry(telemetry)
                batch.machine_states(states)
                batch.production_counts(counts)
                replacement.dead_letters(rows.dead_letters)
            overlap.update(dropped)
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
