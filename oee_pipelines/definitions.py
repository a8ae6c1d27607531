"""The code location: the one place where assets, jobs, schedules and resources meet."""

from dagster import Definitions, EnvVar

from assets.oee.assets import oee_dbt_models, oee_rollup_automation
from assets.plant.assets import plant_model
from assets.quality.checks import machine_states_are_consistent, production_counts_are_consistent
from assets.simulator.assets import simulator_history
from oee_pipelines.dbt_project import dbt_resource
from oee_pipelines.jobs import demo_job, oee_rollup_job
from oee_pipelines.schedules import hourly_oee_rollup
from oee_pipelines.settings import Settings
from resources import PlantModelResource, SimulatorResource, WarehouseResource

_settings = Settings.from_env()

defs = Definitions(
    assets=[plant_model, simulator_history, oee_dbt_models],
    asset_checks=[machine_states_are_consistent, production_counts_are_consistent],
    jobs=[oee_rollup_job, demo_job],
    schedules=[hourly_oee_rollup],
    sensors=[oee_rollup_automation],
    resources={
        "warehouse": WarehouseResource(database_url=EnvVar("OEE_DATABASE_URL")),
        "plant": PlantModelResource(path=str(_settings.plant_model)),
        "simulator": SimulatorResource(seed=_settings.simulator_seed),
        "dbt": dbt_resource(),
    },
)
