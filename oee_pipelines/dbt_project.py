"""The dbt project `dbt_oee`, the dbt executable, and the step that prepares the manifest.

The manifest is made by `oee` (demo, ui) and by the test script before the code location is
loaded, never at import: code servers and run workers import the definitions many times.

dbt keeps the parse in `partial_parse.msgpack` and throws it away whenever the connection in the
profile differs from the one the parse saw ("profile has changed"), re-parsing the whole project
before every build. So the parse and every build point the profile at the same warehouse, through
`dbt_run_env`, and the manifest names the real database. A pinned now goes to dbt the same way,
not as a var: a changed var, too, throws the whole parse away (the macro `oee_now` reads it only
when the models run, so a new now re-parses nothing).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from oee_pipelines.settings import DBT_PROJECT_DIR
from oee_pipelines.warehouse.urls import dbt_env

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# Prefer the dbt installed beside this interpreter: a virtualenv works without being activated.
_DBT_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_DBT_BESIDE_PYTHON) if _DBT_BESIDE_PYTHON.exists() else "dbt"

# Flags of every `dbt build`. Nothing reads a build's manifest.json and run_results.json
# (dagster-dbt takes its events from dbt's log lines, and the manifest from the parse): writing
# them, about a megabyte, cost each hourly build half a second of CPU.
BUILD_FLAGS = ("--no-write-json",)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
    )


@contextmanager
def dbt_run_env(database_url: str | None, now: str | None = None) -> Iterator[None]:
    """Point dbt's profile (`dbt_oee/profiles.yml`) at this warehouse, and pin the rollups' now
    (macro `oee_now`; unpinned, the database's now()), while a dbt command starts.

    The variables go to the dbt process through the environment, never its command line. With no
    URL the profile keeps its defaults.
    """
    variables = {**(dbt_env(database_url) if database_url else {}), "OEE_DBT_NOW": now or ""}
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


def prepare_dbt_manifest(database_url: str | None = None) -> Path:
    """Parse the dbt project into its manifest (`dbt parse`: no database connection needed).

    The profile points at `database_url`, else at `OEE_DATABASE_URL`: the warehouse that the
    builds of this process will use, so that they reuse this parse instead of repeating it.
    """
    with dbt_run_env(database_url or os.environ.get("OEE_DATABASE_URL")):
        dbt_resource().cli(["parse", "--quiet"], target_path=Path("target")).wait()
    return dbt_project.manifest_path
