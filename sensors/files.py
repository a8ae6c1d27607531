"""The file-drop sensor: one import run per dropped file, once it is complete.

A file is offered when its size and mtime are the same on two evaluations in a row (a program
still writing it changes them). Its run is keyed by its content hash, a dynamic partition of
`import_files`, so the same file dropped again is recognised as that partition. The cursor
records what was seen (names, sizes and mtimes), never the wall clock, and survives restarts:
a file already requested is not requested again while it lies in the inbox, and a file that
vanishes or cannot be read is skipped this time without costing the others.
"""

from __future__ import annotations

import hashlib
import json

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.partitions import IMPORT_FILES
from oee_pipelines.imports import Refused
from resources.files import Drop, FileDropResource

IMPORT_JOB = "import_files_job"
IMPORT_ASSET = "file_import"
"""The op of the import asset, whose config names the file."""


@sensor(
    job_name=IMPORT_JOB,
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts an import run for each complete file in the drop folder's inbox.",
)
def file_drop_sensor(context: SensorEvaluationContext, files: FileDropResource) -> SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    seen: dict[str, list[int]] = cursor.get("seen", {})
    requested: dict[str, list[int]] = cursor.get("requested", {})
    next_seen: dict[str, list[int]] = {}
    next_requested: dict[str, list[int]] = {}
    requests: list[RunRequest] = []
    for drop in files.drops():
        state = [drop.size, drop.mtime_ns]
        if requested.get(drop.name) == state:
            next_requested[drop.name] = state  # picked up; its run moves it away
        elif seen.get(drop.name) != state:
            next_seen[drop.name] = state  # new or still growing: look again next time
        else:
            try:
                digest = _digest(files, drop)
            except (OSError, Refused) as error:
                context.log.warning(f"{drop.name}: cannot read it now ({error}); next time")
                continue
            requests.append(_request(drop, digest))
            next_requested[drop.name] = state
    new_cursor = json.dumps({"seen": next_seen, "requested": next_requested}, sort_keys=True)
    partitions = sorted({request.partition_key for request in requests if request.partition_key})
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[IMPORT_FILES.build_add_request(partitions)]
        if partitions
        else [],
        cursor=new_cursor,
        skip_reason=None if requests else SkipReason("no complete new file in the inbox"),
    )


def _digest(files: FileDropResource, drop: Drop) -> str:
    digest = hashlib.sha256()
    with files.path(drop.name).open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _request(drop: Drop, digest: str) -> RunRequest:
    config: dict[str, str] = {"path": drop.name}
    if drop.template:
        config["template"] = drop.template
    return RunRequest(
        run_key=f"{digest}:{drop.name}:{drop.mtime_ns}",
        partition_key=digest,
        run_config={"ops": {IMPORT_ASSET: {"config": config}}},
        tags={"oee/file": drop.name},
    )
