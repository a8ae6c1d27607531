"""History of the simulated plant, backfilled through the same writer as realtime ingest."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, Config, MaterializeResult, multi_asset
from pydantic import Field, field_validator

from assets.ingest import ingest, source_specs
from oee_pipelines.warehouse import MachineStateRecord, ProductionCountRecord
from resources import ClockResource, PlantModelResource, SimulatorResource, WarehouseResource
from simulator import production_day_start

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
    specs=source_specs(
        SOURCE,
        ["machine_state", "production_count"],
        description="History of the simulated plant (states, minute counts).",
    ),
    pool=SOURCE,
)
def simulator_history(
    context: AssetExecutionContext,
    config: SimulatorHistoryConfig,
    plant: PlantModelResource,
    simulator: SimulatorResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult]:
    """Machine states and minute production counts of every simulated machine, from the start
    of the production day `days` days before `until` (default: now; never later than now) up
    to `until`. Starting at a production day's start never cuts a simulated state interval, so
    a later, longer window overwrites rather than overlaps; the timeline is a function of the
    seed and the writer upserts on each table's key, so rewriting a window is idempotent.
    """
    model = plant.load()
    simulated = simulator.plant(model)
    until = config.end(clock.now())
    with ingest(context, warehouse, SOURCE) as batch:
        for site, _, machine in model.machines():
            days_back = until.astimezone(site.tz).date() - dt.timedelta(days=config.days)
            start = production_day_start(site, days_back)
            batch.machine_states(
                MachineStateRecord(machine.id, s.start, s.end, s.state, s.reason_code)
                for s in simulated.states(machine.id, start, until)
            )
            batch.production_counts(
                ProductionCountRecord(machine.id, b.start, b.end, b.good_count, b.reject_count)
                for b in simulated.count_buckets(machine.id, start, until)
            )
    yield from batch.materializations(days=config.days, until=until.isoformat())
