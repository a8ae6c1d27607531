"""The MES as a source: its sync, changeovers and write-back, the job that runs them nightly
at 02:00 in each site's timezone, and the MES resource (REST or SOAP)."""

import os

from dagster import AssetSelection, Definitions, define_asset_job

from assets.mes.assets import GROUP, mes_changeovers, mes_sync, mes_write_back
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.schedules import nightly_site_schedules
from oee_pipelines.settings import Settings
from resources.historian import from_env
from resources.mes import MesResource

mes_sync_job = define_asset_job(
    "mes_sync_job",
    selection=AssetSelection.groups(GROUP),
    description="Sync the MES into the warehouse, derive changeovers, write actuals back.",
)


def definitions(settings: Settings) -> Definitions:
    configured = bool(os.environ.get("OEE_MES_URL") or os.environ.get("OEE_MES_SOAP_URL"))
    return Definitions(
        assets=[mes_sync, mes_changeovers, mes_write_back],
        jobs=[mes_sync_job],
        schedules=nightly_site_schedules(
            mes_sync_job, load_plant_model(settings.plant_model).sites, running=configured
        ),
        resources={
            "mes": MesResource(
                rest_url=from_env("OEE_MES_URL"),
                soap_url=from_env("OEE_MES_SOAP_URL"),
                username=from_env("OEE_MES_USERNAME"),
                password=from_env("OEE_MES_PASSWORD"),
                token=from_env("OEE_MES_TOKEN"),
                verify_tls=os.environ.get("OEE_MES_VERIFY_TLS", "true").lower() != "false",
            )
        },
    )
