"""OPC UA servers, ingested live by `oee realtime run` (realtime/opcua.py).

External assets, as for Sparkplug: upstream of the curated tables, with freshness checks there.
"""

from dagster import Definitions

from assets.ingest import realtime_specs
from oee_pipelines.settings import Settings


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=realtime_specs(
            "opcua",
            ["telemetry", "machine_state", "production_count"],
            description="Monitored items of the machines' OPC UA tag maps, at source timestamps.",
        )
    )
