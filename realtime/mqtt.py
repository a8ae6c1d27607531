"""One MQTT source on its own paho-mqtt 2.x connection: durable session, manual acknowledgement.

The broker keeps our session (MQTT v5 session expiry, or a 3.1.1 persistent session) and every
QoS 1 message until we acknowledge it, and we acknowledge a message only once the batch that
holds it is committed or spooled. So a crash, a broker restart or a cut network costs nothing:
the broker sends again whatever was not acknowledged, and the idempotent writes absorb repeats.
Acknowledgements are sent only on the connection that received the message (a packet id means
nothing on the next connection, where the broker resends the message anyway).

Messages are checked and decoded in paho's network thread; those without acknowledgement (QoS
0, as Sparkplug data travels) enter the intake together once the read that brought them is
handled, which saves most of the cost per message beyond decoding. A payload over the size limit is
never decoded, and a topic prefix that publishes faster than its token bucket allows has its
excess kept as dead letters, never decoded either: a flood costs its own publisher, not the
others. When the writer is behind, `Intake.put` blocks this thread, so we stop reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from oee_pipelines.errors import ConfigError
from oee_pipelines.warehouse import DeadLetter
from realtime.batching import Ack, Intake
from realtime.config import LimitsConfig, MqttConfig, RateLimitConfig
from realtime.logs import log, masked
from realtime.metrics import Metrics
from realtime.source import Decoded, MqttSource, Outgoing

Clock = Callable[[], dt.datetime]
_TOPIC_CACHE_SIZE = 100_000
_PUBLISH = 0x30
_HELD_MESSAGES = 1000


@dataclass(frozen=True)
class Broker:
    """Where to connect, from an `mqtt://`, `mqtts://` or `tcp://` URL."""

    url: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ConfigError(f"not an MQTT broker URL: {masked(url)}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            url=masked(url),
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class TokenBuckets:
    """A token bucket per topic prefix (the first `prefix_levels` levels of the topic)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self._rate = config.messages_per_s
        self._burst = float(config.burst)
        self._levels = config.prefix_levels
        self._buckets: dict[str, tuple[float, float]] = {}
        self._prefixes: dict[str, str] = {}

    def allow(self, topic: str) -> bool:
        prefix = self._prefixes.get(topic)
        if prefix is None:
            if len(self._prefixes) >= _TOPIC_CACHE_SIZE:  # a publisher inventing topics
                self._prefixes.clear()
            prefix = "/".join(topic.split("/", self._levels)[: self._levels])
            self._prefixes[topic] = prefix
        now = time.monotonic()
        tokens, then = self._buckets.get(prefix, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[prefix] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


class _BufferedSocket:
    """A socket read 64 kB at a time: paho asks for each packet in three reads (its first byte,
    its length, its body), each a system call, and selects before each packet; a buffer that it
    sees as `pending` (as it sees an SSL socket's) serves most reads, with no select between."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        if self._position >= len(self._buffer):
            self._buffer, self._position = self._sock.recv(65_536), 0  # may raise: not ready
        chunk = self._buffer[self._position : self._position + size]
        self._position += len(chunk)
        return chunk

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0  # SSL's own buffer
        return len(self._buffer) - self._position + inner

    def publish_packet(self) -> tuple[int, bytes] | None:
        """The PUBLISH packet (QoS 0 or 1) at the head of the buffer, whole: its first byte and
        its body; None (nothing taken) for any other packet or one not all buffered yet."""
        buffer, start = self._buffer, self._position
        if len(buffer) - start < 2 or buffer[start] & 0xF0 != _PUBLISH or buffer[start] & 0x04:
            return None
        length, shift, index = 0, 0, start + 1
        while index < len(buffer) and index - start <= 4:
            byte = buffer[index]
            length |= (byte & 0x7F) << shift
            shift, index = shift + 7, index + 1
            if not byte & 0x80:
                if len(buffer) - index < length:
                    return None
                self._position = index + length
                return buffer[start], buffer[index : index + length]
        return None

    def send(self, data: bytes) -> int:
        return int(self._sock.send(data))

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def close(self) -> None:
        self._sock.close()


class _Received(paho.MQTTMessage):
    """An incoming message: paho's, without the `info` (with its lock and condition) that paho
    makes for every message, yet uses only to track the messages it publishes."""

    __slots__ = ()

    def __init__(self, mid: int, topic: bytes) -> None:
        self.mid, self._topic = mid, topic
        self.state, self.properties = paho.mqtt_ms_invalid, None


class _Client(paho.Client):
    """paho's client reading through a `_BufferedSocket`, every buffered packet per wake-up, and
    handing each message straight to `on_message`: paho would first match its topic against
    the per-topic callbacks, which we never register, at a quarter of its cost per message."""

    def _create_socket(self) -> Any:
        return _BufferedSocket(super()._create_socket())

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        if self.on_message is not None:
            with self._in_callback_mutex:
                self.on_message(self, self._userdata, message)

    def _packet_read(self) -> paho.MQTTErrorCode:
        """Buffered MQTT 3.1.1 PUBLISH packets are decoded here, each in one step, all that are
        buffered whole; paho reads the rest (and every v5 packet, whose properties it decodes)
        in its own steps."""
        sock = self._sock
        if (
            self._in_packet["command"] == 0
            and self._protocol != paho.MQTTv5
            and isinstance(sock, _BufferedSocket)
        ):
            packet = sock.publish_packet()
            if packet is not None:
                now = time.monotonic()  # when the read that brought them returned, give or take
                with self._msgtime_mutex:
                    self._last_bytes_received = now
                result = self._publish_received(*packet, now)
                while (  # the rest of the buffered PUBLISH packets, without paho's loop per one
                    result == paho.MQTT_ERR_SUCCESS
                    and self._sock is sock
                    and (packet := sock.publish_packet()) is not None
                ):
                    result = self._publish_received(*packet, now)
                return result
        return super()._packet_read()

    def _publish_received(self, command: int, body: bytes, now: float) -> paho.MQTTErrorCode:
        """What paho does with an incoming QoS 0 or 1 PUBLISH (3.1.1), without its copies."""
        qos = (command & 0x06) >> 1
        topic_end = 2 + int.from_bytes(body[:2], "big")
        start = topic_end + 2 * qos
        if topic_end == 2 or len(body) < start:
            return paho.MQTT_ERR_PROTOCOL  # an empty topic, or cut short: as paho refuses it
        message = _Received(int.from_bytes(body[topic_end:start], "big"), body[2:topic_end])
        message.qos, message.dup, message.retain = qos, bool(command & 0x08), bool(command & 0x01)
        message.payload, message.timestamp = body[start:], now
        self._handle_on_message(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(message.mid)
        return paho.MQTT_ERR_SUCCESS

    on_drained: Callable[[], None] | None = None
    """Called after each read, once every packet it buffered has been handled."""

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        try:
            result = super().loop_read(max_packets)
            while (
                result == paho.MQTT_ERR_SUCCESS
                and isinstance(self._sock, _BufferedSocket)
                and self._sock.pending()
            ):
                result = super().loop_read(max_packets)
            return result
        finally:
            if self.on_drained is not None:
                self.on_drained()


class MqttConnector:
    """Runs one MqttSource: connects, subscribes, decodes, and acknowledges what is durable."""

    def __init__(
        self,
        source: MqttSource,
        broker: Broker,
        config: MqttConfig,
        limits: LimitsConfig,
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self.name = source.name
        self._source = source
        self._broker = broker
        self._config = config
        self._max_payload = limits.max_payload_bytes
        self._buckets = TokenBuckets(limits.rate)
        self._metrics = metrics
        self._messages = metrics.messages.labels(self.name)
        self._values = metrics.values.labels(self.name)
        self._rate_limited = metrics.rate_limited.labels(self.name)
        self._clock = clock
        self._v5 = (getattr(source, "mqtt_protocol", None) or config.protocol) == 5
        """The source's own protocol version (Sparkplug: 3.1.1), else the configured one."""
        self._intake: Intake
        """Set by `run`, before the first message."""
        self._connection = 0
        """Counts connections, so that an acknowledgement never crosses to a later one."""
        self._held = Decoded()
        """What the QoS 0 messages of the current read became, put into the intake together."""
        self._held_messages = 0

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None:
        """Connect (and reconnect) until `disconnect` is set; the intake is closed before that."""
        self._intake = intake
        client = self._client()
        client.loop_start()
        try:
            await disconnect.wait()
        finally:
            await asyncio.to_thread(self._close, client)

    def _client(self) -> paho.Client:
        config = self._config
        v5 = self._v5
        client = _Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"{config.client_id}-{self.name}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self._broker.username:
            client.username_pw_set(self._broker.username, self._broker.password)
        if self._broker.tls or config.tls:
            tls = config.tls
            client.tls_set(
                ca_certs=str(tls.ca_file) if tls and tls.ca_file else None,
                certfile=str(tls.cert_file) if tls and tls.cert_file else None,
                keyfile=str(tls.key_file) if tls and tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        will = self._source.will()
        if will is not None:
            client.will_set(will.topic, will.payload, will.qos, will.retain)
        client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_drained = self._put_held
        client.on_subscribe = self._on_subscribe
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = config.session_expiry_s
            properties.ReceiveMaximum = config.receive_maximum
        client.connect_async(
            self._broker.host,
            self._broker.port,
            keepalive=config.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        return client

    def _close(self, client: paho.Client) -> None:
        """Disconnect; a source with a Will has it published (a Sparkplug host's STATE): by the
        broker on MQTT v5, by us before a 3.1.1 DISCONNECT (which discards the Will)."""
        reason = None
        will = self._source.will()
        if will is not None and self._v5:
            reason = ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
        elif will is not None and client.is_connected():
            sent = client.publish(will.topic, will.payload, will.qos, will.retain)
            with contextlib.suppress(RuntimeError, ValueError):
                sent.wait_for_publish(timeout=5)
        client.disconnect(reasoncode=reason)
        client.loop_stop()
        self._metrics.set_connected(self.name, False)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log(
                logging.ERROR,
                "mqtt.refused",
                source=self.name,
                broker=self._broker.url,
                reason=reason_code,
            )
            return
        self._connection += 1
        for message in self._source.on_connect():
            self._publish(client, message)
        filters = [self._filter(f) for f in self._source.subscriptions()]
        if self._v5:
            client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        else:
            client.subscribe([(f, 1) for f in filters])
        log(
            logging.INFO,
            "mqtt.connected",
            source=self.name,
            broker=self._broker.url,
            session_present=flags.session_present,
            subscriptions=",".join(filters),
        )

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        """Connected for good once the broker has accepted the subscriptions."""
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log(logging.ERROR, "mqtt.subscription_refused", source=self.name, reasons=refused)
        else:
            self._metrics.set_connected(self.name, True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._metrics.set_connected(self.name, False)
        log(
            logging.WARNING,
            "mqtt.disconnected",
            source=self.name,
            broker=self._broker.url,
            reason=reason_code,
        )

    def _filter(self, topic_filter: str) -> str:
        group = self._config.shared_group
        return f"$share/{group}/{topic_filter}" if group else topic_filter

    def _on_message(self, client: paho.Client, userdata, message: paho.MQTTMessage) -> None:
        try:
            self._receive(client, message)
        except Exception:  # never let one message stop the network thread
            logging.getLogger("oee.realtime").exception("event=mqtt.message_failed")

    def _receive(self, client: paho.Client, message: paho.MQTTMessage) -> None:
        """Decode a message; one without acknowledgement (QoS 0) waits for the others of the
        same read (a few hundred, at most `_HELD_MESSAGES`), to enter the intake in one step."""
        topic = message.topic
        payload = bytes(message.payload)  # the same object: paho's payload is bytes
        if len(payload) > self._max_payload:
            reason = f"payload of {len(payload)} bytes is over the limit of {self._max_payload}"
            decoded = self._dead_letter(topic, payload, reason, keep=self._max_payload)
        elif not self._buckets.allow(topic):
            self._rate_limited.inc()
            decoded = self._dead_letter(topic, payload, "rate limit of the topic prefix exceeded")
        else:
            decoded, answers = self._decode(topic, payload)
            for answer in answers:
                self._publish(client, answer)
        if message.qos == 0:
            self._held.extend(decoded)
            self._held_messages += 1
            if self._held_messages >= _HELD_MESSAGES:
                self._put_held()
        else:
            self._put_held()  # first: the intake keeps the order of arrival
            self._put(decoded, 1, self._ack(client, message))

    def _put_held(self) -> None:
        if self._held_messages:
            held, count = self._held, self._held_messages
            self._held, self._held_messages = Decoded(), 0
            self._put(held, count, None)

    def _put(self, decoded: Decoded, messages: int, ack: Ack | None) -> None:
        self._messages.inc(messages)
        self._values.inc(len(decoded.telemetry) + len(decoded.states) + len(decoded.counts))
        self._intake.put(self.name, decoded, ack)

    def _decode(self, topic: str, payload: bytes) -> tuple[Decoded, list[Outgoing]]:
        try:
            decoded, answers = self._source.decode(topic, payload, self._clock())
            return decoded, list(answers)
        except Exception as exc:  # a decoder bug must not cost the message
            return self._dead_letter(topic, payload, f"decoder failed: {exc!r}"), []

    def _dead_letter(
        self, topic: str, payload: bytes, reason: str, keep: int | None = None
    ) -> Decoded:
        """The message kept whole (an oversized one: its first `keep` bytes)."""
        context = {"topic": topic, "size": str(len(payload))}
        letter = DeadLetter(self.name, "realtime", reason, payload[:keep], context)
        return Decoded(dead_letters=[letter])

    def _ack(self, client: paho.Client, message: paho.MQTTMessage) -> Ack | None:
        if message.qos == 0:
            return None
        connection, mid, qos = self._connection, message.mid, message.qos

        def ack() -> None:
            if connection == self._connection:
                client.ack(mid, qos)

        return ack

    def _publish(self, client: paho.Client, message: Outgoing) -> None:
        client.publish(message.topic, message.payload, message.qos, message.retain)
