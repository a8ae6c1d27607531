"""Environmental sensors answering JSON over HTTP, polled live by `oee realtime run`
(realtime/http_poll.py).

External assets, upstream of the curated telemetry table, with its freshness check there.
"""

from dagster import Definitions

from assets.ingest import realtime_specs
from oee_pipelines.settings import Settings


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=realtime_specs(
            "http",
            ["telemetry"],
            description="Readings of the environmental sensors in the machines' HTTP tag maps.",
        )
    )
