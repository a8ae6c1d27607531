"""PostgreSQL connection URLs in the dialects of the tools that share one server.

psycopg, SQLAlchemy (Alembic, dagster-postgres) and dbt each want the same server spelled
differently; these helpers derive every spelling from the one `OEE_DATABASE_URL`. `display_url`
is the only spelling that may be printed: it never shows the password.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from oee_pipelines.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql", "postgres")


def _parse(url: str) -> URL:
    return make_url(url)


def postgres_url(url: str, variable: str = "OEE_DATABASE_URL") -> str:
    """The URL in libpq's spelling, or ConfigError when it is not a PostgreSQL URL.

    The message never repeats the URL, which may hold a password.
    """
    try:
        parsed = _parse(url)
    except ArgumentError:
        raise ConfigError(
            f"{variable} is not a URL; expected postgresql://user:password@host:5432/database"
        ) from None
    if parsed.get_backend_name() not in POSTGRES_SCHEMES:
        raise ConfigError(
            f"{variable} is a {parsed.get_backend_name()!r} URL, not a PostgreSQL one;"
            " expected postgresql://user:password@host:5432/database"
        )
    return libpq_url(url)


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg, dagster-postgres) reads it: no SQLAlchemy driver suffix."""
    return _parse(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str, driver: str = "psycopg") -> str:
    """The URL for SQLAlchemy with the given driver (dagster-postgres needs psycopg2)."""
    return _parse(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL for people to read: `***` stands for a password only where there is one."""
    parsed = _parse(url)
    return parsed.render_as_string(hide_password=bool(parsed.password))


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return libpq_url(_parse(url).set(database=database).render_as_string(hide_password=False))


def database_name(url: str) -> str:
    return _parse(url).database or "postgres"


def server_name(url: str) -> str:
    """Where the server is, for messages: `host:port`, or the Unix socket directory."""
    parsed = _parse(url)
    if parsed.host:
        return f"{parsed.host}:{parsed.port or 5432}"
    return str(parsed.query.get("host", "the local Unix socket"))


def connection_parts(url: str) -> dict[str, str]:
    """Host, port, user, password and database name, as libpq takes them one by one.

    A Unix-socket server (the embedded one) is given as `?host=/socket/dir`; libpq accepts that
    directory as the host name.
    """
    parsed = _parse(url)
    return {
        "host": parsed.host or str(parsed.query.get("host", "localhost")),
        "port": str(parsed.port or 5432),
        "user": parsed.username or "postgres",
        "password": parsed.password or "",
        "dbname": parsed.database or "postgres",
    }


def dbt_env(url: str) -> dict[str, str]:
    """Environment variables read by `dbt_oee/profiles.yml`."""
    return {f"OEE_DBT_{key.upper()}": value for key, value in connection_parts(url).items()}
