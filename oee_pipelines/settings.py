"""Configuration from `OEE_*` environment variables, read once per process.

Secrets (database passwords) only ever come from the environment. A setting left unset falls
back to an embedded default so that the project runs on a machine with nothing but Python.
Every value is checked here, so a bad one is reported by name before anything starts.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from oee_pipelines.errors import ConfigError
from oee_pipelines.plant_model import PlantModel, load_plant_model
from oee_pipelines.warehouse.urls import postgres_url

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_oee"

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    """Warehouse database (libpq spelling); None starts the embedded PostgreSQL under `home`."""
    mqtt_url: str | None
    """MQTT broker; None starts the embedded broker."""
    home: Path
    """Folder for embedded server data and the Dagster instance."""
    plant_model: Path
    simulator_seed: int
    demo_days: int
    """Production days of simulated history that `oee demo` writes, 1 to 90."""
    clock_skew_s: float
    """How far after now a record may be timestamped before the writer refuses it."""
    earliest_timestamp: dt.datetime
    """Records timestamped before this (a PLC clock reset to 1970) are refused."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of `env` (default: os.environ); ConfigError names a bad variable."""
        env = os.environ if env is None else env
        database_url = env.get("OEE_DATABASE_URL") or None
        return cls(
            database_url=postgres_url(database_url) if database_url else None,
            mqtt_url=env.get("OEE_MQTT_URL") or None,
            home=Path(env.get("OEE_HOME") or PROJECT_DIR / ".oee").resolve(),
            plant_model=Path(env.get("OEE_PLANT_MODEL") or PROJECT_DIR / "config" / "plant.yaml"),
            simulator_seed=_read(env, "OEE_SIMULATOR_SEED", 7, int, "an integer"),
            demo_days=_read(env, "OEE_DEMO_DAYS", 3, _days, "an integer from 1 to 90"),
            clock_skew_s=_read(env, "OEE_CLOCK_SKEW_S", 300.0, _seconds, "seconds (0 or more)"),
            earliest_timestamp=_read(
                env,
                "OEE_EARLIEST_TIMESTAMP",
                dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                _instant,
                "an ISO 8601 instant with offset, e.g. 2000-01-01T00:00:00+00:00",
            ),
        )


def check_configuration(settings: Settings) -> PlantModel:
    """Load and validate everything a run reads, so a bad file is reported before it starts.

    The environment was checked by `Settings.from_env`; this reads the plant model file and
    raises PlantModelError naming the file and the field.
    """
    return load_plant_model(settings.plant_model)


def _read(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T], want: str) -> T:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not valid: expected {want}") from None


def _days(text: str) -> int:
    days = int(text)
    if not 1 <= days <= 90:
        raise ValueError(days)
    return days


def _seconds(text: str) -> float:
    seconds = float(text)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(seconds)
    return seconds


def _instant(text: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(text)
    return instant
