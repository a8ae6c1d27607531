"""PI as a source: its tag-history backfill and the PI Web API resource."""

from dagster import Definitions

from assets.pi.assets import pi_tag_history
from oee_pipelines.settings import Settings
from resources.historian import from_env
from resources.pi import PiWebApiResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[pi_tag_history],
        resources={
            "pi": PiWebApiResource.from_environment(
                "PI", data_server=from_env("OEE_PI_SERVER", "PISRV01")
            )
        },
    )
