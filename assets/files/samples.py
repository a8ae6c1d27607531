"""The sample files of `oee demo`: dropped into the inbox and imported like any drop.

The demo copies config/samples/ into the inbox, asks the file-drop sensor what it would run
(twice, as a complete file needs two looks) and runs those requests in-process, so the demo
goes through the same sensor, partitions, import and archive as a real drop.
"""

from __future__ import annotations

import shutil

from dagster import (
    DagsterInstance,
    Definitions,
    RunRequest,
    SensorResult,
    build_sensor_context,
)

from assets.partitions import IMPORT_FILES
from oee_pipelines.settings import PROJECT_DIR
from resources.files import FileDropResource
from sensors.files import IMPORT_JOB, file_drop_sensor

SAMPLES = PROJECT_DIR / "config" / "samples"
_QUIET = {"console": {"config": {"log_level": "ERROR"}}}


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.iterdir())


def import_samples(definitions: Definitions, instance: DagsterInstance) -> list[str]:
    """Drop and import every sample file; returns the names of the runs that failed."""
    files = (definitions.resources or {})["files"]
    assert isinstance(files, FileDropResource)
    files.inbox.mkdir(parents=True, exist_ok=True)
    for sample in sorted(SAMPLES.iterdir()):
        shutil.copy2(sample, files.inbox / sample.name)
    cursor = None
    requests: list[RunRequest] = []
    for _ in range(2):
        result = file_drop_sensor(build_sensor_context(cursor=cursor, resources={"files": files}))
        assert isinstance(result, SensorResult)
        cursor, requests = result.cursor, requests + list(result.run_requests or [])
    job = definitions.resolve_job_def(IMPORT_JOB)
    failed = []
    for request in requests:
        assert request.partition_key is not None and IMPORT_FILES.name is not None
        instance.add_dynamic_partitions(IMPORT_FILES.name, [request.partition_key])
        run = job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config={**request.run_config, "loggers": _QUIET},
            tags=request.tags,
            raise_on_error=False,
        )
        if not run.success:
            failed.append(str(request.tags.get("oee/file")))
    return failed
