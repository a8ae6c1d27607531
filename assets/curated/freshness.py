"""Freshness of the rows that realtime ingest writes outside Dagster.

No materialization tells Dagster when `oee realtime run` wrote its last row, so each realtime
source gets a check on the curated table it feeds: its newest row is at most `max_lag_s` old.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AutomationCondition,
    asset_check,
)
from psycopg import sql

from assets.curated.assets import feeding_specs, shared_table
from assets.ingest import ENTITY_TAG, MAX_LAG_METADATA
from resources import ClockResource, WarehouseResource

CHECK_EVERY_FIVE_MINUTES = cast(
    AutomationCondition[AssetCheckKey], AutomationCondition.cron_tick_passed("*/5 * * * *")
)  # Dagster types the condition for assets; it evaluates checks alike


def freshness_checks(source_assets: Iterable[object]) -> list[AssetChecksDefinition]:
    """One check per realtime source and table, evaluated every five minutes."""
    return [
        _freshness_check(spec.key.path[0], spec.tags[ENTITY_TAG], spec.metadata[MAX_LAG_METADATA])
        for spec in feeding_specs(source_assets)
        if MAX_LAG_METADATA in spec.metadata
    ]


def _freshness_check(source: str, entity: str, max_lag_s: float) -> AssetChecksDefinition:
    table = shared_table(entity)

    @asset_check(
        asset=["curated", entity],
        name=f"{source}_{entity}_is_fresh",
        description=f"The newest row of curated.{entity} from {source} is at most {max_lag_s:g} s "
        "old (the realtime service is running and its source is sending).",
        automation_condition=CHECK_EVERY_FIVE_MINUTES,
    )
    def check(warehouse: WarehouseResource, clock: ClockResource) -> AssetCheckResult:
        query = sql.SQL("SELECT max({time}) FROM {table} WHERE source = %s").format(
            time=sql.Identifier(table.time_column), table=sql.Identifier("curated", entity)
        )
        with warehouse.pool.connection() as conn:
            (newest,) = conn.execute(query, (source,)).fetchone() or (None,)
        lag_s = None if newest is None else (clock.now() - newest).total_seconds()
        return AssetCheckResult(
            passed=lag_s is not None and lag_s <= max_lag_s,
            severity=AssetCheckSeverity.WARN,
            metadata={"newest": str(newest), "lag_s": lag_s, "max_lag_s": max_lag_s},
        )

    return check
