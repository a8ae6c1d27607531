"""The code location: the one place where every source's Definitions meet.

Each source folder exports a `definitions` function (its assets, checks, schedules, sensors
and resources); adding a source is one line in SOURCES. The shared curated tables get one
publisher each, fed by every source asset of their entity. Loaded lazily, so settings are read
when Dagster loads the code location, not at import, and no import order matters.
"""

import os
from collections.abc import Callable, Sequence

from dagster import Definitions, EnvVar, definitions

from assets.aveva import definitions as aveva
from assets.curated import definitions as curated
from assets.erp import definitions as erp
from assets.files import definitions as files
from assets.http import definitions as http
from assets.mes import definitions as mes
from assets.modbus import definitions as modbus
from assets.mqtt_json import definitions as mqtt_json
from assets.oee.assets import oee_dbt_models, oee_rollup_automation
from assets.opcua import definitions as opcua
from assets.pi import definitions as pi
from assets.plant import definitions as plant
from assets.simulator import definitions as simulator
from assets.sparkplug import definitions as sparkplug
from oee_pipelines.dbt_project import dbt_resource
from oee_pipelines.jobs import asset_jobs, context_sync_job, oee_rollup_job
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.schedules import hourly_oee_rollup, nightly_context_syncs
from oee_pipelines.settings import Settings
from resources import ClockResource, WarehouseResource

Source = Callable[[Settings], Definitions]
CONTEXT_SYSTEMS = ("OEE_MES_URL", "OEE_MES_SOAP_URL", "OEE_ERP_URL")
"""Where the nightly context sync reads from; it runs only when one of them is configured."""

SOURCES: tuple[Source, ...] = (
    plant.definitions,
    simulator.definitions,
    pi.definitions,
    aveva.definitions,
    sparkplug.definitions,
    mqtt_json.definitions,
    erp.definitions,
    mes.definitions,
    files.definitions,
    opcua.definitions,
    modbus.definitions,
    http.definitions,
)


def build_definitions(settings: Settings, sources: Sequence[Source] = SOURCES) -> Definitions:
    """Every source, the curated publishers they feed, the rollups, jobs and schedules."""
    fed = Definitions.merge(*(source(settings) for source in sources))
    source_assets = list(fed.assets or [])
    platform = Definitions(
        assets=[oee_dbt_models],
        schedules=[
            hourly_oee_rollup,
            *nightly_context_syncs(
                load_plant_model(settings.plant_model).sites,
                running=any(map(os.environ.get, CONTEXT_SYSTEMS)),
            ),
        ],
        sensors=[oee_rollup_automation],
        resources={
            "warehouse": WarehouseResource(
                database_url=EnvVar("OEE_DATABASE_URL"),
                clock_skew_s=settings.clock_skew_s,
                earliest_timestamp=settings.earliest_timestamp.isoformat(),
            ),
            "clock": ClockResource(),
            "dbt": dbt_resource(),
        },
    )
    merged = Definitions.merge(fed, curated.definitions(source_assets), platform)
    jobs = [oee_rollup_job, context_sync_job, *asset_jobs(merged.assets or [])]
    return Definitions.merge(merged, Definitions(jobs=jobs))


@definitions
def defs() -> Definitions:
    return build_definitions(Settings.from_env())
