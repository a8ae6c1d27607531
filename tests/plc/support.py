"""What the PLC source tests share: the service running one source in a thread, a clock that
steps through planned instants, and the rows the warehouse holds."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from realtime.config import RealtimeConfig
from realtime.service import Connector, Service
from tests.realtime.support import SHARED_BROKER, serving_in_thread, wait_until

_SOURCES: dict[str, Connector] = {}


def given_source(options: dict[str, Any], settings: Settings) -> Connector:
    """The factory the test configurations name: the source a test built, by its key."""
    return _SOURCES.pop(options["key"])


class SteppingClock:
    """Each call returns the next planned instant (then the last one again) and tells
    `on_step` first, so that a simulated server shows that instant before it is read."""

    def __init__(self, instants: Sequence[dt.datetime], on_step: Any = None) -> None:
        self.instants = list(instants)
        self.calls = 0
        self._on_step = on_step
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            instant = self.instants[min(self.calls, len(self.instants) - 1)]
            self.calls += 1
        if self._on_step is not None:
            self._on_step(instant)
        return instant

    @property
    def done(self) -> bool:
        return self.calls > len(self.instants)


@contextmanager
def running(source: Connector, database_url: str, spool_dir: Path) -> Iterator[Service]:
    """The realtime service with `source` alone, in a thread of its own, until the block ends."""
    key = f"{source.name}-{id(source)}"
    _SOURCES[key] = source
    config = RealtimeConfig.model_validate(
        {
            "batch": {"max_values": 500, "max_latency_s": 0.05},
            "spool": {"directory": str(spool_dir), "retry_min_s": 0.1, "retry_max_s": 0.5},
            "metrics": {"port": None},
            "sources": {source.name: {"factory": "tests.plc.support:given_source", "key": key}},
        }
    )
    service = Service(config, Settings.from_env(), database_url, SHARED_BROKER)
    with serving_in_thread(service):
        yield service


def with_plant(database_url: str, plant: PlantModel) -> None:
    with psycopg.connect(database_url) as conn:
        upsert_hierarchy(conn, plant)


def rows(database_url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


__all__ = ["SteppingClock", "given_source", "rows", "running", "wait_until", "with_plant"]
