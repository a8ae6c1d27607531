"""The MES as a source: its sync, changeovers and write-back, and the MES resource (REST or
SOAP). `context_sync_job` runs them nightly with the ERP's (`oee_pipelines/schedules.py`)."""

import os

from dagster import Definitions

from assets.mes.assets import mes_changeovers, mes_sync, mes_write_back
from oee_pipelines.settings import Settings
from resources.historian import from_env
from resources.mes import MesResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[mes_sync, mes_changeovers, mes_write_back],
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
