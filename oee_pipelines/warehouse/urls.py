"""PostgreSQL connection URLs in the dialects of the tools that share one server.

psycopg, SQLAlchemy (Alembic, dagster-postgres) and dbt each want the same server spelled
differently; these helpers derive every spelling from the one `OEE_DATABASE_URL`.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def _parse(url: str) -> URL:
    return make_url(url)


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg, dagster-postgres) reads it: no SQLAlchemy driver suffix."""
    return _parse(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str, driver: str = "psycopg") -> str:
    """The URL for SQLAlchemy with the given driver (dagster-postgres needs psycopg2)."""
    return _parse(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return libpq_url(_parse(url).set(database=database).render_as_string(hide_password=False))


def database_name(url: str) -> str:
    return _parse(url).database or "postgres"


def dbt_env(url: str) -> dict[str, str]:
    """Environment variables read by `dbt_oee/profiles.yml`.

    A Unix-socket server (the embedded one) is given as `?host=/socket/dir`; libpq, and so
    dbt-postgres, accepts that directory as the host name.
    """
    parsed = _parse(url)
    return {
        "OEE_DBT_HOST": parsed.host or str(parsed.query.get("host", "localhost")),
        "OEE_DBT_PORT": str(parsed.port or 5432),
        "OEE_DBT_USER": parsed.username or "postgres",
        "OEE_DBT_PASSWORD": parsed.password or "",
        "OEE_DBT_DBNAME": parsed.database or "postgres",
    }
