"""Sparkplug B topics and payloads, both ways.

Decoding is written for the host's hot path: one protobuf parse per message, values read from the
metric's `value` oneof, signed integers reinterpreted from the unsigned wire fields. Encoding
serves the simulated plant and the tests.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from google.protobuf.message import DecodeError

from oee_pipelines.connectors.sparkplug.sparkplug_b_pb2 import DataType, Payload

Metric = Payload.Metric

NAMESPACE = "spBv1.0"
COMPRESSED_UUID = "SPBV1.0_COMPRESSED"
"""The `uuid` of a payload whose `body` holds another, compressed, payload."""

SIGNED_BITS: dict[int, int] = {
    DataType.Int8: 8,
    DataType.Int16: 16,
    DataType.Int32: 32,
    DataType.Int64: 64,
}
"""Signed datatypes travel in the unsigned `int_value`/`long_value` fields (two's complement)."""

_TEXT_TYPES = frozenset({DataType.String, DataType.Text, DataType.UUID})
_WBITS = {"DEFLATE": zlib.MAX_WBITS, "GZIP": 16 + zlib.MAX_WBITS}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class PayloadError(ValueError):
    """A payload or metric that cannot be decoded; the reason becomes a dead letter's reason."""


class Topic(NamedTuple):
    """`spBv1.0/<group>/<message type>/<edge node>[/<device>]`; a host's STATE has no edge node."""

    group: str
    message_type: str
    edge_node: str
    device: str | None


def parse_topic(topic: str) -> Topic | None:
    """The parts of a Sparkplug topic, or None when it is not one."""
    parts = topic.split("/")
    if parts[0] != NAMESPACE:
        return None
    if len(parts) == 3 and parts[1] == "STATE":
        return Topic("", "STATE", parts[2], None)
    if len(parts) == 4:
        return Topic(parts[1], parts[2], parts[3], None)
    if len(parts) == 5:
        return Topic(parts[1], parts[2], parts[3], parts[4])
    return None


def parse_address(address: str) -> tuple[tuple[str, str, str | None], str] | None:
    """A tag-map address `spBv1.0/<group>/<NDATA|DDATA>/<edge node>[/<device>]:<metric>` as
    ((group, edge node, device), metric), or None when it is not one."""
    topic, separator, metric = address.partition(":")
    parts = parse_topic(topic)
    if not separator or not metric or parts is None or parts.message_type == "STATE":
        return None
    return (parts.group, parts.edge_node, parts.device), metric


def ms_to_datetime(ms: int) -> dt.datetime:
    """A Sparkplug timestamp (milliseconds since the Unix epoch, UTC) as an aware datetime."""
    try:
        return _EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        raise PayloadError(f"timestamp {ms} ms is out of range") from None


def parse_payload(data: bytes, max_inflated_bytes: int) -> Payload:
    """Parse a payload, inflating a compressed one up to `max_inflated_bytes`."""
    try:
        payload = Payload.FromString(data)
    except DecodeError as exc:
        raise PayloadError(f"malformed Sparkplug B protobuf: {exc}") from None
    if payload.uuid != COMPRESSED_UUID:
        return payload
    algorithm = next((m.string_value for m in payload.metrics if m.name == "algorithm"), "DEFLATE")
    wbits = _WBITS.get(algorithm.upper())
    if wbits is None:
        raise PayloadError(f"unsupported compression algorithm {algorithm!r}")
    inflater = zlib.decompressobj(wbits)
    try:
        inflated = inflater.decompress(payload.body, max_inflated_bytes + 1)
    except zlib.error as exc:
        raise PayloadError(f"{algorithm} body cannot be inflated: {exc}") from None
    if len(inflated) > max_inflated_bytes or inflater.unconsumed_tail:
        raise PayloadError(f"{algorithm} body inflates beyond {max_inflated_bytes} bytes")
    if not inflater.eof:
        raise PayloadError(f"{algorithm} body is truncated")
    return parse_payload(inflated, max_inflated_bytes) if inflated else Payload()


def scalar(metric: Metric, datatype: int) -> int | float | str | None:
    """The metric's value as a number or text (None when it is null).

    `datatype` is the one declared at birth (DATA metrics usually omit it). Raises PayloadError
    for values the warehouse cannot hold (datasets, templates, bytes, arrays, NaN, infinity).
    """
    if metric.is_null:
        return None
    field = metric.WhichOneof("value")
    if field == "int_value" or field == "long_value":
        value = metric.int_value if field == "int_value" else metric.long_value
        bits = SIGNED_BITS.get(datatype)
        if bits is not None:
            value &= (1 << bits) - 1
            if value >> (bits - 1):
                value -= 1 << bits
        elif datatype == DataType.DateTime:
            return ms_to_datetime(value).isoformat()
        return value
    if field == "double_value" or field == "float_value":
        number = metric.double_value if field == "double_value" else metric.float_value
        if not math.isfinite(number):
            raise PayloadError(f"non-finite value {number}")
        return number
    if field == "boolean_value":
        return 1 if metric.boolean_value else 0
    if field == "string_value":
        return metric.string_value
    if field is None:
        raise PayloadError("metric without a value")
    raise PayloadError(f"unsupported value type {field} ({_type_name(datatype)})")


def _type_name(datatype: int) -> str:
    try:
        return DataType.Name(datatype)
    except ValueError:
        return f"datatype {datatype}"


def encode_metric(
    datatype: int,
    value: int | float | bool | str | None,
    *,
    name: str | None = None,
    alias: int | None = None,
    timestamp_ms: int | None = None,
    is_historical: bool = False,
) -> Metric:
    """A metric with its value in the field that `datatype` travels in (None is a null)."""
    metric = Metric(datatype=datatype)
    if name is not None:
        metric.name = name
    if alias is not None:
        metric.alias = alias
    if timestamp_ms is not None:
        metric.timestamp = timestamp_ms
    if is_historical:
        metric.is_historical = True
    if value is None:
        metric.is_null = True
    elif datatype in SIGNED_BITS or datatype in (DataType.UInt8, DataType.UInt16, DataType.UInt32):
        bits = SIGNED_BITS.get(datatype, 32)
        unsigned = int(value) % (1 << bits)
        if bits == 64:
            metric.long_value = unsigned
        else:
            metric.int_value = unsigned
    elif datatype in (DataType.UInt64, DataType.DateTime):
        metric.long_value = int(value)
    elif datatype == DataType.Float:
        metric.float_value = float(value)
    elif datatype == DataType.Double:
        metric.double_value = float(value)
    elif datatype == DataType.Boolean:
        metric.boolean_value = bool(value)
    elif datatype in _TEXT_TYPES:
        metric.string_value = str(value)
    else:
        raise ValueError(f"cannot encode a {_type_name(datatype)} value")
    return metric


def encode_payload(
    metrics: Iterable[Metric],
    timestamp_ms: int,
    seq: int | None = None,
    compress: str | None = None,
) -> bytes:
    """A serialized payload; `compress` ("DEFLATE" or "GZIP") wraps it as Sparkplug allows."""
    payload = Payload(timestamp=timestamp_ms, metrics=metrics)
    if seq is not None:
        payload.seq = seq
    data = payload.SerializeToString()
    if compress is None:
        return data
    deflater = zlib.compressobj(wbits=_WBITS[compress])
    wrapper = Payload(
        timestamp=timestamp_ms,
        uuid=COMPRESSED_UUID,
        body=deflater.compress(data) + deflater.flush(),
        metrics=[encode_metric(DataType.String, compress, name="algorithm")],
    )
    if seq is not None:
        wrapper.seq = seq
    return wrapper.SerializeToString()
