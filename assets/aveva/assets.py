"""Tag history from AVEVA (Wonderware) Historian, backfilled by UTC day through its REST API."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from assets.historians import backfill_days
from assets.ingest import source_specs
from assets.partitions import HISTORIAN_BACKFILL_POLICY, HISTORIAN_DAYS
from resources import ClockResource, WarehouseResource
from resources.aveva import AvevaHistorianResource

SOURCE = "aveva"


@multi_asset(
    name="aveva_tag_history",
    specs=source_specs(
        SOURCE,
        ["telemetry", "machine_state", "production_count"],
        description="Stored tag history from AVEVA Historian (the tags of config/historians.yaml).",
    ),
    partitions_def=HISTORIAN_DAYS,
    backfill_policy=HISTORIAN_BACKFILL_POLICY,
    pool=SOURCE,
)
def aveva_tag_history(
    context: AssetExecutionContext,
    aveva: AvevaHistorianResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult]:
    """Each UTC day of the partition window: the ProcessValues of every configured AVEVA tag
    (OData, paged by next link), telemetry as read and state and counter tags through the same
    signal logic as realtime ingest, replacing that day's AVEVA rows in one transaction."""
    config = aveva.historian(SOURCE)
    with aveva.client(config) as client:
        yield from backfill_days(context, warehouse, clock, SOURCE, config, client.recorded)
