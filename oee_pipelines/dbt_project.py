"""The dbt project `dbt_oee`, the dbt executable, and the step that prepares the manifest.

The manifest is made by `oee` (demo, ui) and by the test script before the code location is
loaded, never at import: code servers and run workers import the definitions many times.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from oee_pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# Prefer the dbt installed beside this interpreter: a virtualenv works without being activated.
_DBT_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_DBT_BESIDE_PYTHON) if _DBT_BESIDE_PYTHON.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
    )


def prepare_dbt_manifest() -> Path:
    """Parse the dbt project into its manifest (`dbt parse`: no database connection needed)."""
    dbt_resource().cli(["parse", "--quiet"], target_path=Path("target")).wait()
    return dbt_project.manifest_path
