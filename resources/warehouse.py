"""The warehouse as a Dagster resource: a psycopg 3 pool per database URL, opened on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from dagster import ConfigurableResource
from psycopg_pool import ConnectionPool
from pydantic import Field

from oee_pipelines.warehouse import WarehouseWriter, open_pool
from oee_pipelines.warehouse.urls import dbt_env


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

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point dbt's profile at this warehouse while a dbt command is started."""
        variables = dbt_env(self.database_url)
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
