"""The realtime service's configuration file (`config/realtime.yaml`) as a pydantic model.

The file holds no secrets: the broker and warehouse URLs, with their passwords, come from the
environment (`OEE_MQTT_URL`, `OEE_DATABASE_URL`). Each source has a section of its own, named by
the source and validated by that source's own model when the service builds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from oee_pipelines.errors import ConfigError
from realtime.logs import url_password

SOURCE_FACTORIES = {
    "sparkplug": "realtime.sources:sparkplug",
    "mqtt_json": "realtime.sources:mqtt_json",
    "opcua": "realtime.sources:opcua",
    "modbus": "realtime.sources:modbus",
    "http": "realtime.sources:http",
}
"""The factory of each known source, `module:callable(options, settings) -> source`."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Model):
    """Server verification and client certificates (mTLS); `mqtts://` alone uses system CAs."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class MqttConfig(_Model):
    url: str | None = None
    """`mqtt[s]://[user[:password]@]host[:port]`; unset: OEE_MQTT_URL. Passwords only from env."""
    client_id: str = "oee-realtime"
    """Each source connects as `<client_id>-<source>`; unique per replica unless shared."""
    protocol: Literal[5, 311] = 5
    shared_group: str | None = None
    """Subscribe as `$share/<group>/<filter>` (MQTT v5) so that replicas share the messages."""
    session_expiry_s: int = Field(86_400, ge=0)
    """How long the broker keeps the session (and queues QoS 1 messages) while we are away."""
    receive_maximum: int = Field(10_000, ge=1, le=65_535)
    """QoS 1 messages the broker may send before our acknowledgements (v5 Receive Maximum)."""
    keepalive_s: int = Field(30, ge=5)
    reconnect_min_s: int = Field(1, ge=1)
    reconnect_max_s: int = Field(30, ge=1)
    tls: TlsConfig | None = None

    @field_validator("url")
    @classmethod
    def _no_password(cls, url: str | None) -> str | None:
        if url is not None and url_password(url):
            raise ValueError("put the broker password in OEE_MQTT_URL, not in the config file")
        return url


class BatchConfig(_Model):
    max_values: int = Field(20_000, ge=1)
    """Records in one write; a batch is sealed when full or when its oldest value is this old:"""
    max_latency_s: float = Field(0.25, gt=0)
    max_pending: int = Field(4, ge=1)
    """Sealed batches waiting for the writer; beyond that, intake stops reading (backpressure)."""


class SpoolConfig(_Model):
    directory: Path | None = None
    """Where batches wait while the warehouse is unreachable; unset: OEE_HOME/realtime-spool."""
    max_bytes: int = Field(1 << 30, ge=1)
    """When the spool is this full, intake stops acknowledging and reading (and says so)."""
    retry_min_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(30.0, gt=0)


class RateLimitConfig(_Model):
    messages_per_s: float = Field(5_000.0, gt=0)
    burst: int = Field(20_000, ge=1)
    prefix_levels: int = Field(4, ge=1)
    """Topics that share their first N levels share one bucket: one publisher, one machine."""


class LimitsConfig(_Model):
    max_payload_bytes: int = Field(256 * 1024, ge=1)
    rate: RateLimitConfig = RateLimitConfig()


class MetricsConfig(_Model):
    host: str = "127.0.0.1"
    port: int | None = Field(9108, ge=0, le=65_535)
    """Prometheus `/metrics` and `/health`; None: no endpoint; 0: a free port."""


class SourceConfig(BaseModel):
    """One source: `enabled`, an optional `factory`, and the source's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: bool = True
    factory: str | None = None
    """`module:callable`; unset: the known factory of the source's name."""

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RealtimeConfig(_Model):
    mqtt: MqttConfig = MqttConfig()
    batch: BatchConfig = BatchConfig()
    spool: SpoolConfig = SpoolConfig()
    limits: LimitsConfig = LimitsConfig()
    metrics: MetricsConfig = MetricsConfig()
    sources: dict[str, SourceConfig] = {}

    @model_validator(mode="after")
    def _sparkplug_unshared(self) -> RealtimeConfig:
        """A Sparkplug host sees every message of its edge nodes, in order: it checks each
        node's seq and resolves DATA by the aliases of the BIRTH before it. A shared
        subscription deals a node's messages out among replicas, so each would see gaps and
        DATA of births it never saw."""
        group = self.mqtt.shared_group
        sparkplug = SOURCE_FACTORIES["sparkplug"]
        for name, section in self.sources.items():
            if (
                group
                and section.enabled
                and (section.factory or SOURCE_FACTORIES.get(name)) == sparkplug
            ):
                raise ValueError(
                    f"sources.{name} is a Sparkplug B source, which cannot share its subscription"
                    f" (mqtt.shared_group {group!r}, $share/{group}/...): it needs each edge"
                    " node's messages in seq order; run one replica per set of group_ids, or"
                    " put the Sparkplug source in a configuration without shared_group"
                )
        return self


def load_config(path: Path) -> RealtimeConfig:
    """The file's configuration; a ConfigError names the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return RealtimeConfig.model_validate(raw)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the realtime configuration: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(map(str, error["loc"])), error["msg"])))
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
