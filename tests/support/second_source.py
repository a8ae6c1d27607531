"""A test-only second source of machine states: proves a shared table takes another writer."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, Definitions, MaterializeResult, multi_asset

from assets.ingest import ingest, source_specs
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import MachineStateRecord
from resources import ClockResource, WarehouseResource

SOURCE = "test"
MACHINE = "BER-L1-FILLER"
HOUR = dt.timedelta(hours=1)
RUNNING_HOUR_BEFORE_NOW = dt.timedelta(days=30, hours=1)


@multi_asset(name="test_source", specs=source_specs(SOURCE, ["machine_state"]), pool=SOURCE)
def test_source(
    context: AssetExecutionContext, warehouse: WarehouseResource, clock: ClockResource
) -> Iterator[MaterializeResult]:
    """One running hour of the filler, a month before now, where the simulated history has none
    (a hand-written log of a past shift could look like this)."""
    end = clock.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=30)
    with ingest(context, warehouse, SOURCE) as batch:
        batch.machine_states(
            [MachineStateRecord(MACHINE, end - dt.timedelta(hours=1), end, "running")]
        )
    yield from batch.materializations()


def definitions(settings: Settings) -> Definitions:
    return Definitions(assets=[test_source])
