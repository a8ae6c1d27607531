"""Configuration from `OEE_*` environment variables, read once per process.

Secrets (database passwords) only ever come from the environment. A setting left unset falls
back to an embedded default so that the project runs on a machine with nothing but Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_oee"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    """Warehouse database; None starts the embedded PostgreSQL under `home`."""
    mqtt_url: str | None
    """MQTT broker; None starts the embedded broker."""
    home: Path
    """Folder for embedded server data and the Dagster instance."""
    plant_model: Path
    simulator_seed: int
    demo_days: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("OEE_DATABASE_URL") or None,
            mqtt_url=env.get("OEE_MQTT_URL") or None,
            home=Path(env.get("OEE_HOME", PROJECT_DIR / ".oee")).resolve(),
            plant_model=Path(env.get("OEE_PLANT_MODEL", PROJECT_DIR / "config" / "plant.yaml")),
            simulator_seed=int(env.get("OEE_SIMULATOR_SEED", "7")),
            demo_days=int(env.get("OEE_DEMO_DAYS", "3")),
        )
