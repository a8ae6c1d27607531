"""History of the simulated plant, backfilled through the same writer as realtime ingest."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetSpec, Config, MaterializeResult, multi_asset
from pydantic import Field, field_validator

from oee_pipelines.plant_model import Site
from oee_pipelines.warehouse import MachineStateRecord, ProductionCountRecord, sync_log
from resources import PlantModelResource, SimulatorResource, WarehouseResource

SOURCE = "simulator"


class SimulatorHistoryConfig(Config):
    days: int = Field(default=3, ge=1, le=90, description="Production days of history to write.")
    until: str | None = Field(
        default=None,
        description="End of the history, an ISO 8601 instant with its offset; now when unset.",
    )

    @field_validator("until")
    @classmethod
    def _instant_with_offset(cls, until: str | None) -> str | None:
        if until is not None and dt.datetime.fromisoformat(until).utcoffset() is None:
            raise ValueError("until needs a UTC offset, e.g. 2026-10-27T12:00:00+00:00")
        return until

    def end(self, now: dt.datetime) -> dt.datetime:
        """Where the history ends: `until`, but never in the future."""
        return min(dt.datetime.fromisoformat(self.until), now) if self.until else now


@multi_asset(
    name="simulator_history",
    specs=[
        AssetSpec(
            ["curated", table],
            group_name="machine_data",
            kinds={"postgres"},
            deps=[["curated", "machine"]],
            description=f"{description} Written continuously by realtime ingest; this asset "
            "backfills the simulated plant's history.",
        )
        for table, description in (
            ("machine_state", "Machine state intervals."),
            ("production_count", "Good and reject counts per interval."),
        )
    ],
)
def simulator_history(
    context: AssetExecutionContext,
    config: SimulatorHistoryConfig,
    plant: PlantModelResource,
    simulator: SimulatorResource,
    warehouse: WarehouseResource,
) -> Iterator[MaterializeResult]:
    """Machine states and minute production counts of every simulated machine, from the start
    of the production day `days` days before `until` (default: now; never later than now) up
    to `until`. Rewriting a window is idempotent: the timeline is a function of the seed, and
    the writer upserts on each table's key.
    """
    model = plant.load()
    simulated = simulator.plant(model)
    until = config.end(dt.datetime.now(dt.UTC))
    writer = warehouse.writer()
    states = counts = 0
    with sync_log(
        warehouse.pool,
        actor="dagster",
        operation="backfill",
        source_system=SOURCE,
        target="curated.machine_state, curated.production_count",
    ) as run:
        for site, _, machine in model.machines():
            start = production_day_start(site, until, config.days)
            state_result = writer.write_machine_states(
                (
                    MachineStateRecord(machine.id, s.start, s.end, s.state, s.reason_code)
                    for s in simulated.states(machine.id, start, until)
                ),
                SOURCE,
            )
            count_result = writer.write_production_counts(
                (
                    ProductionCountRecord(machine.id, b.start, b.end, b.good_count, b.reject_count)
                    for b in simulated.count_buckets(machine.id, start, until)
                ),
                SOURCE,
            )
            states += state_result.received
            counts += count_result.received
            run.rows_read += state_result.received + count_result.received
            run.rows_written += state_result.written + count_result.written
            context.log.debug(f"{machine.id}: {state_result} {count_result}")
    window = {"source": SOURCE, "days": config.days, "until": until.isoformat()}
    yield MaterializeResult(
        asset_key=["curated", "machine_state"], metadata={**window, "rows": states}
    )
    yield MaterializeResult(
        asset_key=["curated", "production_count"], metadata={**window, "rows": counts}
    )


def production_day_start(site: Site, until: dt.datetime, days: int) -> dt.datetime:
    """Where the site's production day `days` days before today began: its first shift start.

    Starting there, the history never cuts a state interval of the simulated timeline (which
    is laid out in production days), so a later, longer window overwrites rather than overlaps.
    """
    local_date = until.astimezone(site.tz).date() - dt.timedelta(days=days)
    first_shift = min(shift.start for shift in site.shifts)
    return dt.datetime.combine(local_date, first_shift, tzinfo=site.tz).astimezone(dt.UTC)
