"""The warehouse as a Dagster resource: a psycopg 3 pool per database URL, opened on first use."""

from __future__ import annotations

import datetime as dt
from functools import cache

from dagster import ConfigurableResource
from psycopg_pool import ConnectionPool
from pydantic import Field

from oee_pipelines.warehouse import Plausibility, WarehouseWriter, open_pool


@cache
def _pool(database_url: str) -> ConnectionPool:
    return open_pool(database_url)


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL/TimescaleDB warehouse."""

    database_url: str = Field(description="PostgreSQL URL of the warehouse (OEE_DATABASE_URL).")
    clock_skew_s: float = Field(
        default=300, ge=0, description="How far ahead of now a timestamp may be (OEE_CLOCK_SKEW_S)."
    )
    earliest_timestamp: str = Field(
        default="2000-01-01T00:00:00+00:00",
        description="The earliest plausible timestamp (OEE_EARLIEST_TIMESTAMP).",
    )

    @property
    def pool(self) -> ConnectionPool:
        return _pool(self.database_url)

    def writer(self) -> WarehouseWriter:
        """The shared writer, refusing timestamps outside the configured plausible window."""
        plausibility = Plausibility(
            earliest=dt.datetime.fromisoformat(self.earliest_timestamp),
            clock_skew=dt.timedelta(seconds=self.clock_skew_s),
        )
        return WarehouseWriter(self.pool, plausibility)
