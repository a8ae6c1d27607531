"""The realtime configuration file, and logs that never show a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from oee_pipelines.errors import ConfigError
from oee_pipelines.settings import Settings
from realtime.config import RealtimeConfig, load_config
from realtime.logs import masked
from realtime.service import DEFAULT_CONFIG, build_sources


def test_the_default_configuration_loads() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert config.mqtt.protocol == 5
    assert config.sources["sparkplug"].enabled
    assert not config.sources["mqtt_json"].enabled


def test_a_password_in_the_file_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "realtime.yaml"
    path.write_text("mqtt:\n  url: mqtt://user:secret@broker:1883\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value) and "mqtt.url" in str(raised.value)
    assert "secret" not in str(raised.value)


def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "realtime.yaml"
    path.write_text("batch:\n  max_vaules: 10\n")
    with pytest.raises(ConfigError, match="batch.max_vaules"):
        load_config(path)


@pytest.mark.parametrize(
    "section", ["sparkplug: {}\n", "plc:\n    factory: realtime.sources:sparkplug\n"]
)
def test_a_sparkplug_source_with_a_shared_subscription_is_refused(
    tmp_path: Path, section: str
) -> None:
    path = tmp_path / "realtime.yaml"
    path.write_text(f"mqtt:\n  shared_group: oee\nsources:\n  {section}")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    reason = str(raised.value)
    assert str(path) in reason and "cannot share its subscription" in reason
    assert "$share/oee/" in reason and "seq order" in reason
    # shared subscriptions stay fine for the other sources, and a disabled Sparkplug source
    path.write_text(
        "mqtt:\n  shared_group: oee\nsources:\n  mqtt_json: {}\n  sparkplug:\n    enabled: false\n"
    )
    assert load_config(path).mqtt.shared_group == "oee"


def test_a_source_is_built_by_its_factory_with_its_own_options() -> None:
    config = RealtimeConfig.model_validate(
        {
            "sources": {
                "test": {"factory": "tests.realtime.support:json_test_source", "prefix": "p"},
                "off": {"enabled": False},
            }
        }
    )
    (source,) = build_sources(config, Settings.from_env())
    assert source.prefix == "p"


def test_an_unknown_source_is_a_config_error() -> None:
    config = RealtimeConfig.model_validate({"sources": {"opcua_typo": {}}})
    with pytest.raises(ConfigError, match="sources.opcua_typo"):
        build_sources(config, Settings.from_env())


def test_urls_are_logged_without_their_password() -> None:
    assert masked("mqtts://plant:s3cret@broker:8883") == "mqtts://plant:***@broker:8883"
    assert masked("postgresql://oee@db/oee") == "postgresql://oee@db/oee"
