"""PI as a source: its tag-history backfill and the PI Web API resource."""

import os

from dagster import Definitions, EnvVar

from assets.pi.assets import pi_tag_history
from oee_pipelines.settings import PROJECT_DIR, Settings
from resources.historian import from_env
from resources.pi import PiWebApiResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[pi_tag_history],
        resources={
            "pi": PiWebApiResource(
                base_url=EnvVar("OEE_PI_URL"),
                data_server=from_env("OEE_PI_SERVER", "PISRV01"),
                username=from_env("OEE_PI_USERNAME"),
                password=from_env("OEE_PI_PASSWORD"),
                token=from_env("OEE_PI_TOKEN"),
                verify_tls=os.environ.get("OEE_PI_VERIFY_TLS", "true").lower() != "false",
                config_path=os.environ.get(
                    "OEE_HISTORIANS", str(PROJECT_DIR / "config" / "historians.yaml")
                ),
            )
        },
    )
