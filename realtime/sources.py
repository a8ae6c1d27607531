"""The factories of the known sources: each validates its section with the source's own model.

A factory is `(options, settings) -> source`, where `options` is the source's section of the
realtime configuration without `enabled` and `factory`. A plant may name its own factory
(`factory: package.module:callable`) for a protocol of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.settings import Settings


def sparkplug(options: Mapping[str, Any], settings: Settings) -> Any:
    from realtime.sparkplug import SparkplugConfig, SparkplugSource

    config = SparkplugConfig.model_validate(options)
    return SparkplugSource(load_plant_model(settings.plant_model), config)


def mqtt_json(options: Mapping[str, Any], settings: Settings) -> Any:
    from realtime.mqtt_json import MqttJsonConfig, MqttJsonSource

    config = MqttJsonConfig.model_validate(options)
    return MqttJsonSource(load_plant_model(settings.plant_model), config)


def opcua(options: Mapping[str, Any], settings: Settings) -> Any:
    from realtime.opcua import OpcUaConfig, OpcUaSource

    config = OpcUaConfig.model_validate(options)
    password = os.environ.get("OEE_OPCUA_PASSWORD")
    return OpcUaSource(load_plant_model(settings.plant_model), config, password)


def modbus(options: Mapping[str, Any], settings: Settings) -> Any:
    from realtime.modbus import ModbusConfig, ModbusSource

    config = ModbusConfig.model_validate(options)
    return ModbusSource(load_plant_model(settings.plant_model), config)


def http(options: Mapping[str, Any], settings: Settings) -> Any:
    from realtime.http_poll import HttpPollConfig, HttpPollSource

    config = HttpPollConfig.model_validate(options)
    return HttpPollSource(load_plant_model(settings.plant_model), config)
