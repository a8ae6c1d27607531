"""AVEVA Historian as a source: its tag-history backfill and the REST API resource."""

import os

from dagster import Definitions, EnvVar

from assets.aveva.assets import aveva_tag_history
from oee_pipelines.settings import PROJECT_DIR, Settings
from resources.aveva import AvevaHistorianResource
from resources.historian import from_env


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[aveva_tag_history],
        resources={
            "aveva": AvevaHistorianResource(
                base_url=EnvVar("OEE_AVEVA_URL"),
                username=from_env("OEE_AVEVA_USERNAME"),
                password=from_env("OEE_AVEVA_PASSWORD"),
                token=from_env("OEE_AVEVA_TOKEN"),
                verify_tls=os.environ.get("OEE_AVEVA_VERIFY_TLS", "true").lower() != "false",
                config_path=os.environ.get(
                    "OEE_HISTORIANS", str(PROJECT_DIR / "config" / "historians.yaml")
                ),
            )
        },
    )
