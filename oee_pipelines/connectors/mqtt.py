"""What every MQTT source does with a message before decoding it."""

from __future__ import annotations

from oee_pipelines.warehouse.records import DeadLetter

TELEMETRY = "curated.telemetry"
"""The target of a dead letter that was a whole message: every value is a telemetry row first."""
KEPT_PREFIX_BYTES = 4096
"""How much of an oversized payload a dead letter keeps: enough to recognise its publisher."""


def oversized(source: str, topic: str, payload: bytes, limit: int) -> DeadLetter | None:
    """A dead letter for a payload over `limit` bytes (not decoded, its start kept), or None."""
    if len(payload) <= limit:
        return None
    return DeadLetter(
        source,
        TELEMETRY,
        f"payload of {len(payload)} bytes exceeds the limit of {limit} bytes",
        payload[:KEPT_PREFIX_BYTES],
        {"topic": topic, "size": str(len(payload))},
    )
