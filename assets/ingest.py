"""The ingest pattern of every batch source: an audit row, the shared writer, standard metadata.

A batch source is its fetching and mapping, and nothing else:

    @multi_asset(specs=source_specs("pi", ["telemetry"]), pool="pi")
    def pi_tag_history(context, warehouse):
        with ingest(context, warehouse, "pi") as batch:
            batch.telemetry(fetch_and_map(...))
        yield from batch.materializations()

Each source's assets have keys of their own (`<source>/<entity>`) and are tagged with the curated
entity they feed; the one publisher of each curated table depends on all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult

from oee_pipelines.warehouse import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
    WarehouseWriter,
    WriteResult,
    sync_log,
)
from resources import WarehouseResource

ENTITY_TAG = "oee/entity"
"""Tag of a source asset: the curated table (entity) its rows land in."""
MAX_LAG_METADATA = "oee/max_lag_s"
"""Metadata of a realtime source asset: how old its newest row may be before it is stale."""


def source_specs(
    source: str, entities: Sequence[str], *, description: str = "", **spec: Any
) -> list[AssetSpec]:
    """The assets of a source's writes: key `<source>/<entity>`, grouped by source."""
    return [
        AssetSpec(
            [source, entity],
            group_name=source,
            tags={ENTITY_TAG: entity},
            kinds={"postgres"},
            deps=[AssetKey(["curated", "machine"])],
            description=f"{description} Rows of curated.{entity} written by {source}.".strip(),
            **spec,
        )
        for entity in entities
    ]


def realtime_specs(
    source: str, entities: Sequence[str], *, description: str, max_lag_s: float = 300
) -> list[AssetSpec]:
    """External assets of a realtime source: `oee realtime run` writes them, outside Dagster.

    They stand upstream of the curated tables in the lineage (PLC tag -> table -> OEE), and the
    publisher of each table checks that their newest row is at most `max_lag_s` old.
    """
    return [
        AssetSpec(
            [source, entity],
            group_name=source,
            tags={ENTITY_TAG: entity},
            kinds={"python"},
            metadata={MAX_LAG_METADATA: max_lag_s},
            description=f"{description} Rows of curated.{entity} written by the realtime "
            f"service (`oee realtime run`).",
        )
        for entity in entities
    ]


class Batch:
    """Writes of one source in one run, counted per entity for the audit row and the metadata."""

    def __init__(self, source: str, writer: WarehouseWriter) -> None:
        self.source = source
        self._writer = writer
        self.totals: dict[str, Counter[str]] = {}

    def machine_states(self, records: Iterable[MachineStateRecord]) -> WriteResult:
        return self._count("machine_state", self._writer.write_machine_states(records, self.source))

    def production_counts(self, records: Iterable[ProductionCountRecord]) -> WriteResult:
        result = self._writer.write_production_counts(records, self.source)
        return self._count("production_count", result)

    def telemetry(self, records: Iterable[TelemetryRecord]) -> WriteResult:
        return self._count("telemetry", self._writer.write_telemetry(records, self.source))

    def written(self, entity: str, result: WriteResult) -> WriteResult:
        """Count a write made past the writer (a columnar load of the same rules)."""
        return self._count(entity, result)

    def _count(self, entity: str, result: WriteResult) -> WriteResult:
        totals = self.totals.setdefault(entity, Counter())
        totals.update(
            received=result.received, written=result.written, dead_lettered=result.dead_lettered
        )
        return result

    @property
    def rows_read(self) -> int:
        return sum(totals["received"] for totals in self.totals.values())

    @property
    def rows_written(self) -> int:
        return sum(totals["written"] for totals in self.totals.values())

    def materializations(self, **metadata: Any) -> Iterator[MaterializeResult]:
        """One result per entity written, with the standard metadata and the caller's own."""
        for entity, totals in self.totals.items():
            yield MaterializeResult(
                asset_key=[self.source, entity],
                metadata={
                    "dagster/row_count": totals["received"],
                    "rows_written": totals["written"],
                    "dead_lettered": totals["dead_lettered"],
                    "source": self.source,
                    **metadata,
                },
            )


@contextmanager
def ingest(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    source: str,
    operation: str = "backfill",
    writer: WarehouseWriter | None = None,
) -> Iterator[Batch]:
    """A batch of writes recorded in `audit.sync_log` (failed with its error if it raises);
    `writer` replaces the warehouse's own (a partitioned backfill's writes its windows whole)."""
    batch = Batch(source, writer or warehouse.writer())
    targets = ", ".join(f"curated.{spec.key.path[-1]}" for spec in context.assets_def.specs)
    with sync_log(
        warehouse.pool, actor="dagster", operation=operation, source_system=source, target=targets
    ) as run:
        try:
            yield batch
        finally:
            run.rows_read, run.rows_written = batch.rows_read, batch.rows_written
    context.log.info(f"{source}: {dict(batch.totals)}")
