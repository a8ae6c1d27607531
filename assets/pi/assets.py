"""Tag history from OSIsoft/AVEVA PI, backfilled by UTC day through the PI Web API."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from assets.historians import backfill_days
from assets.ingest import source_specs
from assets.partitions import HISTORIAN_BACKFILL_POLICY, HISTORIAN_DAYS
from resources import ClockResource, WarehouseResource
from resources.pi import PiWebApiResource

SOURCE = "pi"


@multi_asset(
    name="pi_tag_history",
    specs=source_specs(
        SOURCE,
        ["telemetry", "machine_state", "production_count"],
        description="Recorded tag history from PI (the tags of config/historians.yaml).",
    ),
    partitions_def=HISTORIAN_DAYS,
    backfill_policy=HISTORIAN_BACKFILL_POLICY,
    pool=SOURCE,
)
def pi_tag_history(
    context: AssetExecutionContext,
    pi: PiWebApiResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult]:
    """Each UTC day of the partition window: the recorded values of every configured PI tag
    (`streamsets/recorded`, paged), telemetry as read and state and counter tags through the
    same signal logic as realtime ingest, replacing that day's PI rows in one transaction."""
    config = pi.historian(SOURCE)
    with pi.client(config) as client:
        yield from backfill_days(context, warehouse, clock, SOURCE, config, client.recorded)
