"""AVEVA Historian as a source: its tag-history backfill and the REST API resource."""

from dagster import Definitions

from assets.aveva.assets import aveva_tag_history
from oee_pipelines.settings import Settings
from resources.aveva import AvevaHistorianResource


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[aveva_tag_history],
        resources={"aveva": AvevaHistorianResource.from_environment("AVEVA")},
    )
