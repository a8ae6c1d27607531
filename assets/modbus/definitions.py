"""Modbus TCP units, polled live by `oee realtime run` (realtime/modbus.py).

External assets, as for Sparkplug: upstream of the curated tables, with freshness checks there.
"""

from dagster import Definitions

from assets.ingest import realtime_specs
from oee_pipelines.settings import Settings


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=realtime_specs(
            "modbus",
            ["telemetry", "machine_state", "production_count"],
            description="Register maps of the machines' Modbus tag maps, polled per machine.",
        )
    )
