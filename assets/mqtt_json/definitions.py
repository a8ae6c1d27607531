"""Plain MQTT JSON sensors, ingested live by `oee realtime run` (realtime/mqtt_json.py).

External assets, as for Sparkplug: upstream of the curated tables, with freshness checks there.
"""

from dagster import Definitions

from assets.ingest import realtime_specs
from oee_pipelines.settings import Settings


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=realtime_specs(
            "mqtt_json",
            ["telemetry", "machine_state", "production_count"],
            description="JSON values on topics mapped to machines and tags.",
        )
    )
