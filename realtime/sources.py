"""The factories of the known sources: each validates its section with the source's own model.

A factory is `(options, settings) -> source`, where `options` is the source's section of the
realtime configuration without `enabled` and `factory`. A plant may name its own factory
(`factory: package.module:callable`) for a protocol of its own.
"""

from __future__ import annotations

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
