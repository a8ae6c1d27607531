"""Sparkplug B edge nodes, ingested live by `oee realtime run` (realtime/sparkplug.py).

Dagster does not run this source: its assets are external, upstream of the curated tables they
feed, so the lineage reads from the PLC tag to the OEE row, and the tables' freshness checks say
whether the service and its edge nodes are alive.
"""

from dagster import Definitions

from assets.ingest import realtime_specs
from oee_pipelines.settings import Settings


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=realtime_specs(
            "sparkplug",
            ["telemetry", "machine_state", "production_count"],
            description="Sparkplug B metrics of the machines mapped in the plant model.",
        )
    )
