"""Shared fixtures: a real PostgreSQL server, and one fresh, migrated database per test.

The server is `OEE_TEST_DATABASE_URL` when set (CI points it at the machine's PostgreSQL), and
otherwise the embedded server the product itself would start. Each test gets its own database,
cloned from a template that was migrated once, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from oee_pipelines.dbt_project import prepare_dbt_manifest
from oee_pipelines.plant_model import PlantModel, load_plant_model
from oee_pipelines.services import embedded_postgres
from oee_pipelines.settings import PROJECT_DIR
from oee_pipelines.warehouse import open_pool, upgrade
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from oee_pipelines.warehouse.urls import database_name, libpq_url, with_database
from tests.support.database import close_to_connections, create_database, drop_database


def pytest_configure(config: pytest.Config) -> None:
    """Prepare the dbt manifest once, before collection: test modules import the dbt assets.

    With pytest-xdist the controller prepares it before the workers start.
    """
    if not hasattr(config, "workerinput"):
        prepare_dbt_manifest()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of the test server's maintenance database."""
    configured = os.environ.get("OEE_TEST_DATABASE_URL")
    if configured:
        yield with_database(libpq_url(configured), "postgres")
        return
    with embedded_postgres(tmp_path_factory.mktemp("embedded") / "postgres") as url:
        yield url


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    try:
        upgrade(url)
        close_to_connections(server_url, database_name(url))
        yield url
    finally:
        drop_database(server_url, database_name(url))


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A new database with nothing in it (for migration tests)."""
    url = create_database(server_url)
    yield url
    drop_database(server_url, database_name(url))


@pytest.fixture
def database_url(server_url: str, template_url: str) -> Iterator[str]:
    """A new, fully migrated warehouse database of this test's own."""
    url = create_database(server_url, template=database_name(template_url))
    yield url
    drop_database(server_url, database_name(url))


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    """A pool onto this test's warehouse, whose plant is one machine M1 on line L1 of site S1."""
    with open_pool(database_url) as pool:
        with pool.connection() as conn:
            conn.execute("INSERT INTO curated.site VALUES ('S1', 'Site', 'UTC')")
            conn.execute("INSERT INTO curated.line VALUES ('L1', 'S1', 'Line')")
            conn.execute("INSERT INTO curated.machine VALUES ('M1', 'L1', 'S1', 'Machine', 2.0)")
        yield pool


@pytest.fixture
def warehouse(database_url: str, plant: PlantModel) -> Iterator[ConnectionPool]:
    """A pool onto this test's warehouse holding the whole plant model."""
    with open_pool(database_url) as pool:
        with pool.connection() as conn:
            upsert_hierarchy(conn, plant)
        yield pool


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The manifest that pytest_configure prepared."""
    from oee_pipelines.dbt_project import dbt_project

    return dbt_project.manifest_path


@pytest.fixture(scope="session")
def plant_model_path() -> Path:
    return PROJECT_DIR / "config" / "plant.yaml"


@pytest.fixture(scope="session")
def plant(plant_model_path: Path) -> PlantModel:
    return load_plant_model(plant_model_path)
