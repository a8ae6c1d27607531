"""Test databases on a real PostgreSQL server: created per test, cloned from a migrated template.

TimescaleDB's background scheduler connects to every database that has the extension, so a
template is closed to connections (and its stray sessions ended) before it is copied.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from oee_pipelines.warehouse.urls import with_database


def execute(server_url: str, statement: sql.Composable) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


def create_database(server_url: str, template: str | None = None) -> str:
    """A new database on the server (a copy of `template` when given); returns its URL."""
    name = f"oee_test_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    execute(server_url, statement)
    return with_database(server_url, name)


def close_to_connections(server_url: str, name: str) -> None:
    """Refuse new connections to a template and end the ones it has (TimescaleDB's scheduler)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        closed = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false")
        conn.execute(closed.format(sql.Identifier(name)))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def drop_database(server_url: str, name: str) -> None:
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    execute(server_url, statement.format(sql.Identifier(name)))
