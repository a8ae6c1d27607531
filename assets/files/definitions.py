"""Operators' files as a source: the drop folder, its sensor and the import asset."""

import os

from dagster import Definitions

from assets.files.assets import file_import
from oee_pipelines.imports import max_bytes_from_env
from oee_pipelines.settings import Settings
from resources.files import FileDropResource
from sensors.files import file_drop_sensor


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[file_import],
        sensors=[file_drop_sensor],
        resources={
            "files": FileDropResource(
                folder=os.environ.get("OEE_IMPORT_DIR") or str(settings.home / "imports"),
                max_bytes=max_bytes_from_env(),
            )
        },
    )
