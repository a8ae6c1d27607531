"""The warehouse as a Dagster resource: a psycopg 3 pool per database URL, opened on first use."""

from __future__ import annotations

from functools import cache

from dagster import ConfigurableResource
from psycopg_pool import ConnectionPool
from pydantic import Field

from oee_pipelines.warehouse import WarehouseWriter, open_pool


@cache
def _pool(database_url: str) -> ConnectionPool:
    return open_pool(database_url)


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL/TimescaleDB warehouse."""

    database_url: str = Field(description="PostgreSQL URL of the warehouse (OEE_DATABASE_URL).")

    @property
    def pool(self) -> ConnectionPool:
        return _pool(self.database_url)

    def writer(self) -> WarehouseWriter:
        return WarehouseWriter(self.pool)
