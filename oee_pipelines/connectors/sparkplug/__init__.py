"""Sparkplug B 3.0: topics, payload decoding and encoding (generated from `sparkplug_b.proto`)."""

from oee_pipelines.connectors.sparkplug.codec import (
    COMPRESSED_UUID,
    SIGNED_BITS,
    DataType,
    Metric,
    Payload,
    PayloadError,
    Topic,
    encode_metric,
    encode_payload,
    ms_to_datetime,
    parse_address,
    parse_payload,
    parse_topic,
    scalar,
)

__all__ = [
    "COMPRESSED_UUID",
    "SIGNED_BITS",
    "DataType",
    "Metric",
    "Payload",
    "PayloadError",
    "Topic",
    "encode_metric",
    "encode_payload",
    "ms_to_datetime",
    "parse_address",
    "parse_payload",
    "parse_topic",
    "scalar",
]
