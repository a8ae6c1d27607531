"""Versioned warehouse migrations (Alembic on SQLAlchemy Core, the DDL in SQL files).

`upgrade` is idempotent: Alembic records the applied revision, so a second run does nothing.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config
from alembic.script import ScriptDirectory

from oee_pipelines.warehouse.urls import sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration: what `upgrade` brings a warehouse to."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the warehouse schema up to `revision`."""
    config = _config()
    engine = sa.create_engine(sqlalchemy_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def run_sql(filename: str, **params: str) -> None:
    """Execute a SQL file of the migrations folder inside the running migration.

    Keyword arguments fill `${name}` placeholders; files without them are run verbatim (so that
    dollar-quoted function bodies stay untouched).
    """
    sql = (MIGRATIONS_DIR / "versions" / filename).read_text(encoding="utf-8")
    if params:
        sql = Template(sql).substitute(params)
    # Straight to psycopg without parameters: `%` in PL/pgSQL format() strings stays literal.
    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None, "a running migration has a connection"
    dbapi.cursor().execute(sql)


def timescaledb_enabled() -> bool:
    """Whether TimescaleDB is installed in this database, installing it when the server offers it.

    `pg_available_extensions` lists it when the package is on the server; CREATE EXTENSION still
    fails unless it is preloaded, which a non-superuser cannot check, so the attempt decides.
    """
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")):
        return True
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    if not bind.scalar(sa.text(available)):
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except sa.exc.DBAPIError:
        return False
    return True
